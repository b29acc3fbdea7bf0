"""The report's anytime curves as inline SVG: accuracy on each experience over training (steps,
or experiences trained when the seeds' steps differ), experience boundaries dashed. Written as
text, no plotting library: one chart takes under a millisecond where a matplotlib PNG took
~0.14 s (14 of them were ~2 s of a default run's report), stays sharp at any zoom, and needs no
optional dependency."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

from continual.report.aggregate import Result, most_common

# matplotlib's "tab10", so the colours match the other figures
COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
WIDTH, HEIGHT = 600, 280
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 26, 40  # margins around the plotting area
MAX_POINTS = 1000  # a longer curve is thinned to every k-th point (and its last)


def ticks(low: float, high: float, count: int = 6, whole: bool = False) -> list[float]:
    """Round tick values (1, 2 or 5 × 10^k apart) within [low, high], about ``count`` of them
    (``whole``: never closer than 1, for counts such as training steps)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 5, 10)), key=lambda s: abs(math.log(s / raw)))
    step = max(step, 1) if whole else step
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _label(value: float) -> str:
    return f"{value:g}"


def _line(x1: float, y1: float, x2: float, y2: float, style: str) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" {style}/>'


def _text(x: float, y: float, text: str, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{html.escape(text)}</text>'


def _finite_runs(x: Sequence[float], values: Sequence[float]) -> list[list[tuple[float, float]]]:
    """The stretches of consecutive points whose value is finite."""
    runs: list[list[tuple[float, float]]] = [[]]
    for a, b in zip(x, values):
        if math.isfinite(b):
            runs[-1].append((a, b))
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def line_chart(
    x: Sequence[float],
    series: Sequence[tuple[str, Sequence[float], str, float]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    y_range: tuple[float, float] = (0.0, 100.0),
    boundaries: Sequence[float] = (),
    legend: int = 11,
) -> str:
    """An ``<svg>`` element: each of ``series`` = (label, y values, colour, line width) drawn
    over ``x``, dashed vertical lines at ``boundaries``, a legend in the lower left corner (the
    last series alone when there are more than ``legend``)."""
    extent = [v for v in (*x, *boundaries) if math.isfinite(v)]
    x_low, x_high = (min(extent), max(extent)) if extent else (0.0, 1.0)
    if x_high == x_low:
        x_high = x_low + 1
    y_low, y_high = y_range
    width, height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bottom = TOP + height

    def px(value: float) -> float:
        return LEFT + (value - x_low) / (x_high - x_low) * width

    def py(value: float) -> float:
        return TOP + (y_high - value) / (y_high - y_low) * height

    parts = [f'<rect x="{LEFT}" y="{TOP}" width="{width}" height="{height}" class="frame"/>']
    for value in ticks(y_low, y_high):
        parts.append(_line(LEFT, py(value), LEFT + width, py(value), 'class="grid"'))
        parts.append(_text(LEFT - 5, py(value) + 4, _label(value), "end"))
    for value in ticks(x_low, x_high, whole=True):
        parts.append(_line(px(value), bottom, px(value), bottom + 4, 'class="axis"'))
        parts.append(_text(px(value), bottom + 16, _label(value)))
    for boundary in boundaries:
        parts.append(_line(px(boundary), TOP, px(boundary), bottom, 'class="boundary"'))
    for label, values, colour, stroke in series:
        tooltip = f"<title>{html.escape(label)}</title>"
        for run in _finite_runs(x, values):  # a gap (NaN) is left open, not bridged
            if len(run) == 1:  # a lone point: a dot
                (a, b), radius = run[0], stroke + 1
                parts.append(
                    f'<circle cx="{px(a):.1f}" cy="{py(b):.1f}" r="{radius}" fill="{colour}">'
                    f"{tooltip}</circle>"
                )
                continue
            points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in run)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" '
                f'stroke-width="{stroke}">{tooltip}</polyline>'
            )
    keyed = list(series) if len(series) <= legend else list(series[-1:])
    rows = math.ceil(len(keyed) / 2)
    box_w, box_h = 8 + min(len(keyed), 2) * 78, rows * 12 + 6
    parts.append(
        f'<rect x="{LEFT + 4}" y="{bottom - 4 - box_h:.1f}" width="{box_w}" height="{box_h}" '
        'class="key"/>'
    )
    for i, (label, _, colour, stroke) in enumerate(keyed):  # two columns, lower left
        lx = LEFT + 8 + (i // rows) * 78
        ly = bottom - 8 - (rows - 1 - i % rows) * 12
        style = f'stroke="{colour}" stroke-width="{stroke}"'
        parts.append(_line(lx, ly - 3, lx + 16, ly - 3, style))
        parts.append(_text(lx + 20, ly, label, "start", ' class="legend"'))
    parts.append(_text(LEFT + width / 2, TOP - 9, title, extra=' class="title"'))
    parts.append(_text(LEFT + width / 2, HEIGHT - 6, x_label))
    middle = TOP + height / 2
    parts.append(_text(14, middle, y_label, extra=f' transform="rotate(-90 14 {middle:.1f})"'))
    return (
        f'<svg class="chart" role="img" '
        f'aria-label="{html.escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}">{"".join(parts)}</svg>'
    )


def on_progress(curves: dict) -> tuple[np.ndarray, np.ndarray]:
    """A curve's points on the axis of experiences trained: e + the fraction of experience e done
    (0 at the start, e at the end of experience e). A point at a step where several experiences
    ended (a task-free batch that finished more than one task) stands at each of them, as its
    matrix rows do. Returns (positions, accuracies)."""
    ended: dict[float, list[int]] = {}
    for done, step in enumerate(curves["experience_end_steps"], 1):
        ended.setdefault(float(step), []).append(done)
    xp, fp = zip(*sorted({0.0: 0, **{step: done[-1] for step, done in ended.items()}}.items()))
    positions, rows = [], []
    for step, row in zip(curves["step"], curves["accuracy"]):
        for position in ended.get(float(step), [float(np.interp(step, xp, fp))]):
            positions.append(float(position))
            rows.append(row)
    return np.asarray(positions), np.asarray(rows, dtype=float)


def anytime(group: list[Result], name: str | None = None) -> str:
    """Accuracy on each experience over training, the mean over seeds, their average in black,
    experience boundaries dashed.

    Seeds whose curves were evaluated at the same steps and ended their experiences at the same
    steps are averaged point by point over training steps. Seeds of most real streams are not
    (the class order differs per seed, so do the experiences' lengths): their curves are put on a
    common axis, experiences trained (e + the fraction of experience e done; boundaries at whole
    numbers, where every seed has its matrix row, so the chart there is the mean matrix row),
    each interpolated linearly onto the first seed's points, and then averaged; the title says
    so. Diverged seeds are left out (a group of diverged seeds alone shows its first seed), and
    seeds with another number of experiences than most (as for the matrix tables,
    :func:`~continual.report.aggregate.most_common`). A curve of more than
    :data:`MAX_POINTS` points is drawn through every k-th of them (and the last)."""
    complete = [r for r in group if r.get("status", "complete") == "complete"] or group[:1]
    drawable = [
        r for r in complete if np.ndim(r["curves"]["accuracy"]) == 2 and len(r["curves"]["step"])
    ]
    if not drawable:  # no evaluation points: nothing to draw
        return ""
    experiences = most_common([np.shape(r["curves"]["accuracy"])[1] for r in drawable])
    usable = [r for r in drawable if np.shape(r["curves"]["accuracy"])[1] == experiences]
    first = usable[0]["curves"]
    if not experiences:
        return ""
    if all(
        r["curves"]["step"] == first["step"]
        and r["curves"]["experience_end_steps"] == first["experience_end_steps"]
        for r in usable
    ):
        x = np.asarray(first["step"], dtype=float)
        curves = [np.asarray(r["curves"]["accuracy"], dtype=float) for r in usable]
        ends = list(first["experience_end_steps"])
        axis, boundaries = "training step", sorted(set(ends) - set(ends[-1:]))
        how = f"mean of {len(usable)} seeds" if len(usable) > 1 else f"seed {usable[0]['seed']}"
    else:
        x, _ = on_progress(first)
        curves = []
        for r in usable:
            own, accuracy = on_progress(r["curves"])
            curves.append(np.stack([np.interp(x, own, column) for column in accuracy.T], 1))
        axis, boundaries = "experiences trained", list(range(1, experiences))
        how = f"mean of {len(usable)} seeds, on experience progress"
    mean = np.mean(curves, axis=0) * 100
    if len(x) > MAX_POINTS:
        keep = sorted({*range(0, len(x), -(-len(x) // MAX_POINTS)), len(x) - 1})
        x, mean = x[keep], mean[keep]
    series = [
        (f"exp {j}", mean[:, j].tolist(), COLOURS[j % len(COLOURS)], 1.2)
        for j in range(mean.shape[1])
    ]
    series.append(("average", mean.mean(axis=1).tolist(), "#000", 2.0))
    return line_chart(
        x.tolist(),
        series,
        title=f"{name or group[0]['strategy']['name']} ({how})",
        x_label=axis,
        y_label="accuracy (%)",
        boundaries=boundaries,
    )
