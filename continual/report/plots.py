"""The report's bar chart as PNG bytes, drawn with matplotlib's object API (no pyplot state, no
display): bars with confidence-interval error bars (the matrices are colour-scaled HTML tables,
``html.heat_table``; the anytime curves inline SVG, :mod:`continual.report.svg`)."""

from __future__ import annotations

import io

from matplotlib.figure import Figure

from continual.report.aggregate import Result, by_strategy, over_seeds
from continual.report.sanitize import mathtext
from continual.statistics import Estimate


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def _half(value: Estimate | None, scale: float) -> float:
    return 0.0 if value is None or value.half_width is None else value.half_width * scale


def bars(results: list[Result]) -> bytes:
    """Final accuracy, learning accuracy, forgetting and total GFLOPs per strategy, 95 % CI
    error bars."""
    groups = by_strategy(results)
    names = list(groups)
    panels = (
        ("metrics.average_accuracy", "final accuracy (%)", 100.0),
        ("metrics.learning_accuracy", "learning accuracy (%)", 100.0),
        ("metrics.forgetting", "forgetting (%)", 100.0),
        ("cost.flops_total", "GFLOP (all phases)", 1e-9),
    )
    figure = Figure(figsize=(13, 0.6 + 0.32 * len(names)))
    for k, (path, label, scale) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), k + 1)
        estimates = [over_seeds(groups[n], path) for n in names]
        means = [0.0 if e is None else e.mean * scale for e in estimates]
        errors = [_half(e, scale) for e in estimates]
        axes.barh(range(len(names)), means, xerr=errors, color="tab:blue", capsize=3)
        shown = [mathtext(n) for n in names] if k == 0 else [""] * len(names)
        axes.set_yticks(range(len(names)), shown, fontsize=7)
        axes.invert_yaxis()
        axes.set_xlabel(label, fontsize=8)
    figure.tight_layout()
    return png(figure)
