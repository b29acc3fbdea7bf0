"""Reading files that may come from anywhere (result files, checkpoints, specs, grids): only a
regular file is opened for reading, and only up to a size limit, so a FIFO does not hang the
command, a link to ``/dev/zero`` does not fill the memory and a link loop is an error rather
than "no file". Pure Python: no torch."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from continual.errors import ContinualError
from continual.limits import human


def regular(path: Path, what: str) -> os.stat_result | None:
    """The status of the regular file at ``path`` (links followed), ``None`` when nothing is
    there; a folder, FIFO, device, socket, link loop or dangling link is refused."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ContinualError(f"{path}: cannot read this {what} ({_reason(error)})") from None
    try:
        status = os.stat(path)
    except OSError as error:  # a dangling link or a loop of links
        raise ContinualError(f"{path}: cannot read this {what} ({_reason(error)})") from None
    if not stat.S_ISREG(status.st_mode):
        raise ContinualError(f"{path}: this {what} is not a regular file ({_kind(status)})")
    return status


def read_regular(path: Path, limit: int, what: str) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them. The file is opened
    without blocking and checked again on the open descriptor, so a FIFO swapped in after the
    check cannot hang the read either."""
    if regular(path, what) is None:
        raise ContinualError(f"{path}: no such {what}")
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise ContinualError(f"{path}: cannot read this {what} ({_reason(error)})") from None
    with os.fdopen(handle, "rb") as stream:
        status = os.fstat(stream.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise ContinualError(f"{path}: this {what} is not a regular file ({_kind(status)})")
        if status.st_size > limit:
            raise ContinualError(
                f"{path}: {human(status.st_size)} is too large for a {what} (limit {human(limit)})"
            )
        try:
            data = stream.read(limit + 1)
        except OSError as error:
            raise ContinualError(f"{path}: cannot read this {what} ({_reason(error)})") from None
    if len(data) > limit:  # grew while being read
        raise ContinualError(f"{path}: too large for a {what} (limit {human(limit)})")
    return data


def nesting(text: str) -> int:
    """An upper bound on the bracket nesting depth of TOML or JSON text (brackets inside
    strings count too): parsers recurse once per level, so a deep file is refused first."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _kind(status: os.stat_result) -> str:
    mode = status.st_mode
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a file"
