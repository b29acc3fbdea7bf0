"""``continual compare DIR_A DIR_B ...``: runs from different folders side by side. Each result's
strategy is labelled ``FOLDER:STRATEGY`` so every report table keeps them apart, and the same
strategy in two folders is compared seed by seed (paired difference, later folder − first)."""

from __future__ import annotations

import copy
from pathlib import Path

from rich import box
from rich.table import Table

from continual.report.aggregate import Result, by_strategy, paired_difference, reference_strategy
from continual.report.sanitize import terminal
from continual.report.tables import format_paired
from continual.statistics import holm_family

METRICS = (
    ("average_accuracy", "Δ final acc"),
    ("learning_accuracy", "Δ learn acc"),
    ("forgetting", "Δ forgetting"),
)


def labels(folders: list[Path]) -> list[str]:
    """Short distinct labels: the folder names, or the full paths where names repeat."""
    names = [Path(f).name or str(f) for f in folders]
    return names if len(set(names)) == len(names) else [str(f) for f in folders]


def labelled(results: list[Result], label: str) -> list[Result]:
    """Copies of ``results`` whose strategy name is prefixed with ``label:``."""
    out = []
    for result in results:
        result = copy.deepcopy(result)
        result["strategy"]["name"] = f"{label}:{result['strategy']['name']}"
        out.append(result)
    return out


def reference(first: list[Result], label: str, requested: str | None) -> str:
    """The combined report's reference: ``requested`` as given when it names a labelled
    strategy (``FOLDER:NAME``), else that name in the first folder; by default the first
    folder's reference by :func:`reference_strategy`'s rule."""
    if requested is not None and ":" in requested:
        return requested
    return f"{label}:{reference_strategy(by_strategy(first), requested)}"


def _scenarios(results: list[Result]) -> set[str]:
    return {str(r.get("scenario", {}).get("name")) for r in results}


def differences(first: list[Result], other: list[Result], title: str) -> Table:
    """other − first for every strategy name both folders ran, on shared seeds; the strategies'
    differences of one metric are one Holm family (a star: Holm-adjusted p < 0.05)."""
    table = Table(title=terminal(title), box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("strategy", style="bold", overflow="fold")
    table.add_column("seeds", justify="right")
    for _, header in METRICS:
        table.add_column(header, justify="right", no_wrap=True)
    a, b = by_strategy(first), by_strategy(other)
    names = [name for name in a if name in b]
    same = [_scenarios(a[n]) == _scenarios(b[n]) for n in names]  # else not one experiment
    columns = [
        holm_family(
            [
                paired_difference(b[n], a[n], f"metrics.{key}") if ok else None
                for n, ok in zip(names, same)
            ]
        )
        for key, _ in METRICS
    ]
    for row, (name, ok) in enumerate(zip(names, same)):
        if not ok:
            table.add_row(terminal(name), "—", "other scenario", *["—"] * (len(METRICS) - 1))
            continue
        cells = [column[row] for column in columns]
        seeds = "—" if cells[0] is None else str(len(cells[0].seeds))
        table.add_row(terminal(name), seeds, *(format_paired(c) for c in cells))
    table.caption = (
        "percentage points, mean ± 95 % paired-t CI; * Holm-adjusted paired-t p < 0.05 over the "
        "strategies (never without spread)"
    )
    return table
