"""The tables printed in the terminal, in 80 columns: the comparison table after ``continual
run`` and by ``continual report`` (a strategy name too long for its column folds onto more lines;
numbers are never cut; mean ± 95 % CI when there are several seeds), and the ablation ladder
after ``continual ablate``. The command layer prints them; they are built here."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from continual.report.aggregate import (
    Result,
    by_strategy,
    format_difference,
    format_estimate,
    format_mean,
    metric,
    timing,
)
from continual.report.sanitize import terminal
from continual.statistics import format_p

COLUMNS = (
    ("average_accuracy", "final acc"),
    ("learning_accuracy", "learn acc"),
    ("forgetting", "forgetting"),
)


def comparison_table(results: list[Result], title: str | None = None) -> Table:
    """One row per strategy: seeds (n), final accuracy, learning accuracy and forgetting in
    percent and wall time, mean ± 95 % CI over seeds (report.md has every metric)."""
    several = any(len(g) > 1 for g in by_strategy(results).values())
    table = Table(
        title=None if title is None else terminal(title),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,  # one space between columns: four metrics fit in 80 columns
        caption=("% (mean ± 95 % CI over seeds); " if several else "%; ")
        + "learn acc: just after learning, mean_j R\\[j, j] (Riemer et al. 2019); "
        "forgetting: best − final (Chaudhry et al. 2018)",
    )
    # a long name (a sweep cell's parameters) folds onto more lines; numbers never shrink
    table.add_column("strategy", style="bold", overflow="fold")
    table.add_column("n", justify="right", no_wrap=True)
    for _, header in COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("time (s)", justify="right", no_wrap=True)
    for name, group in by_strategy(results).items():
        cells = [format_estimate(metric(group, key)) for key, _ in COLUMNS]
        wall = format_estimate(timing(group), 1.0, digits=0 if several else 1)
        table.add_row(terminal(name), str(len(group)), *cells, wall)
    return table


LADDER_SHOWN = (
    ("average_accuracy", "Δ acc"),
    ("learning_accuracy", "Δ learn acc"),
    ("forgetting", "Δ forgetting"),
)


def ladder_label(rung: dict[str, Any]) -> str:
    """What a rung adds, in a few words: the learner's name at the bottom, then '+ batch option',
    '+ COMPONENT', 'full', 'untrained control' (the summary keeps the full rung names)."""
    role = rung.get("role")
    if role == "option":
        return "+ batch option"
    if role == "component":
        return "+ " + rung["name"].rsplit("+", 1)[-1]
    if role == "control":
        return "untrained control"
    if role == "full" and rung.get("baseline") is not None:
        return "full"
    return rung["name"]


def ladder_table(summary: dict[str, Any]) -> Table:
    """An ablation ladder (a summary from :func:`continual.report.ladder.summarise`) in 80
    columns: one row per rung, bottom first, with its final accuracy and the paired differences
    of final accuracy, learning accuracy and forgetting against its baseline in percentage points
    and the Holm-adjusted p-value of the accuracy difference; the extra comparisons (the full
    strategy against the learner alone and the options alone) on the rows after it. Learning
    accuracy (mean_j R[j, j], Riemer et al. 2019) stands beside forgetting so a component that
    buys stability with all its plasticity shows: its forgetting falls, and so does its learning
    accuracy."""
    seeds = len(summary["seeds"])
    table = Table(
        title=terminal(
            f"ablation of {summary['ablation']} on {summary['scenario']}, {seeds} seeds"
        ),
        caption=f"acc: final average accuracy %. learn acc: mean_j R\\[j, j]. Δ: rung − "
        f"baseline per seed, mean ± {summary['confidence']:.0%} paired-t half-width, points. "
        "Holm: paired-t p of Δ acc, "
        "Holm-adjusted over the ladder; * Holm p < 0.05 (Δ forgetting: its own family). "
        "Raw p, Wilcoxon, every metric: the summary JSON.",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("rung", no_wrap=True)
    table.add_column("vs", justify="right", no_wrap=True)
    table.add_column("acc", justify="right", no_wrap=True)
    for _, header in LADDER_SHOWN:
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("Holm", justify="right", no_wrap=True)
    for rung in summary["rungs"]:
        own = [c for c in summary["comparisons"] if c["rung"] == rung["name"]]
        accuracy = format_mean(rung["metrics"].get("average_accuracy"))
        if not own:  # the bottom rung: nothing below it
            blank = [""] * (len(LADDER_SHOWN) + 1)
            table.add_row(str(rung["index"]), terminal(ladder_label(rung)), "", accuracy, *blank)
        for position, comparison in enumerate(own):
            first = position == 0
            label = ladder_label(rung) if first else f"└ {comparison['why'].removeprefix('full ')}"
            holm = comparison["difference"].get("average_accuracy") or {}
            table.add_row(
                str(rung["index"]) if first else "",
                terminal(label),
                f"#{comparison['baseline_index']}",
                accuracy if first else "",
                *(
                    format_difference(comparison["difference"].get(m), False)
                    for m, _ in LADDER_SHOWN
                ),
                format_p(holm.get("holm_p")),
            )
    return table
