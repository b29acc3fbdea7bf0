"""The comparison table printed after ``continual run``."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from continual.report.aggregate import Summary, by_strategy, format_summary, metric, timing

COLUMNS = (
    ("average_accuracy", "final avg acc", True),
    ("forgetting", "forgetting", True),
    ("backward_transfer", "BWT", True),
    ("forward_transfer", "FWT", True),
)


def _cell(summary: Summary | None, percent: bool) -> str:
    return format_summary(summary) if percent else format_summary(summary, 1.0, " s")


def comparison_table(results: list[dict[str, Any]], title: str | None = None) -> Table:
    """One row per strategy: metrics in percent (mean ± std over seeds) and wall time."""
    table = Table(
        title=title,
        caption="accuracies and transfers in %, forgetting after Chaudhry "
        "et al. 2018 (best − final); BWT/FWT after Lopez-Paz & Ranzato 2017",
    )
    table.add_column("strategy", style="bold", overflow="fold")
    table.add_column("seeds", justify="right")
    for _, header, _ in COLUMNS:
        table.add_column(header, justify="right")
    table.add_column("wall time", justify="right")
    for name, group in by_strategy(results).items():
        cells = [_cell(metric(group, key), percent) for key, _, percent in COLUMNS]
        table.add_row(name, str(len(group)), *cells, _cell(timing(group), percent=False))
    return table
