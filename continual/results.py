"""Result files: one JSON document per run, carrying everything a report needs (config, seed,
versions, accuracy matrix, metrics, curves, timings), written atomically."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from continual.errors import ContinualError

SCHEMA_VERSION = 1


def result_path(out_dir: Path, scenario: str, strategy: str, seed: int) -> Path:
    safe = lambda s: re.sub(r"[^A-Za-z0-9_.+\-]", "_", s)  # noqa: E731
    return out_dir / f"{safe(scenario)}__{safe(strategy)}__seed{seed}.json"


def write_json_atomic(path: Path, document: dict[str, Any]) -> Path:
    """Write ``document`` to ``path`` so that a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=1, allow_nan=False)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_result(path: Path) -> dict[str, Any]:
    """Load a result file, checking its schema version."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ContinualError(f"{path}: not a readable result file ({error})") from None
    if document.get("schema_version") != SCHEMA_VERSION:
        raise ContinualError(
            f"{path}: schema version {document.get('schema_version')!r}, expected {SCHEMA_VERSION}"
        )
    return document
