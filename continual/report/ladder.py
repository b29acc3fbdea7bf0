"""The terminal table of an ablation ladder (a summary from :func:`continual.ablation.summarise`):
one row per comparison, with each rung's final accuracy, the paired differences of final
accuracy, learning accuracy and forgetting against its baseline, in percentage points, and
the Holm-adjusted p-value of the accuracy difference, in 80 columns. Learning accuracy
(mean_j R[j, j], Riemer et al. 2019) stands beside forgetting so a component that buys
stability with all its plasticity shows: its forgetting falls, and so does its learning
accuracy."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from continual.report.sanitize import terminal
from continual.report.statistics import format_p

SHOWN = (
    ("average_accuracy", "Δ acc"),
    ("learning_accuracy", "Δ learn acc"),
    ("forgetting", "Δ forgetting"),
)


def difference_text(difference: dict[str, Any] | None, brackets: bool = True) -> str:
    """'+3.1 [+1.2,+5.0]*' in percentage points: mean and paired-t interval (``brackets=False``:
    '+3.1±1.9*', the same symmetric interval as mean ± half-width, for the 80-column table);
    * when the difference is distinguishable from zero (Holm-adjusted p < 0.05 and a
    spread); just the mean when there is one seed."""
    if difference is None:
        return "—"
    text = f"{difference['mean'] * 100:+.1f}"
    low, high = difference.get("low"), difference.get("high")
    if low is not None and high is not None:
        if brackets:
            text += f" [{low * 100:+.1f},{high * 100:+.1f}]"
        else:
            text += f"±{(high - low) * 50:.1f}"
    return text + ("*" if difference.get("distinguishable") else " ")


def label(rung: dict[str, Any]) -> str:
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


def _p(comparison: dict[str, Any], key: str, note: str | None = None) -> str:
    """A p-value of the accuracy difference ('t_p', 'holm_p', 'wilcoxon_p'), or why not."""
    accuracy = comparison["difference"].get("average_accuracy") or {}
    return format_p(accuracy.get(key), accuracy.get(note) if note else None)


def _accuracy(rung: dict[str, Any], metric: str = "average_accuracy") -> str:
    value = rung["metrics"].get(metric)
    return "—" if value is None else f"{value['mean'] * 100:.1f}"


def ladder_table(summary: dict[str, Any]) -> Table:
    """One row per rung, bottom first, with its extra comparisons (the full strategy against
    the learner alone and the options alone) on the rows after it."""
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
    for _, header in SHOWN:
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("Holm", justify="right", no_wrap=True)
    for rung in summary["rungs"]:
        own = [c for c in summary["comparisons"] if c["rung"] == rung["name"]]
        if not own:  # the bottom rung: nothing below it
            blank = [""] * (len(SHOWN) + 1)
            table.add_row(str(rung["index"]), terminal(label(rung)), "", _accuracy(rung), *blank)
        for position, comparison in enumerate(own):
            first = position == 0
            table.add_row(
                str(rung["index"]) if first else "",
                terminal(label(rung) if first else f"└ {comparison['why'].removeprefix('full ')}"),
                f"#{comparison['baseline_index']}",
                _accuracy(rung) if first else "",
                *(difference_text(comparison["difference"].get(m), False) for m, _ in SHOWN),
                _p(comparison, "holm_p"),
            )
    return table


def ladder_markdown(summary: dict[str, Any]) -> str:
    """The same ladder as a Markdown table (for docs), with the p-values of Δ acc: the paired
    t test's, raw and Holm-adjusted over the ladder, and the Wilcoxon check's."""
    head = (
        "| # | rung | vs | acc % | learn acc % | Δ acc (pp) | Δ learn acc (pp) "
        "| Δ forgetting (pp) | p (Δ acc) | Holm p (Δ acc) | Wilcoxon p (Δ acc) |"
    )
    lines = [head, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for rung in summary["rungs"]:
        own = [c for c in summary["comparisons"] if c["rung"] == rung["name"]]
        if not own:
            lines.append(
                f"| {rung['index']} | {rung['name']} | | {_accuracy(rung)} "
                f"| {_accuracy(rung, 'learning_accuracy')} | | | | | | |"
            )
        for position, comparison in enumerate(own):
            first = position == 0
            shown = [difference_text(comparison["difference"].get(m)) for m, _ in SHOWN]
            lines.append(
                "| "
                + " | ".join(
                    [
                        str(rung["index"]) if first else "",
                        f"`{rung['name']}`" if first else f"└ {comparison['why']}",
                        f"#{comparison['baseline_index']}",
                        _accuracy(rung) if first else "",
                        _accuracy(rung, "learning_accuracy") if first else "",
                        *(text.replace("*", "\\*").strip() for text in shown),
                        _p(comparison, "t_p"),
                        _p(comparison, "holm_p"),
                        _p(comparison, "wilcoxon_p", "wilcoxon_note"),
                    ]
                )
                + " |"
            )
    return "\n".join(lines) + "\n"
