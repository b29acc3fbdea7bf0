"""Group result documents by strategy and summarise each metric over seeds (mean and sample
standard deviation)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Summary:
    mean: float
    std: float
    n: int


def summarise(values: Iterable[float | None]) -> Summary | None:
    """Mean and sample std of the defined values, or None if none is defined."""
    defined = [float(v) for v in values if v is not None]
    if not defined:
        return None
    std = statistics.stdev(defined) if len(defined) > 1 else 0.0
    return Summary(statistics.fmean(defined), std, len(defined))


def format_summary(summary: Summary | None, scale: float = 100.0, unit: str = "") -> str:
    """'mean ± std' (just the mean for one value, '—' for none), scaled (percent by default)."""
    if summary is None:
        return "—"
    text = f"{summary.mean * scale:.1f}"
    if summary.n > 1:
        text += f" ± {summary.std * scale:.1f}"
    return text + unit


def by_strategy(results: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Results grouped by strategy name, in first-seen order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        groups.setdefault(result["strategy"]["name"], []).append(result)
    return groups


def metric(results: list[dict[str, Any]], name: str) -> Summary | None:
    return summarise(r["metrics"].get(name) for r in results)


def timing(results: list[dict[str, Any]], phase: str = "total") -> Summary | None:
    return summarise(r["timings"].get(phase) for r in results)
