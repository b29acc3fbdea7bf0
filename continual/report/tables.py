"""The report's tables as plain data (title, headers, rows of strings, a note naming formulas and
assumptions), built once from result documents and rendered by the Markdown and HTML writers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from continual.evaluation.cost import ENERGY_ASSUMPTION
from continual.report.aggregate import (
    Result,
    by_strategy,
    format_difference,
    format_estimate,
    format_mean,
    matrix_estimates,
    metric,
    over_seeds,
    paired_difference,
    probed,
    reference_strategy,
    timing,
)
from continual.statistics import Estimate, Paired, estimate, format_p, holm_family


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    note: str = ""


METRIC_COLUMNS = (
    ("average_accuracy", "final acc"),
    ("learning_accuracy", "learning acc"),
    ("forgetting", "forgetting"),
    ("backward_transfer", "BWT"),
    ("forward_transfer", "FWT"),
)
METRIC_NOTE = (
    "Percent, mean ± half-width of the 95 % Student-t confidence interval over seeds. final acc "
    "= ACC = mean_j R[T, j] (Lopez-Paz & Ranzato 2017); learning acc = mean_j R[j, j] (Riemer et "
    "al. 2019); forgetting = mean_{j<T} max_{l<T} R[l, j] − R[T, j] (Chaudhry et al. 2018); "
    "BWT, FWT after Lopez-Paz & Ranzato 2017."
)


def seeds_of(group: list[Result]) -> str:
    return ",".join(str(s) for s in sorted(int(r["seed"]) for r in group))


def summary(results: list[Result]) -> Table:
    rows = []
    for name, group in by_strategy(results).items():
        cells = [format_estimate(metric(group, key)) for key, _ in METRIC_COLUMNS]
        wall = format_estimate(timing(group), 1.0, digits=1)
        rows.append((name, str(len(group)), *cells, wall))
    headers = ("strategy", "seeds", *(h for _, h in METRIC_COLUMNS), "wall time (s)")
    return Table("Summary", headers, rows, METRIC_NOTE)


def format_paired(difference: Paired | None, scale: float = 100.0) -> str:
    if difference is None:
        return "—"
    text = format_estimate(difference.difference, scale)
    return text + (" *" if difference.distinguishable else "")


def _p(difference: Paired | None) -> str:
    return "—" if difference is None else format_p(difference.wilcoxon_p, difference.wilcoxon_note)


def _t_and_holm(difference: Paired | None) -> str:
    """'raw (Holm)' p-values of the paired t test, e.g. '0.012 (0.036)'."""
    if difference is None or difference.t_p is None:
        return "—"
    return f"{format_p(difference.t_p)} ({format_p(difference.holm_p)})"


HOLM_NOTE = (
    "p: the paired t test's p-value, raw and (Holm-adjusted) over the table's comparisons of "
    "that metric (Holm 1979); * marks a Holm-adjusted p below 0.05, never a difference without "
    "spread (all seeds equal: the zero-width interval makes no claim)."
)
WILCOXON_NOTE = (
    "Wilcoxon signed-rank p as a check that does not assume normality, from 6 paired seeds on "
    "(below, 'n too small': its two-sided p cannot go below 2/2^n)."
)


PAIRED = (
    ("average_accuracy", "Δ final acc"),
    ("learning_accuracy", "Δ learning acc"),
    ("forgetting", "Δ forgetting"),
)


def paired_differences(results: list[Result], reference: str | None = None) -> Table | None:
    """Each strategy minus the reference strategy (``reference``, or the default rule of
    :func:`reference_strategy`), seed by seed, when they share seeds; the strategies'
    comparisons of one metric are one Holm family."""
    groups = by_strategy(results)
    if len(groups) < 2:
        return None
    reference = reference_strategy(groups, reference)
    names = [name for name in groups if name != reference]
    families = [
        holm_family(
            [paired_difference(groups[n], groups[reference], f"metrics.{key}") for n in names]
        )
        for key, _ in PAIRED
    ]
    rows = []
    for name, *differences in zip(names, *families):
        shared = "—" if differences[0] is None else str(len(differences[0].seeds))
        cells = [t for d in differences for t in (format_paired(d), _t_and_holm(d), _p(d))]
        rows.append((name, shared, *cells))
    headers = ("strategy", "paired seeds")
    headers += tuple(text for _, h in PAIRED for text in (h, "p (Holm)", "Wilcoxon p"))
    note = (
        f"Strategy − {reference} on the same seeds, percentage points: mean ± 95 % paired-t CI of "
        f"the per-seed differences (per comparison, not simultaneous). {HOLM_NOTE} {WILCOXON_NOTE} "
        "Learning acc = mean_j R[j, j] beside forgetting: a strategy that forgets less only "
        "because it learns less shows a negative Δ learning acc."
    )
    return Table(f"Paired differences against {reference}", headers, rows, note)


PROBE_COLUMNS = (
    ("average_accuracy", "final acc"),
    ("probe_accuracy", "probe acc"),
    ("forgetting", "forgetting"),
    ("probe_forgetting", "probe forgetting"),
    ("probe_untrained_accuracy", "untrained probe acc"),
)


def probe(results: list[Result]) -> Table | None:
    """The learner's own accuracy beside its representation probe's, for the strategies whose
    runs have a probe (``[evaluation] probe``)."""
    rows = []
    for name, group in by_strategy(results).items():
        group = probed(group)
        if group:
            kind = str(group[0]["probe"].get("kind", "?"))
            cells = [format_estimate(metric(group, key)) for key, _ in PROBE_COLUMNS]
            rows.append((name, kind, str(len(group)), *cells))
    if not rows:
        return None
    note = (
        "Representation probe (Davari et al. 2022): after each experience a class-statistics "
        "readout (slda: streaming LDA, Hayes & Kanan 2020; ncm: nearest class mean) is fitted "
        "on the learner's features of the training data of every experience seen so far and "
        "scored on every test set: probe matrix P. probe acc = mean_j P[T, j]; probe forgetting "
        "= mean_{j<T} max_{l<T} P[l, j] − P[T, j]; untrained probe acc = mean_j P[0, j], the "
        "probe on the initial features fitted on every experience. Final acc far below probe "
        "acc: the features still separate the classes and the readout forgot; probe "
        "forgetting high: the features themselves drifted."
    )
    headers = ("strategy", "probe", "seeds", *(h for _, h in PROBE_COLUMNS))
    return Table("Representation probe", headers, rows, note)


COST_COLUMNS = (
    ("cost.flops.train", "train GFLOP", 1e-9),
    ("cost.flops.eval", "eval GFLOP", 1e-9),
    ("cost.flops.consolidation", "consolid. GFLOP", 1e-9),
    ("cost.flops.sleep", "sleep GFLOP", 1e-9),
    ("cost.sleep_synops", "sleep MSynOps", 1e-6),
    ("cost.synaptic_updates", "synaptic updates (G)", 1e-9),
    ("memory.peak_rss_mib", "peak RSS MiB", 1.0),
    ("cost.energy_estimate_joules", "energy estimate (mJ)", 1e3),
)


def cost(results: list[Result]) -> Table:
    rows = []
    for name, group in by_strategy(results).items():
        cells = [
            format_estimate(over_seeds(group, path), scale, digits=2)
            for path, _, scale in COST_COLUMNS
        ]
        rows.append((name, *cells))
    note = (
        "FLOPs (matrix products, 2 per multiply-accumulate) counted once per run with "
        "torch.utils.flop_counter on probe batches and multiplied by samples processed; sleep "
        "SynOps = spikes × fan-out (NeuroBench). Peak RSS is the process's (it includes earlier "
        f"runs of the same command). Energy: {ENERGY_ASSUMPTION}."
    )
    return Table("Cost", ("strategy", *(h for _, h, _ in COST_COLUMNS)), rows, note)


def _mean_accuracy(entry: dict[str, Any]) -> float:
    accuracy = entry["accuracy"]
    return sum(accuracy) / len(accuracy)


def robustness(results: list[Result]) -> Table | None:
    """Final accuracy averaged over experiences, clean and under each perturbation."""
    attacks: list[tuple[str, float]] = []
    for result in results:
        for kind in ("noise", "fgsm"):
            for entry in (result.get("robustness") or {}).get(kind, []):
                if (kind, entry["strength"]) not in attacks:
                    attacks.append((kind, entry["strength"]))
    if not attacks:
        return None
    rows = []
    for name, group in by_strategy(results).items():
        cells = [format_estimate(metric(group, "average_accuracy"))]
        for kind, strength in attacks:
            entries = [
                e
                for r in group
                for e in (r.get("robustness") or {}).get(kind, [])
                if e["strength"] == strength
            ]
            blind = any(e.get("gradient") is False for e in entries)
            cells.append(format_estimate(estimate(map(_mean_accuracy, entries))) + " †" * blind)
        rows.append((name, *cells))
    headers = (
        "strategy",
        "clean",
        *(f"{'noise σ' if k == 'noise' else 'FGSM ε'}={s:g}" for k, s in attacks),
    )
    note = (
        "Accuracy (%) after the last experience, averaged over experiences (per-experience values "
        "in metrics.csv): Gaussian noise of standard deviation σ on inputs in [0, 1]; FGSM "
        "(Goodfellow et al. 2015) x + ε·sign(∇x CE), white-box, through each learner's predict; "
        "† predict gave no input gradient (e.g. Forward-Forward's detached layers), so the attack "
        "could not move the input: not evidence of robustness."
    )
    return Table("Robustness", headers, rows, note)


LADDER_LEVELS = (("average_accuracy", "acc %"), ("learning_accuracy", "learn acc %"))
LADDER_PAIRED = (
    ("average_accuracy", "Δ acc (pp)"),
    ("learning_accuracy", "Δ learn acc (pp)"),
    ("forgetting", "Δ forgetting (pp)"),
)
LADDER_PROBE = ("probe_accuracy", "probe acc %", "Δ probe acc (pp)")
LADDER_NOTE = (
    "Δ: rung − baseline (the rung numbered under 'vs') on the same seeds, percentage points: "
    "mean [95 % paired-t interval]. acc: final average accuracy; learn acc = mean_j R[j, j] "
    "(Riemer et al. 2019): a rung that forgets less because it no longer learns shows it here. "
    "p: the paired t test's p-value of Δ acc, raw and Holm-adjusted over the ladder's "
    "comparisons (Holm 1979; each metric is its own family); * marks a Holm-adjusted p below "
    "0.05, never a difference without spread. " + WILCOXON_NOTE
)


def ablation_ladder(summary: dict[str, Any]) -> Table:
    """An ablation ladder (a summary from :func:`continual.report.ladder.summarise`) as a table:
    one row per rung, bottom first, with its final and learning accuracy and its paired
    differences against its baseline (the representation probe's accuracy too when the runs
    have a probe), and the p-values of Δ acc; the extra comparisons (the full strategy against
    the learner alone and the options alone) on the rows after it."""
    probe = LADDER_PROBE[0] in summary["metrics"]
    levels = LADDER_LEVELS + ((LADDER_PROBE[0], LADDER_PROBE[1]),) * probe
    paired = LADDER_PAIRED + ((LADDER_PROBE[0], LADDER_PROBE[2]),) * probe
    headers = ("#", "rung", "vs", *(h for _, h in levels), *(h for _, h in paired))
    headers += ("p (Δ acc)", "Holm p (Δ acc)", "Wilcoxon p (Δ acc)")
    rows = []
    for rung in summary["rungs"]:
        own = [c for c in summary["comparisons"] if c["rung"] == rung["name"]]
        means = [format_mean(rung["metrics"].get(key)) for key, _ in levels]
        if not own:  # the bottom rung: nothing below it
            blank = ("",) * (len(paired) + 3)
            rows.append((str(rung["index"]), rung["name"], "", *means, *blank))
        for position, comparison in enumerate(own):
            first = position == 0
            differences = comparison["difference"]
            accuracy = differences.get("average_accuracy") or {}
            vs = comparison["baseline_index"]
            rows.append(
                (
                    str(rung["index"]) if first else "",
                    rung["name"] if first else f"└ {comparison['why']}",
                    "—" if vs is None else f"#{vs}",
                    *(means if first else [""] * len(means)),
                    *(format_difference(differences.get(key)).strip() for key, _ in paired),
                    format_p(accuracy.get("t_p")),
                    format_p(accuracy.get("holm_p")),
                    format_p(accuracy.get("wilcoxon_p"), accuracy.get("wilcoxon_note")),
                )
            )
    seeds = ", ".join(map(str, summary["seeds"]))
    note = f"{summary['scenario']}, seeds {seeds}. {LADDER_NOTE}"
    return Table(f"Ablation ladder: {summary['ablation']}", headers, rows, note)


def matrix(
    group: list[Result],
    kind: str = "accuracy",
    name: str | None = None,
    cells: list[list[Estimate | None]] | None = None,
) -> Table:
    """The mean ± CI matrix of one strategy (titled ``name``, the report's group name, or the
    strategy's); row 0 is before training. ``cells``: its :func:`matrix_estimates`, when the
    caller has them already."""
    cells = matrix_estimates(group, kind) if cells is None else cells
    headers = ("after", *(f"exp {j}" for j in range(len(cells[0]))))
    rows = [
        ("untrained" if i == 0 else f"exp {i - 1}", *(format_estimate(c) for c in row))
        for i, row in enumerate(cells)
    ]
    return Table(f"{name or group[0]['strategy']['name']}: {kind} matrix", headers, rows)


def provenance(results: list[Result]) -> Table:
    """Config, seeds and versions, one row per strategy."""
    rows = []
    for name, group in by_strategy(results).items():
        first = group[0]
        env = first.get("environment", {})
        versions = ", ".join(
            f"{k} {env[k]}" for k in ("continual", "torch", "numpy", "python") if k in env
        )
        rows.append(
            (name, seeds_of(group), first["scenario"]["name"], env.get("device", "?"), versions)
        )
    return Table("Runs", ("strategy", "seeds", "scenario", "device", "versions"), rows)
