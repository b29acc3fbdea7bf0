"""``continual compare DIR_A DIR_B ...``: runs from different folders side by side. Each result's
strategy is labelled ``FOLDER:STRATEGY`` so every report table keeps them apart, and the same
strategy in two folders is compared seed by seed (paired difference, later folder − first)."""

from __future__ import annotations

import copy
from pathlib import Path

from rich import box
from rich.table import Table

from continual.report.aggregate import Result, by_strategy, paired_difference
from continual.report.tables import format_paired

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


def _scenarios(results: list[Result]) -> set[str]:
    return {str(r.get("scenario", {}).get("name")) for r in results}


def differences(first: list[Result], other: list[Result], title: str) -> Table:
    """other − first for every strategy name both folders ran, on shared seeds."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("strategy", style="bold", no_wrap=True)
    table.add_column("seeds", justify="right")
    for _, header in METRICS:
        table.add_column(header, justify="right", no_wrap=True)
    a, b = by_strategy(first), by_strategy(other)
    for name in a:
        if name not in b:
            continue
        if _scenarios(a[name]) != _scenarios(b[name]):  # not the same experiment: no pairing
            table.add_row(name, "—", "other scenario", *["—"] * (len(METRICS) - 1))
            continue
        cells = [paired_difference(b[name], a[name], f"metrics.{key}") for key, _ in METRICS]
        seeds = "—" if cells[0] is None else str(len(cells[0].seeds))
        table.add_row(name, seeds, *(format_paired(c) for c in cells))
    table.caption = "percentage points, mean ± 95 % paired-t CI; * excludes 0"
    return table
