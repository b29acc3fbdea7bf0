"""The schema of a result file, checked whenever one is read (``report``, ``compare``, reuse of
finished runs). A result file is data from anywhere, so every field a report reads is checked
for presence and type before any renderer sees it: a missing ``accuracy_matrix``, a seed
``"zero"``, a strategy name that is a list, a ragged or 3-D matrix, a metric that is text, a
number too large for a float. A hand-written validator (no dependency), one function per kind
of value; the error names the field. Pure Python: no torch."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from continual.errors import ContinualError
from continual.limits import MAX_INTEGER, MAX_SEED, MAX_TABLE_DEPTH, MAX_TEXT

STATUSES = ("complete", "diverged")


class SchemaError(ContinualError):
    """A result document whose ``field`` is missing or of the wrong type."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def validate(document: Any) -> dict[str, Any]:
    """``document`` if it has every field a report reads, with the right types; else raise
    :class:`SchemaError` naming the first bad field."""
    record = _table(document, "the document")
    _text(_required(record, "run_id"), "run_id")
    status = record.get("status", "complete")
    if status not in STATUSES:
        raise SchemaError("status", f"expected one of {', '.join(STATUSES)}, got {_show(status)}")
    seed = _required(record, "seed")
    if not _is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise SchemaError("seed", f"expected an integer in [0, {MAX_SEED}], got {_show(seed)}")
    for section in ("strategy", "scenario"):
        table = _table(_required(record, section), section)
        _text(_required(table, "name", section), f"{section}.name")
    columns = _matrix(_required(record, "accuracy_matrix"), "accuracy_matrix", empty=False)
    _curves(_required(record, "curves"), columns)
    for section in ("metrics", "timings", "memory", "cost"):
        if section in record:
            _numbers(record[section], section, text_keys=("energy_assumption",))
    for section in ("metrics", "timings", "memory"):  # flat: a number each (cost nests)
        for key, value in record.get(section, {}).items():
            if isinstance(value, dict):
                raise SchemaError(
                    f"{section}.{key}", f"expected a number or null, got {_show(value)}"
                )
    if "robustness" in record:
        _robustness(record["robustness"])
    if "tags" in record:
        _tags(record["tags"])
    for section in ("stream", "environment", "divergence"):
        if section in record:
            _table(record[section], section)
    if "stream" in record and "name" in record["stream"]:
        _text(record["stream"]["name"], "stream.name")
    return record


def _required(table: Mapping[str, Any], key: str, within: str = "") -> Any:
    if key not in table:
        raise SchemaError(f"{within}.{key}" if within else key, "missing")
    return table[key]


def _table(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SchemaError(field, f"expected a table, got {_show(value)}")
    return value


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise SchemaError(field, f"expected a non-empty text, got {_show(value)}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any, field: str, optional: bool = True) -> None:
    """A finite int or float that a float holds (or ``None`` where ``optional``)."""
    if value is None and optional:
        return
    if _is_int(value) and abs(value) <= MAX_INTEGER:
        return
    if isinstance(value, float) and math.isfinite(value):
        return
    raise SchemaError(field, f"expected a finite number, got {_show(value)}")


def _accuracy(value: Any, field: str) -> None:
    _number(value, field)
    if value is not None and not 0 <= value <= 1:
        raise SchemaError(field, f"expected an accuracy in [0, 1], got {_show(value)}")


def _list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise SchemaError(field, f"expected a list, got {_show(value)}")
    return value


def _matrix(value: Any, field: str, empty: bool) -> int | None:
    """A rectangular list of rows of accuracies (``None`` where undefined); its column count
    (``None`` for an empty matrix, allowed with ``empty``)."""
    rows = _list(value, field)
    if not rows:
        if empty:
            return None
        raise SchemaError(field, "expected at least one row, got none")
    width = None
    for i, row in enumerate(rows):
        cells = _list(row, f"{field}[{i}]")
        if width is None:
            width = len(cells)
            if width == 0:
                raise SchemaError(f"{field}[{i}]", "expected at least one column, got none")
        elif len(cells) != width:
            raise SchemaError(f"{field}[{i}]", f"expected {width} columns, got {len(cells)}")
        for j, cell in enumerate(cells):
            _accuracy(cell, f"{field}[{i}][{j}]")
    return width


def _curves(value: Any, columns: int | None) -> None:
    curves = _table(value, "curves")
    steps = _list(_required(curves, "step", "curves"), "curves.step")
    for i, step in enumerate(steps):
        _number(step, f"curves.step[{i}]", optional=False)
    width = _matrix(_required(curves, "accuracy", "curves"), "curves.accuracy", empty=True)
    rows = curves["accuracy"]
    if len(rows) != len(steps):
        raise SchemaError("curves.accuracy", f"expected {len(steps)} rows, got {len(rows)}")
    if width is not None and width != columns:
        raise SchemaError(
            "curves.accuracy", f"expected {columns} columns (the matrix's), got {width}"
        )
    ends = _list(_required(curves, "experience_end_steps", "curves"), "curves.experience_end_steps")
    for i, end in enumerate(ends):
        _number(end, f"curves.experience_end_steps[{i}]", optional=False)


def _numbers(value: Any, field: str, text_keys: tuple[str, ...] = (), depth: int = 0) -> None:
    """A table (of tables, ``MAX_TABLE_DEPTH`` deep at most) of numbers or ``None``; the keys in
    ``text_keys`` may hold text instead."""
    if depth > MAX_TABLE_DEPTH:
        raise SchemaError(field, f"nested more than {MAX_TABLE_DEPTH} deep")
    for key, inner in _table(value, field).items():
        inner_field = f"{field}.{key}"
        if isinstance(inner, dict):
            _numbers(inner, inner_field, text_keys, depth + 1)
        elif key in text_keys:
            if not isinstance(inner, str):
                raise SchemaError(inner_field, f"expected text, got {_show(inner)}")
        else:
            _number(inner, inner_field)


def _robustness(value: Any) -> None:
    for kind, entries in _table(value, "robustness").items():
        for i, entry in enumerate(_list(entries, f"robustness.{kind}")):
            field = f"robustness.{kind}[{i}]"
            entry = _table(entry, field)
            _number(_required(entry, "strength", field), f"{field}.strength", optional=False)
            accuracy = _list(_required(entry, "accuracy", field), f"{field}.accuracy")
            if not accuracy:
                raise SchemaError(f"{field}.accuracy", "expected at least one value, got none")
            for j, cell in enumerate(accuracy):
                _accuracy(cell, f"{field}.accuracy[{j}]")
            gradient = entry.get("gradient", True)
            if not isinstance(gradient, bool):
                raise SchemaError(f"{field}.gradient", f"expected a boolean, got {_show(gradient)}")


def _tags(value: Any) -> None:
    tags = _table(value, "tags")
    for key in ("ablation", "rung"):
        if key in tags:
            _text(tags[key], f"tags.{key}")
    if "baseline" in tags and tags["baseline"] is not None:
        _text(tags["baseline"], "tags.baseline")
    index = tags.get("rung_index", 0)
    if not (_is_int(index) and abs(index) <= MAX_INTEGER):
        raise SchemaError("tags.rung_index", f"expected an integer, got {_show(index)}")


def _show(value: Any) -> str:
    """A short description of a bad value (its type, and the value itself when short)."""
    if value is None:
        return "null"
    kind = {dict: "a table", list: "a list", str: "text", bool: "a boolean"}.get(type(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = repr(value)
        return text if len(text) <= 20 else f"a number of {len(text)} digits"
    if isinstance(value, str) and len(value) <= 20:
        return repr(value)
    return kind or type(value).__name__
