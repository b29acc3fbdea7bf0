"""``report.html``: one self-contained page (inline CSS and SVG, the bar chart a PNG embedded as a
base64 data URI, no scripts, no network) with the tables of ``report.md``, the accuracy and
forgetting matrices per strategy as colour-scaled tables (mean ± CI in every cell: a heatmap that
can be read, searched and copied, and costs no figure), anytime curves (inline SVG,
:mod:`continual.report.svg`), bars with CI error bars, and the exact configuration, seeds and
versions. Without matplotlib the page keeps everything but the bar chart and says how to get
it."""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Callable

from continual.report import markdown, svg, tables
from continual.report.aggregate import Result, by_strategy, matrix_estimates
from continual.report.tables import Table

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; }
.note { color: #555; font-size: 0.8em; max-width: 70em; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
img { max-width: 100%; }
.scroll { overflow-x: auto; }
table.heat td { text-align: center; }
caption { font-size: 0.9em; text-align: left; padding-bottom: 0.2em; }
pre { background: #f7f7f7; padding: 0.5em; font-size: 0.75em; overflow-x: auto; }
svg.chart { max-width: 100%; height: auto; font-family: system-ui, sans-serif; }
svg.chart text { font-size: 11px; fill: #222; }
svg.chart text.legend { font-size: 9px; }
svg.chart text.title { font-size: 12px; }
svg.chart .frame { fill: none; stroke: #444; }
svg.chart .grid { stroke: #e8e8e8; }
svg.chart .axis { stroke: #444; }
svg.chart .boundary { stroke: #888; stroke-dasharray: 4 3; }
svg.chart .key { fill: #fff; fill-opacity: 0.85; stroke: #ccc; }
"""
NO_PLOTS = (
    "The bar chart needs matplotlib: pip install 'continual[report]' and run `continual report`."
)


def render_table(table: Table, level: int = 2) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (
        f"<h{level}>{html.escape(table.title)}</h{level}>"
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
        f"</table></div>{note}"
    )


def heat_table(group: list[Result], kind: str, name: str | None = None) -> str:
    """The mean ± CI matrix of one strategy (``name``: its group's name in the report) as a table
    whose cells are shaded by the mean (0 → white, 100 % → full colour: green for accuracy, red
    for forgetting)."""
    cells = matrix_estimates(group, kind)
    table = tables.matrix(group, kind, name, cells)
    means = [[None if c is None else c.mean for c in row] for row in cells]
    hue = {"accuracy": 130, "probe": 210}.get(kind, 0)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    rows = []
    for (label, *cells), values in zip(table.rows, means):
        tds = []
        for text, value in zip(cells, values):
            style = ""
            if value is not None and math.isfinite(value):
                share = min(max(value, 0.0), 1.0)
                light = 97 - 62 * share  # lightness 97 % (white-ish) → 35 %
                ink = "#fff" if light < 55 else "#222"
                style = f' style="background: hsl({hue} 60% {light:.0f}%); color: {ink}"'
            tds.append(f"<td{style}>{html.escape(text)}</td>")
        rows.append(f"<tr><td>{html.escape(label)}</td>{''.join(tds)}</tr>")
    return (
        f'<div class="scroll"><table class="heat"><caption>{html.escape(table.title)} (%, mean '
        f"± 95 % CI over seeds)</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def image(data: bytes, alt: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'


def plotter() -> Callable[..., str] | None:
    """A function drawing a named figure as an <img>, or None without matplotlib."""
    try:
        from continual.report import plots
    except ImportError:
        return None

    def draw(kind: str, *args: object, alt: str) -> str:
        return image(getattr(plots, kind)(*args), alt)

    return draw


def render(results: list[Result], reference: str | None = None) -> str:
    draw = plotter()
    parts = [f"<h1>Forgetting report</h1><p>{html.escape(markdown.headline(results))}</p>"]
    if draw is None:
        parts.append(f'<p class="note">{html.escape(NO_PLOTS)}</p>')
    for table in markdown.sections(results, reference):
        parts.append(render_table(table))
        if table.title == "Summary" and draw is not None:
            parts.append(
                draw("bars", results, alt="final accuracy, learning accuracy, forgetting and FLOPs")
            )
    for name, group in by_strategy(results).items():
        parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append('<div class="figures">')
        parts += [heat_table(group, kind, name) for kind in markdown.matrix_kinds(group)]
        parts.append(svg.anytime(group, name))
        parts.append("</div>")
    parts.append(render_table(tables.provenance(results)))
    parts.append("<h2>Configuration</h2>")
    for name, group in by_strategy(results).items():
        config = {k: group[0][k] for k in ("scenario", "strategy", "environment") if k in group[0]}
        text = html.escape(json.dumps(config, indent=1))
        parts.append(f"<details><summary>{html.escape(name)}</summary><pre>{text}</pre></details>")
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Forgetting report</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )
