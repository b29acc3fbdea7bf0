"""Value ranges and types declared once, next to each parameter, in its type annotation::

    @checked
    def __init__(self, *, strength: Annotated[float, Range(0)] = 1.0,
                 decay: Annotated[float, Range(0, 1)] = 1.0): ...

The annotation is the only place a range is written. :func:`checked` enforces it on every call,
whether a spec built the object (:func:`continual.registry.build`) or Python code did, and
:func:`continual.registry.check_fields` checks a spec's values before anything is built, with
the same :func:`coerce`; so no constructor re-checks a range with ``require`` (a ``require``
stays only for a rule between fields, e.g. "lebesgue_p only with the krotov rule"). Every float
is also required to be finite and at most ``MAX_MAGNITUDE`` in size (NaN, ±inf and values like
3e37 that overflow float32 arithmetic are refused everywhere, with or without a range).

This module holds the range *types* and their checking; the numbers they are built from
(``MAX_WIDTH``, ``MAX_SEED``, ...) live with every other bound in :mod:`continual.limits`.
Pure Python: no torch.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import inspect
import math
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from continual.errors import ConfigError, did_you_mean
from continual.limits import (
    MAX_BATCH,
    MAX_CLASSES,
    MAX_COUNT,
    MAX_EPOCHS,
    MAX_EXPERIENCES,
    MAX_MAGNITUDE,
    MAX_SEED,
    MAX_WIDTH,
)


class RangeError(ConfigError):
    """A value of the right type outside its declared range."""


@dataclass(frozen=True)
class Range:
    """``low <= value <= high`` (either bound may be None); ``open_low``/``open_high`` make the
    bound strict; ``note`` says what a special value means. Used as
    ``Annotated[float, Range(...)]``."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    note: str = ""  # what a bound value means, shown when a value is refused ("0: no limit")

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
            allowed = self.describe() + (f"; {self.note}" if self.note else "")
            raise RangeError(
                f"{key}: must be {side} (allowed: {allowed}), got {value!r}", field=key
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
Seed = Annotated[int, Range(0, MAX_SEED)]
Experiences = Annotated[int, Range(1, MAX_EXPERIENCES)]
Label = Annotated[int, Range(0, MAX_CLASSES - 1)]  # a class label
Epochs = Annotated[int, Range(1, MAX_EPOCHS)]
BatchSize = Annotated[int, Range(1, MAX_BATCH)]

Call = TypeVar("Call", bound=Callable[..., Any])


def checked(function: Call) -> Call:
    """Check the keyword-only arguments of every call of ``function`` (a constructor or a
    factory) against their annotations, as a spec's values are: wrong types, values outside
    a :class:`Range`, names outside a ``Literal`` and non-finite floats end in a
    :class:`ConfigError` that names the parameter and what it allows. Values are passed on
    coerced as a spec's are (an int for a float, a list for a tuple). Defaults are not checked
    on each call: the test suite checks them once."""
    keyword_only = [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    hints: dict[str, Any] | None = None  # resolved on the first call, when every name exists

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal hints
        if hints is None:
            resolved = typing.get_type_hints(function, include_extras=True)
            hints = {key: resolved[key] for key in keyword_only if key in resolved}
        for key, value in kwargs.items():
            if key in hints:
                kwargs[key] = coerce(key, value, hints[key])
        return function(*args, **kwargs)

    call.checks_annotations = True  # type: ignore[attr-defined]  # what the tests look for
    return call  # type: ignore[return-value]


def check_dataclass(instance: Any) -> None:
    """Check (and coerce, as :func:`checked` does) every field of a frozen dataclass against its
    annotation; its ``__post_init__`` calls this, so Python callers and specs meet the same
    ranges, checked once."""
    hints = typing.get_type_hints(type(instance), include_extras=True)
    for item in dataclasses.fields(instance):
        if item.name in hints:
            value = coerce(item.name, getattr(instance, item.name), hints[item.name])
            object.__setattr__(instance, item.name, value)


def is_checked(factory: Callable[..., Any]) -> bool:
    """Whether ``factory`` (a class: its ``__init__``) checks its options with :func:`checked`."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    return getattr(target, "checks_annotations", False)


def coerce(key: str, value: Any, hint: Any) -> Any:
    """Return ``value`` if it fits ``hint`` (ints pass for floats, lists for tuples), else raise."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin is Annotated:
        value = coerce(key, value, args[0])
        for extra in hint.__metadata__:
            if isinstance(extra, Range):
                extra.check(key, value)
        return value
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return coerce(key, value, option)
            except RangeError:
                raise  # the type fitted, the value did not: say so
            except ConfigError:
                continue
        raise _type_error(key, value, hint)
    if hint is type(None):
        if value is None:
            return None
        raise _type_error(key, value, hint)
    if origin is Literal:
        if value in args:
            return value
        shown = [str(a) for a in args]
        raise ConfigError(
            f"{key}: {value!r} is not one of {', '.join(map(repr, args))}"
            + (did_you_mean(str(value), shown) if isinstance(value, str) else ""),
            field=key,
        )
    if origin in (list, tuple, collections.abc.Sequence):
        if not isinstance(value, (list, tuple)):
            raise _type_error(key, value, hint)
        item = args[0] if args else Any
        items = [coerce(key, v, item) for v in value]
        return tuple(items) if origin is tuple else items
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, int) and abs(value) > 2**1023:
                raise RangeError(f"{key}: {value} is too large for a float", field=key)
            value = float(value)
            Range().check(key, value)  # NaN and ±inf are never a valid setting
            return value
        raise _type_error(key, value, hint)
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _type_error(key, value, hint)
    if isinstance(hint, type):
        if isinstance(value, hint):
            return value
        raise _type_error(key, value, hint)
    return value


def _type_error(key: str, value: Any, hint: Any) -> ConfigError:
    name = getattr(hint, "__name__", None) or _plain(hint)
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return ConfigError(f"{key}: expected {name}, got {type(value).__name__} {shown}", field=key)


def _plain(hint: Any) -> str:
    """A type hint as a person writes it: ``int | None``, without ``Annotated`` ranges."""
    text = str(hint).replace("typing.", "")
    return re.sub(r"Annotated\[([^,\[\]]+), Range\([^)]*\)\]", r"\1", text)
