"""Ablation ladders: a strategy expanded into rungs that each add one thing, run on the same
seeds, with the paired per-seed difference of every metric between a rung and the rung below it.

The rungs of a strategy ``LEARNER + options + COMPONENTS``:

1. the learner alone, its batch-local option (``registry.Entry.batch_option``) at its plain
   default — the strategy's other learner settings are kept, so each rung differs from its
   baseline in one thing only;
2. the learner with the batch-local option, if the strategy uses it (the labels trick:
   only the classes present in a batch compete);
3. each component alone on top of the options (only when there are two or more components;
   with one, it is the full strategy);
4. the full strategy, exactly as given; its baseline is the rung listed just below it;
5. for learners with features of their own (``Entry.untrained_control``: every learner with
   hidden layers) the untrained-feature control: the full strategy with
   ``[readout] features = "untrained"`` — the same layers at their initialisation, the same
   readout (the strategy's, trained or statistics), options and components — against the full
   strategy.

Every rung is an ordinary run (:mod:`continual.execution`), tagged with its place in the ladder;
the ladder summary (:func:`continual.report.ladder.summarise`) is computed from those runs. The
comparison is a paired t interval and p-value on the per-seed differences (rung −
baseline), with the Wilcoxon signed-rank p-value as a check that does not assume normality (from
6 pairs on; :func:`continual.statistics.paired`). The full strategy is also compared with
the learner alone and with the options alone. The comparisons of a ladder are one family per
metric: a contribution is *distinguishable from zero* when its Holm-adjusted p-value (Holm 1979)
is below 0.05, never without spread; the summary keeps the raw p-value, the adjusted one and the
Bonferroni simultaneous interval beside the 95 % interval of each comparison.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from continual import registry
from continual.cell import Cell
from continual.errors import ContinualError
from continual.report.ladder import SUMMARY_SUFFIX, summarise
from continual.specs import ScenarioSpec, Section, StrategySpec

Role = Literal["learner", "option", "component", "full", "control"]


@dataclass(frozen=True)
class Rung:
    """One rung: its name, what it adds (``role``), its strategy and the rung it is compared to."""

    name: str
    role: Role
    strategy: StrategySpec
    baseline: str | None


# -- expanding a strategy into rungs (pure) -----------------------------------------------------


def rungs(strategy: StrategySpec) -> list[Rung]:
    """The ladder of ``strategy`` (see the module docstring), bottom rung first."""
    learner = strategy.learner
    entry = registry.lookup("learner", str(learner.name))
    values = dict(learner.values)
    option = _enabled(entry.batch_option, values)
    plain = dict(values)
    if option is not None:
        plain[option[0]] = _default(entry, option[0])
    components = list(strategy.components)
    labels = _labels(components)
    tag = "[batch]" if option is not None else ""

    ladder = [Rung(str(learner.name), "learner", _spec(strategy, plain, ()), None)]
    if option is not None:
        ladder.append(
            Rung(f"{learner.name}{tag}", "option", _spec(strategy, values, ()), ladder[0].name)
        )
    options = ladder[-1].name
    if len(components) >= 2:
        for label, component in zip(labels, components):
            name = f"{learner.name}{tag}+{label}"
            ladder.append(Rung(name, "component", _spec(strategy, values, (component,)), options))
    if components:
        name = f"{learner.name}{tag}+" + "+".join(labels)
        ladder.append(Rung(name, "full", _spec(strategy, values, components), ladder[-1].name))
    else:
        ladder[-1] = replace(ladder[-1], role="full")

    if entry.untrained_control and not _is_control(strategy):
        marks = "[batch,untrained]" if option is not None else "[untrained]"
        name = f"{learner.name}{marks}" + "".join(f"+{label}" for label in labels)
        spec = replace(_spec(strategy, values, components), readout=_untrained(strategy))
        ladder.append(Rung(name, "control", spec, ladder[-1].name))
    if len(ladder) < 2:
        raise ContinualError(
            f"strategy {strategy.name!r} has nothing to ablate: no batch-local option, no "
            "component and no untrained control (try e.g. "
            f"{learner.name}+consolidation, or set {learner.name}'s batch-local option)"
        )
    return [
        replace(r, strategy=replace(r.strategy, name=f"{strategy.name}~{r.name}")) for r in ladder
    ]


def _enabled(option: tuple[str, Any] | None, values: dict[str, Any]) -> tuple[str, Any] | None:
    """The learner's batch-local option if the strategy switches it on, else None."""
    if option is not None and values.get(option[0]) == option[1]:
        return option
    return None


