"""Errors meant for people.

The CLI prints a :class:`ContinualError`'s message and exits non-zero without a traceback. Any
other exception is a bug in the library and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ContinualError(Exception):
    """A problem the user can fix: bad spec, unknown name, missing data, malformed input."""


class ConfigError(ContinualError):
    """A bad value for a named field. ``field`` lets the spec loader point at the file and line."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class Diverged(ContinualError):
    """Training produced NaN or infinite values. ``experience`` and ``step`` say where. The
    training loop raises it; the runner catches it and returns the partial result with
    ``"status": "diverged"``."""

    def __init__(self, message: str, experience: int, step: int):
        super().__init__(message)
        self.experience, self.step = experience, step


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A ' (did you mean ...?)' hint with the closest valid names, or a list of all of them."""
    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    if close:
        return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"
    return "; valid names: " + ", ".join(choices) if choices else ""


def require(condition: bool, field: str, message: str) -> None:
    """Raise a :class:`ConfigError` about ``field`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(f"{field}: {message}", field=field)
