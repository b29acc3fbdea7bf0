"""Result files: one JSON document per run, carrying everything a report needs (config, seed,
versions, accuracy matrix, metrics, curves, timings), written atomically.

A result's name ends in the run id (a hash of the resolved configuration and seed), so two
different configurations never share a file even when their names look alike
(``alt/finetune.toml`` and the ``finetune`` preset, ``s_ü`` and ``s_é``). Files honour the umask.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from continual.errors import ConfigError, ContinualError
from continual.limits import MAX_RESULT_BYTES, MAX_RESULT_DEPTH
from continual.safe_io import nesting, read_regular
from continual.schema import SchemaError, validate

SCHEMA_VERSION = 1
ID_LENGTH = 8  # hex digits of the run id in a file name
STALE_SECONDS = 600  # a temporary file this old belongs to a killed write


def result_path(out_dir: Path, scenario: str, strategy: str, seed: int, run_id: str) -> Path:
    """``SCENARIO__STRATEGY__seedN__RUNID.json`` in ``out_dir``."""
    name = f"{safe_name(scenario)}__{safe_name(strategy)}__seed{seed}__{run_id[:ID_LENGTH]}.json"
    return out_dir / name


def safe_name(name: str) -> str:
    """``name`` as one file name: letters, digits and ``_.+-`` kept, the rest ``_``; never
    ``.`` or ``..``."""
    safe = re.sub(r"[^A-Za-z0-9_.+\-]", "_", name)
    return "_" * len(safe) if set(safe) <= {"."} else safe


def write_atomic(path: Path, write: Callable[[IO[Any]], object], binary: bool = False) -> Path:
    """Create ``path`` through ``write(stream)`` on a temporary file in the same folder, synced
    and then renamed over ``path``, so a reader sees the old file or the whole new one, never
    half of it. The file honours the umask (``mkstemp`` alone would make it 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.{_writer()}."  # whose it is: see clean_stale
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    try:
        os.fchmod(handle, 0o666 & ~_umask())
        mode = {"mode": "wb"} if binary else {"mode": "w", "encoding": "utf-8"}
        with os.fdopen(handle, **mode) as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: Path, document: dict[str, Any]) -> Path:
    """Write ``document`` to ``path`` so that a reader never sees a half-written file."""

    def dump(stream: IO[str]) -> None:
        json.dump(finite(document), stream, indent=1, allow_nan=False)
        stream.write("\n")

    return write_atomic(path, dump)


def finite(value: Any) -> Any:
    """``value`` with NaN and ±inf floats replaced by None (JSON has no such numbers; a
    diverged run's statistics may hold them)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def read_result(path: Path) -> dict[str, Any]:
    """Load a result file: a regular file of at most ``MAX_RESULT_BYTES``, JSON nested at most
    ``MAX_RESULT_DEPTH`` deep, of this schema version, with every field a report reads
    (:func:`continual.schema.validate`); anything else is a :class:`ContinualError` naming the
    file (and the field)."""
    data = read_regular(path, MAX_RESULT_BYTES, "result file")
    try:
        text = data.decode("utf-8")
        if nesting(text) > MAX_RESULT_DEPTH:
            raise ValueError(f"brackets nested more than {MAX_RESULT_DEPTH} deep")
        document = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:  # ValueError: 5000 digits
        raise ContinualError(f"{path}: not a readable result file ({error})") from None
    if not isinstance(document, dict) or document.get("schema_version") != SCHEMA_VERSION:
        version = document.get("schema_version") if isinstance(document, dict) else None
        shown = repr(version)[:40]
        raise ContinualError(f"{path}: schema version {shown}, expected {SCHEMA_VERSION}")
    try:
        return validate(document)
    except SchemaError as error:
        raise ContinualError(f"{path}: {error}") from None


def finished(path: Path, run_id: str) -> dict[str, Any] | None:
    """The complete result of run ``run_id`` at ``path``, or None when it must (re)run: no
    file, a partial (diverged) result, another run's file or an unreadable one."""
    if path.is_dir():
        raise ContinualError(f"{path}: a folder has the name of this run's result; move it")
    if not path.is_file():
        return None
    try:
        document = read_result(path)
    except ContinualError:
        return None
    complete = document.get("status", "complete") == "complete"
    return document if complete and document.get("run_id") == run_id else None


def probe_writable(folder: Path) -> None:
    """Create ``folder`` if needed and write and remove a probe file in it; an ``OSError``
    says it cannot take files (read-only, full, not a folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, probe = tempfile.mkstemp(dir=folder, prefix=".probe.", suffix=".tmp")
    os.close(handle)
    os.unlink(probe)


def prepare_out(out: Path, keep: bool = True) -> None:
    """Make sure results can be written into ``out`` by creating it and a probe file, then
    removing the probe (and, unless ``keep``, the folders it had to create); remove temporary
    files that killed writes left behind."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"out {out}: exists and is not a folder", field="out")
    created = [p for p in [out, *out.parents] if not p.exists()]  # deepest first
    try:
        probe_writable(out)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(
            f"out {out}: cannot write result files there ({reason})", field="out"
        ) from None
    finally:
        if not keep:
            for folder in created:
                if folder.is_dir():
                    folder.rmdir()
    if out.is_dir():
        clean_stale(out)


def _writer() -> str:
    """``HOST-PID`` of this process, as it appears in its temporary files' names."""
    host = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:32] or "host"
    return f"{host}-{os.getpid()}"


def _dead_writer(temporary: Path) -> bool:
    """Whether the temporary file ``.NAME.HOST-PID.XXXX.tmp`` was written by a process of this
    machine that no longer exists (killed with SIGKILL mid-write)."""
    parts = temporary.name.rsplit(".", 3)
    if len(parts) != 4 or "-" not in parts[1]:
        return False  # an older name without its writer
    host, _, pid = parts[1].rpartition("-")
    if host != _writer().rpartition("-")[0] or not pid.isdigit():
        return False  # another machine's (a shared folder): only its age tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, ValueError):
        return False
    return False


def clean_stale(out: Path, age: float = STALE_SECONDS) -> list[Path]:
    """Remove the temporary files of atomic writes (results, and checkpoints in
    ``out/checkpoints``) that were killed: those whose writer process is gone (the name says
    which, ``.NAME.HOST-PID.XXXX.tmp``) or, for another machine's, older than ``age`` seconds
    (a live write takes milliseconds); return what was removed."""
    now, removed = time.time(), []
    candidates = [*out.glob(".*.json.*.tmp"), *out.glob("checkpoints/.*.tmp")]
    for temporary in candidates:
        try:
            if _dead_writer(temporary) or now - temporary.stat().st_mtime > age:
                temporary.unlink()
                removed.append(temporary)
        except OSError:
            continue  # another process removed or finished it
    return removed