def _is_control(strategy: StrategySpec) -> bool:
    """Whether the strategy's features are already untrained: ``[readout] features =
    "untrained"``, or the Hebbian learner's own switch for the same, ``train_features = false``."""
    readout = strategy.readout
    untrained = readout is not None and readout.values.get("features") == "untrained"
    return untrained or strategy.learner.values.get("train_features") is False


def _untrained(strategy: StrategySpec) -> Section:
    """The strategy's ``[readout]`` (the learner's own when absent) with untrained features."""
    readout = strategy.readout
    if readout is None:
        origin, text = strategy.learner.origin, strategy.learner.text
        return Section({"name": "trained", "features": "untrained"}, origin, text, "readout")
    return replace(readout, values={**readout.values, "features": "untrained"})


def _default(entry: registry.Entry, field: str) -> Any:
    return registry.options(entry.load())[field].default


def _labels(components: Sequence[Section]) -> list[str]:
    """Component names (unique: a spec that repeats a component is refused when it loads)."""
    return [str(component.name) for component in components]


def _spec(
    strategy: StrategySpec, learner: dict[str, Any], components: Sequence[Section]
) -> StrategySpec:
    section = Section(learner, strategy.learner.origin, strategy.learner.text, "learner")
    if learner == strategy.learner.values:
        section = strategy.learner
    return replace(strategy, learner=section, components=tuple(components))


# -- running -----------------------------------------------------------------------------------


def plan(scenario: ScenarioSpec, strategy: StrategySpec, seeds: Iterable[int]) -> list[Cell]:
    """One cell per (rung, seed), rung-major, each tagged with its place in the ladder."""
    seeds = list(seeds)
    if not seeds:
        raise ContinualError("an ablation needs at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ContinualError(f"seeds {seeds}: each seed once (the comparison pairs them)")
    cells = []
    for index, rung in enumerate(rungs(strategy)):
        tags = {
            "ablation": strategy.name,
            "rung": rung.name,
            "rung_index": index,
            "baseline": rung.baseline,
            "role": rung.role,
        }
        cells += [Cell(scenario, rung.strategy, seed, tags) for seed in seeds]
    return cells


def summary_path(out: Path, scenario: str, strategy: str) -> Path:
    """Where a ladder's summary lands, next to its run files."""
    safe = lambda s: re.sub(r"[^A-Za-z0-9_.+\-]", "_", s)  # noqa: E731
    return out / f"{safe(scenario)}__{safe(strategy)}{SUMMARY_SUFFIX}"


def ablate(
    scenario: ScenarioSpec,
    strategy: StrategySpec,
    seeds: Iterable[int],
    out: Path,
    *,
    device: str = "cpu",
    data_dir: str | None = None,
    on_event: Callable[[Any], None] | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Run the ladder of ``strategy`` on ``scenario`` for every seed, write each run's result and
    the ladder summary (:func:`summarise`) into ``out``, and return the summary (``workers``:
    processes running rungs at once; ``on_event``: see :func:`continual.execution.drive`)."""
    from continual import execution
    from continual.results import write_json_atomic

    cells = plan(scenario, strategy, seeds)
    steps = execution.prepare(cells, data_dir)  # every rung is built before any trains
    job = execution.Job(out, device, data_dir)  # no checkpoints
    backend = execution.local_backend(workers)
    results = execution.drive(cells, backend, job, steps=steps, on_event=on_event).results
    summary = summarise(results)
    summary["path"] = str(summary_path(out, scenario.name, strategy.name))
    write_json_atomic(Path(summary["path"]), summary)
    return summary
