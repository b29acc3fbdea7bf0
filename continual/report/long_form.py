"""``metrics.csv``: every number of every run in long form, one value per line, columns
``run, strategy, seed, train_exp, eval_exp, metric, value`` (pandas: ``pd.read_csv``).

- ``accuracy``: the matrix cell R[train_exp, eval_exp], with train_exp = 0 before training and
  i = 1..T after experience i − 1 (the JSON's row index);
- ``forgetting``: the same cells of the forgetting matrix (where defined);
- ``probe``: the cells of the representation probe matrix P (runs with ``[evaluation] probe``;
  row 0 the probe on the untrained features);
- the run's metrics (``average_accuracy`` ...), cost (``cost.flops.train`` ...), timings
  (``timings.total`` ...) and memory with empty train_exp and eval_exp;
- ``noise@σ`` and ``fgsm@ε``: accuracy on eval_exp after the last experience (train_exp = T).
Undefined values (a metric that needs T ≥ 2) are left empty. Anytime curves stay in the JSON.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from continual.report.aggregate import Result, forgetting_matrix
from continual.report.sanitize import spreadsheet

COLUMNS = ("run", "strategy", "seed", "train_exp", "eval_exp", "metric", "value")
Row = tuple[Any, ...]


def _flat(prefix: str, value: Any) -> Iterator[tuple[str, float | None]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flat(f"{prefix}.{key}", inner)
    elif value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        yield prefix, value


def rows(result: Result) -> Iterator[Row]:
    key = (result["run_id"], result["strategy"]["name"], result["seed"])
    matrix = result["accuracy_matrix"]
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            yield (*key, i, j, "accuracy", value)
    for i, row in enumerate(forgetting_matrix(matrix).tolist()):
        for j, value in enumerate(row):
            if not math.isnan(value):
                yield (*key, i, j, "forgetting", value)
    for i, row in enumerate((result.get("probe") or {}).get("matrix") or []):
        for j, value in enumerate(row):
            yield (*key, i, j, "probe", value)
    for section in ("metrics", "cost", "timings", "memory"):
        for name, value in _flat(section, result.get(section) or {}):
            yield (*key, "", "", name.removeprefix("metrics."), value)
    last = len(matrix) - 1
    for kind, entries in (result.get("robustness") or {}).items():
        for entry in entries:
            for j, value in enumerate(entry["accuracy"]):
                yield (*key, last, j, f"{kind}@{entry['strength']:g}", value)


def render(results: list[Result]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for result in results:
        writer.writerows(("" if v is None else spreadsheet(v) for v in row) for row in rows(result))
    return buffer.getvalue()


def write(results: list[Result], path: Path) -> Path:
    path.write_text(render(results), encoding="utf-8")
    return path
