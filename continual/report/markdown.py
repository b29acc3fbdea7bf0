"""``report.md``: every table of the report in GitHub-flavoured Markdown."""

from __future__ import annotations

from continual.report import ladder, tables
from continual.report.aggregate import Result, by_strategy, probed
from continual.report.tables import Table


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def grid(table: Table) -> str:
    """The table's headers and rows as a Markdown table, without its title and note."""
    lines = ["| " + " | ".join(map(_escape, table.headers)) + " |"]
    lines.append("|" + "|".join("---" for _ in table.headers) + "|")
    lines += ["| " + " | ".join(map(_escape, row)) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"


def render_table(table: Table, level: int = 2) -> str:
    text = f"{'#' * level} {table.title}\n\n{grid(table)}"
    return text + (f"\n{table.note}\n" if table.note else "")


def headline(results: list[Result]) -> str:
    scenarios = sorted({r["scenario"]["name"] for r in results})
    seeds = sorted({int(r["seed"]) for r in results})
    return (
        f"{len(results)} runs: {len(by_strategy(results))} strategies × seeds "
        f"{', '.join(map(str, seeds))} on {', '.join(scenarios)}"
    )


def sections(results: list[Result], reference: str | None = None) -> list[Table]:
    """The tables in report order (those that apply); paired differences against
    ``reference`` (default: :func:`continual.report.aggregate.reference_strategy`'s rule)."""
    found = [
        tables.summary(results),
        tables.paired_differences(results, reference),
        tables.cost(results),
        tables.robustness(results),
        tables.probe(results),
        *map(tables.ablation_ladder, ladder.ladders(results)),
    ]
    return [t for t in found if t is not None]


def matrix_kinds(group: list[Result]) -> tuple[str, ...]:
    """The matrices a strategy's section shows: accuracy, forgetting, and the representation
    probe's when its runs have one."""
    return ("accuracy", "forgetting", "probe") if probed(group) else ("accuracy", "forgetting")


def render(results: list[Result], reference: str | None = None) -> str:
    parts = ["# Forgetting report", "", headline(results), ""]
    parts += [render_table(t) for t in sections(results, reference)]
    parts.append("## Matrices (mean ± 95 % CI over seeds, %)\n")
    for name, group in by_strategy(results).items():
        for kind in matrix_kinds(group):
            parts.append(render_table(tables.matrix(group, kind, name), level=3))
    parts.append(render_table(tables.provenance(results)))
    return "\n".join(parts)
