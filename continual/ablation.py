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

Every rung is an ordinary run (:mod:`continual.execution`), tagged with its place in the ladder.
The comparison is a paired t interval and p-value on the per-seed differences (rung −
baseline), with the Wilcoxon signed-rank p-value as a check that does not assume normality (from
6 pairs on; :func:`continual.report.statistics.paired`). The full strategy is also compared with
the learner alone and with the options alone. The comparisons of a ladder are one family per
metric: a contribution is *distinguishable from zero* when its Holm-adjusted p-value (Holm 1979)
is below 0.05, never without spread; the summary keeps the raw p-value, the adjusted one and the
Bonferroni simultaneous interval beside the 95 % interval of each comparison.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from continual import registry
from continual.cell import Cell
from continual.errors import ContinualError
from continual.report.statistics import CONFIDENCE, Estimate, Paired, estimate, holm_family, paired
from continual.specs import ScenarioSpec, Section, StrategySpec

Role = Literal["learner", "option", "component", "full", "control"]
SUMMARY_KIND = "ablation-ladder"
TEST = (
    "paired t: 95 % confidence interval and p-value of the per-seed difference (rung − "
    "baseline); Holm-adjusted p-value over the ladder's comparisons of each metric (a star needs "
    "it below 0.05 and a spread); Wilcoxon signed-rank p-value as a check from 6 pairs on"
)


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


SUMMARY_SUFFIX = "__ablation.json"  # a ladder summary, not a run: reports skip these files


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


# -- the paired comparison (pure) ---------------------------------------------------------------


def summarise(results: Iterable[dict[str, Any]], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """The ladder summary of tagged result documents: each rung's metrics over seeds, and for each
    rung against its baseline (and the full strategy against the learner alone and the options
    alone) the paired per-seed difference of every metric, with its p-value Holm-adjusted over
    the ladder's comparisons of that metric."""
    results = list(results)
    ladder = _group(results)
    if not ladder:
        raise ContinualError("no ablation results (result documents carry no ablation tags)")
    names = {tags["rung"]: tags for tags, _ in ladder}
    by_rung = {tags["rung"]: runs for tags, runs in ladder}
    first = ladder[0][0]
    metric_names = sorted({m for _, runs in ladder for r in runs for m in r["metrics"]})
    rung_rows = [_rung_summary(tags, runs, metric_names, confidence) for tags, runs in ladder]
    comparisons = [
        _comparison(names, by_rung, a, b, why, metric_names, confidence)
        for a, b, why in _pairs([tags for tags, _ in ladder])
    ]
    for m in metric_names:  # one Holm family per metric: the ladder's comparisons
        family = holm_family([c["difference"][m] for c in comparisons])
        for comparison, result in zip(comparisons, family):
            comparison["difference"][m] = _paired_dict(result)
    return {
        "kind": SUMMARY_KIND,
        "ablation": first["ablation"],
        "scenario": results[0]["scenario"]["name"],
        "stream": results[0].get("stream", {}).get("name"),
        "seeds": sorted({r["seed"] for r in results}),
        "confidence": confidence,
        "test": TEST,
        "metrics": metric_names,
        "rungs": rung_rows,
        "comparisons": comparisons,
    }


def _group(results: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(tags, results) per rung, in rung order; one ablation only."""
    rungs_seen: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    ablations = set()
    for result in results:
        tags = result.get("tags") or {}
        if "rung" not in tags:
            continue
        ablations.add(tags.get("ablation"))
        rungs_seen.setdefault(tags["rung"], (tags, []))[1].append(result)
    if len(ablations) > 1:
        raise ContinualError(f"results of several ablations mixed: {sorted(map(str, ablations))}")
    return sorted(rungs_seen.values(), key=lambda item: item[0]["rung_index"])


def _pairs(ladder: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(rung, baseline, why) for every comparison the summary reports, without duplicates."""
    pairs = [(t["rung"], t["baseline"], "rung below") for t in ladder if t.get("baseline")]
    full = next((t["rung"] for t in ladder if t.get("role") == "full"), None)
    learner = next((t["rung"] for t in ladder if t.get("role") == "learner"), None)
    option = next((t["rung"] for t in ladder if t.get("role") == "option"), None)
    seen = {(a, b) for a, b, _ in pairs}
    for base, why in ((learner, "full vs learner"), (option, "full vs options")):
        if full is not None and base is not None and (full, base) not in seen and full != base:
            pairs.append((full, base, why))
            seen.add((full, base))
    return pairs


def _estimate_dict(value: Estimate | None) -> dict[str, Any] | None:
    return None if value is None else dataclasses.asdict(value)


def _paired_dict(result: Paired | None) -> dict[str, Any] | None:
    if result is None:
        return None
    simultaneous = result.simultaneous
    return {
        **dataclasses.asdict(result.difference),
        "seeds": list(result.seeds),
        "t_p": result.t_p,
        "holm_p": result.holm_p,
        "family": result.family,
        "simultaneous_low": None if simultaneous is None else simultaneous[0],
        "simultaneous_high": None if simultaneous is None else simultaneous[1],
        "wilcoxon_p": result.wilcoxon_p,
        "wilcoxon_note": result.wilcoxon_note,
        "distinguishable": result.distinguishable,
    }


def _rung_summary(
    tags: dict[str, Any], runs: list[dict[str, Any]], metric_names: list[str], confidence: float
) -> dict[str, Any]:
    return {
        "index": tags["rung_index"],
        "name": tags["rung"],
        "role": tags.get("role"),
        "baseline": tags.get("baseline"),
        "strategy": runs[0]["strategy"],
        "runs": {str(r["seed"]): r.get("run_id") for r in runs},
        "metrics": {
            m: _estimate_dict(estimate((r["metrics"].get(m) for r in runs), confidence))
            for m in metric_names
        },
    }


def _comparison(
    names: dict[str, dict[str, Any]],
    by_rung: dict[str, list[dict[str, Any]]],
    rung: str,
    baseline: str,
    why: str,
    metric_names: list[str],
    confidence: float,
) -> dict[str, Any]:
    if baseline not in by_rung:
        raise ContinualError(f"rung {rung!r}: its baseline {baseline!r} has no results")
    per_seed = lambda name, m: {r["seed"]: r["metrics"].get(m) for r in by_rung[name]}  # noqa: E731
    differences: dict[str, Any] = {
        m: paired(per_seed(rung, m), per_seed(baseline, m), confidence) for m in metric_names
    }  # Paired objects until summarise has adjusted the family
    return {
        "rung": rung,
        "rung_index": names[rung]["rung_index"],
        "baseline": baseline,
        "baseline_index": names[baseline]["rung_index"],
        "why": why,
        "difference": differences,
    }
