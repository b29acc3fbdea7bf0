"""The Python API, for notebooks and scripts: the same runs, ladders and reports as the command
line, through the same driver (:func:`continual.execution.drive`), without it; nothing prints
(each run's ``status`` says whether it diverged).

    import continual

    results = continual.run("split-digits", ["finetune", "replay"], seeds=3, out="results/nb")
    results.table()             # one row per strategy: metrics over seeds, mean and 95 % CI
    results.paired("replay")    # replay − the reference (finetune), paired over seeds
    results.matrix("replay")    # the mean accuracy matrix R[i, j]
    results.to_pandas()         # one row per run (pandas, where installed)
    continual.write_report(results, "results/nb")   # report.md, report.html, metrics.csv
    ladder = continual.ablate("hebbian+consolidation+sleep", seeds=5)

A scenario or strategy is a preset name, a TOML path, ``LEARNER+COMPONENT+...`` (strategies), or
a plain dict holding what its TOML file would, plus a ``name``. Finished runs in ``out`` are
reused, as on the command line.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from continual.errors import ContinualError

Spec = str | Mapping[str, Any]
METRICS = (
    "average_accuracy",
    "learning_accuracy",
    "forgetting",
    "backward_transfer",
    "forward_transfer",
)


def _seeds(seeds: int | Iterable[int]) -> list[int]:
    from continual.limits import MAX_SEED

    chosen = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not chosen or not all(isinstance(s, int) and 0 <= s <= MAX_SEED for s in chosen):
        raise ContinualError(f"seeds: a count >= 1 or seeds in [0, {MAX_SEED}], got {seeds!r}")
    return chosen


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ContinualError("to_pandas needs pandas (pip install pandas)") from None
    return pandas


def _scenario(scenario: Spec, dataset: str | None, experiences: int | None) -> Any:
    from continual import specs

    return specs.with_overrides(specs.load_scenario(scenario), dataset, experiences)


@dataclass(frozen=True)
class Results(Sequence[dict]):
    """The result documents of a run command (one per strategy and seed), in plan order, with
    the tables a notebook wants. Each document is what the JSON result file holds."""

    documents: tuple[dict[str, Any], ...]
    folder: Path | None = None

    def __getitem__(self, index):  # type: ignore[override]
        return self.documents[index]

    def __len__(self) -> int:
        return len(self.documents)

    @property
    def strategies(self) -> list[str]:
        """Strategy names in order of first appearance."""
        return list(dict.fromkeys(d["strategy"]["name"] for d in self.documents))

    def of(self, strategy: str) -> list[dict[str, Any]]:
        """The complete runs of ``strategy``, one per seed."""
        if strategy not in self.strategies:
            raise ContinualError(f"no strategy {strategy!r} here; one of {self.strategies}")
        return [
            d
            for d in self.documents
            if d["strategy"]["name"] == strategy and d.get("status", "complete") == "complete"
        ]

    def runs(self) -> list[dict[str, Any]]:
        """One row per run: strategy, seed, status, every metric, training seconds."""
        return [
            {
                "strategy": d["strategy"]["name"],
                "seed": d["seed"],
                "status": d.get("status", "complete"),
                **{m: d.get("metrics", {}).get(m) for m in METRICS},
                "seconds": d.get("timings", {}).get("total"),
            }
            for d in self.documents
        ]

    def table(self) -> list[dict[str, Any]]:
        """One row per strategy: complete seeds, and each metric's mean and two-sided 95 %
        Student-t interval over them (``<metric>``, ``<metric>_low``, ``<metric>_high``)."""
        from continual.statistics import estimate

        rows = []
        for name in self.strategies:
            runs = self.of(name)
            row: dict[str, Any] = {"strategy": name, "seeds": len(runs)}
            for metric in METRICS:
                found = estimate(r["metrics"].get(metric) for r in runs)
                row[metric] = None if found is None else found.mean
                row[f"{metric}_low"] = None if found is None else found.low
                row[f"{metric}_high"] = None if found is None else found.high
            rows.append(row)
        return rows

    def paired(
        self, strategy: str, reference: str | None = None, metric: str = "average_accuracy"
    ) -> Any:
        """``strategy − reference`` per shared seed (:class:`continual.statistics.Paired`:
        paired t interval, p-value, Wilcoxon check); the reference defaults as in reports
        (finetune, else naive, else the first name alphabetically)."""
        from continual.report.aggregate import by_strategy, paired_difference, reference_strategy

        groups = by_strategy(list(self.documents))
        chosen = reference_strategy(groups, reference)
        return paired_difference(self.of(strategy), self.of(chosen), f"metrics.{metric}")

    def matrix(self, strategy: str, seed: int | None = None) -> Any:
        """The accuracy matrix R[i, j] (numpy) of one seed, or the mean over complete seeds."""
        import numpy as np

        runs = self.of(strategy)
        if seed is not None:
            runs = [r for r in runs if r["seed"] == seed]
            if not runs:
                raise ContinualError(f"{strategy}: no complete run with seed {seed}")
        return np.mean([np.asarray(r["accuracy_matrix"], dtype=float) for r in runs], axis=0)

    def to_pandas(self, per: str = "run") -> Any:
        """A DataFrame of :meth:`runs` (``per="run"``) or :meth:`table` (``per="strategy"``)."""
        pandas = _pandas()
        if per not in ("run", "strategy"):
            raise ContinualError(f"per: 'run' or 'strategy', got {per!r}")
        return pandas.DataFrame(self.runs() if per == "run" else self.table())

    def __repr__(self) -> str:
        lines = [f"Results: {len(self)} runs of {len(self.strategies)} strategies"]
        for row in self.table():
            accuracy = row["average_accuracy"]
            shown = "—" if accuracy is None else f"{100 * accuracy:.1f} %"
            lines.append(
                f"  {row['strategy']}: final average accuracy {shown} ({row['seeds']} seeds)"
            )
        return "\n".join(lines)


def run(
    scenario: Spec = "split-digits",
    strategies: Spec | Sequence[Spec] = "finetune",
    *,
    seeds: int | Iterable[int] = 1,
    out: str | Path = "results",
    dataset: str | None = None,
    experiences: int | None = None,
    device: str = "cpu",
    data_dir: str | None = None,
    workers: int = 1,
    force: bool = False,
) -> Results:
    """Train every strategy on ``scenario`` for every seed, as ``continual run`` does: one JSON
    result file per run in ``out`` (finished runs there are reused unless ``force``), and return
    them as :class:`Results`. ``seeds``: a count (seeds 0..n-1) or the seeds themselves."""
    from continual import execution, specs
    from continual.results import prepare_out

    if isinstance(strategies, (str, Mapping)):
        strategies = [strategies]
    chosen = [specs.load_strategy(s) for s in strategies]
    if not chosen:
        raise ContinualError("strategies: give at least one")
    if not 1 <= workers <= 1024:
        raise ContinualError(f"workers: between 1 and 1024, got {workers}")
    execution.check_device(device)
    plan = execution.cells(_scenario(scenario, dataset, experiences), chosen, _seeds(seeds))
    folder = Path(out)
    prepare_out(folder, keep=False)
    cache: dict[Any, Any] = {}
    steps = execution.prepare(plan, data_dir, cache)
    report = execution.drive(
        plan,
        execution.local_backend(workers, cache),
        execution.Job(folder, device, data_dir),
        execution.Options(force=force),
        steps=steps,
    )
    return Results(tuple(report.results), folder)


@dataclass(frozen=True)
class Ladder:
    """An ablation ladder: its summary (what ``continual ablate`` writes) and its runs."""

    summary: dict[str, Any]
    results: Results

    def table(self) -> list[dict[str, Any]]:
        """One row per comparison: the rung, its baseline, why, and the paired difference of the
        final average accuracy in points with its interval, raw and Holm-adjusted p."""
        rows = []
        for comparison in self.summary["comparisons"]:
            difference = comparison["difference"].get("average_accuracy") or {}
            rows.append(
                {
                    "rung": comparison["rung"],
                    "baseline": comparison["baseline"],
                    "why": comparison.get("why"),
                    **{
                        key: None if difference.get(key) is None else 100 * difference[key]
                        for key in ("mean", "low", "high")
                    },
                    "p": difference.get("t_p"),
                    "holm_p": difference.get("holm_p"),
                }
            )
        return rows

    def to_pandas(self) -> Any:
        return _pandas().DataFrame(self.table())


def ablate(
    strategy: Spec,
    scenario: Spec = "split-digits",
    *,
    seeds: int | Iterable[int] = 5,
    out: str | Path = "results",
    dataset: str | None = None,
    experiences: int | None = None,
    device: str = "cpu",
    data_dir: str | None = None,
    workers: int = 1,
) -> Ladder:
    """The ablation ladder of ``strategy`` (see :mod:`continual.ablation`), as ``continual
    ablate`` runs it: every rung on the same seeds, each rung's paired gain over the one below,
    Holm-corrected within the ladder."""
    from continual import ablation, execution, specs

    execution.check_device(device)
    spec = specs.load_strategy(strategy)
    folder = Path(out)
    summary = ablation.ablate(
        _scenario(scenario, dataset, experiences),
        spec,
        _seeds(seeds),
        folder,
        device=device,
        data_dir=data_dir,
        workers=workers,
    )
    from continual.report.files import load_results

    found = load_results([folder], on_skip=warnings.warn)
    runs = [r for r in found if (r.get("tags") or {}).get("ablation") == spec.name]
    return Ladder(summary, Results(tuple(runs), folder))


def write_report(results: Results | Iterable[dict[str, Any]], path: str | Path) -> list[Path]:
    """Write ``report.md``, ``report.html`` and ``metrics.csv`` for ``results`` into the folder
    ``path``; return the files written. (Not ``continual.report``: that is the report package.)"""
    from continual.report.files import write_reports

    return write_reports(list(results), Path(path), on_note=warnings.warn)
