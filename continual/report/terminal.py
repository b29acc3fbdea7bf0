"""The comparison table printed after ``continual run`` and by ``continual report``: it fits 80
columns (a strategy name too long for its column folds onto more lines; numbers are never cut)
and shows mean ± 95 % CI when there are several seeds."""

from __future__ import annotations

from rich import box
from rich.table import Table

from continual.report.aggregate import Result, by_strategy, format_estimate, metric, timing
from continual.report.sanitize import terminal

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
