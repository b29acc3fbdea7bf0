"""Value ranges declared once, next to each parameter, in its type annotation::

    def __init__(self, *, strength: Annotated[float, Range(0)] = 1.0,
                 decay: Annotated[float, Range(0, 1)] = 1.0): ...

:func:`continual.registry.check_fields` enforces them for every spec value, so a bad value is
refused before anything trains. Every float is also required to be finite and at most
``MAX_MAGNITUDE`` in size (NaN, ±inf and values like 3e37 that overflow float32 arithmetic are
refused everywhere, with or without a range). Pure Python: no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

from continual.errors import ConfigError

# Upper bounds that keep one run's work and memory finite (a run beyond them is a typo).
MAX_WIDTH = 1_000_000  # units in one layer
MAX_COUNT = 1_000_000_000  # steps, samples, budgets
MAX_EPOCHS = 100_000
MAX_EXPERIENCES = 1_000
MAX_MAGNITUDE = 1e15  # any float setting: past this, float32 training arithmetic overflows


class RangeError(ConfigError):
    """A value of the right type outside its declared range."""


@dataclass(frozen=True)
class Range:
    """``low <= value <= high`` (either bound may be None); ``open_low``/``open_high`` make the
    bound strict. Used as ``Annotated[float, Range(...)]``."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False

    def check(self, key: str, value: float) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            raise RangeError(f"{key}: must be a finite number, got {value}", field=key)
        if isinstance(value, float) and abs(value) > MAX_MAGNITUDE:
            raise RangeError(
                f"{key}: must be at most {MAX_MAGNITUDE:g} in magnitude, got {value!r}", field=key
            )
        too_low = self.low is not None and (
            value <= self.low if self.open_low else value < self.low
        )
        too_high = self.high is not None and (
            value >= self.high if self.open_high else value > self.high
        )
        if too_low or too_high:
            side = self._lower() if too_low else self._upper()
            raise RangeError(
                f"{key}: must be {side} (allowed: {self.describe()}), got {value!r}", field=key
            )

    def _lower(self) -> str:
        if self.open_low:
            return "positive" if self.low == 0 else f"greater than {_show(self.low)}"
        return f"at least {_show(self.low)}"

    def _upper(self) -> str:
        return f"{'less than' if self.open_high else 'at most'} {_show(self.high)}"

    def describe(self) -> str:
        low = None if self.low is None else _show(self.low)
        high = None if self.high is None else _show(self.high)
        if low is not None and high is not None:
            left, right = "(" if self.open_low else "[", ")" if self.open_high else "]"
            return f"in {left}{low}, {high}{right}"
        if low is not None:
            return f"{'>' if self.open_low else '>='} {low}"
        if high is not None:
            return f"{'<' if self.open_high else '<='} {high}"
        return "finite"


def _show(bound: float) -> str:
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


# The ranges most parameters need, named for reading convenience.
Positive = Annotated[float, Range(0, open_low=True)]
NonNegative = Annotated[float, Range(0)]
Fraction = Annotated[float, Range(0, 1)]
Finite = Annotated[float, Range()]
Count = Annotated[int, Range(1, MAX_COUNT)]  # at least one, at most a billion
Width = Annotated[int, Range(1, MAX_WIDTH)]
MAX_SEED = 2**32 - 1
Seed = Annotated[int, Range(0, MAX_SEED)]
Experiences = Annotated[int, Range(1, MAX_EXPERIENCES)]
Label = Annotated[int, Range(0, 99_999)]  # a class label (limits.MAX_CLASSES - 1 at most)
