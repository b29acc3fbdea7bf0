"""The report's figures as PNG bytes, drawn with matplotlib's object API (no pyplot state, no
display): anytime curves with experience boundaries, and bars with confidence-interval error
bars (the matrices are colour-scaled HTML tables, ``html.heat_table``)."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from continual.report.aggregate import Result, by_strategy, over_seeds
from continual.report.statistics import Estimate


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def anytime(group: list[Result]) -> bytes:
    """Accuracy on each experience over training steps (mean over the seeds whose curves share
    the first seed's steps; seeds with other evaluation steps are left out rather than
    interpolated), experience boundaries as dashed lines."""
    first = group[0]["curves"]
    steps = first["step"]
    curves = [np.asarray(r["curves"]["accuracy"]) for r in group if r["curves"]["step"] == steps]
    mean = np.mean(curves, axis=0) * 100
    figure = Figure(figsize=(6, 2.8))
    axes = figure.add_subplot()
    for j in range(mean.shape[1]):
        axes.plot(steps, mean[:, j], label=f"exp {j}", linewidth=1.2)
    axes.plot(steps, mean.mean(axis=1), color="black", linewidth=2, label="average")
    for boundary in first["experience_end_steps"][:-1]:
        axes.axvline(boundary, color="grey", linestyle="--", linewidth=0.8)
    axes.set_ylim(0, 100)
    axes.set_xlabel("training step")
    axes.set_ylabel("accuracy (%)")
    seeds = f"mean of {len(curves)} seeds" if len(curves) > 1 else f"seed {group[0]['seed']}"
    axes.set_title(f"{group[0]['strategy']['name']} ({seeds})", fontsize=9)
    axes.legend(fontsize=6, ncol=2, loc="lower left")
    return png(figure)


def _half(value: Estimate | None, scale: float) -> float:
    return 0.0 if value is None or value.half_width is None else value.half_width * scale


def bars(results: list[Result]) -> bytes:
    """Final accuracy, forgetting and total GFLOPs per strategy, 95 % CI error bars."""
    groups = by_strategy(results)
    names = list(groups)
    panels = (
        ("metrics.average_accuracy", "final accuracy (%)", 100.0),
        ("metrics.forgetting", "forgetting (%)", 100.0),
        ("cost.flops_total", "GFLOP (all phases)", 1e-9),
    )
    figure = Figure(figsize=(10, 0.6 + 0.32 * len(names)))
    for k, (path, label, scale) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), k + 1)
        estimates = [over_seeds(groups[n], path) for n in names]
        means = [0.0 if e is None else e.mean * scale for e in estimates]
        errors = [_half(e, scale) for e in estimates]
        axes.barh(range(len(names)), means, xerr=errors, color="tab:blue", capsize=3)
        axes.set_yticks(range(len(names)), names if k == 0 else [""] * len(names), fontsize=7)
        axes.invert_yaxis()
        axes.set_xlabel(label, fontsize=8)
    figure.tight_layout()
    return png(figure)
