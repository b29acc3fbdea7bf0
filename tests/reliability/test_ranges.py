"""Ranges declared in type annotations: every numeric field of every registry entry is checked
before anything is built, and NaN / inf are refused in every float."""

from __future__ import annotations

import math
import typing

import pytest

from continual import registry
from continual.errors import ConfigError
from continual.ranges import Range
from continual.specs import Training


def _float_fields():
    """(kind, name, field) for every float-typed keyword of every registry entry."""
    found = []
    for kind, table in registry.TABLES.items():
        for name, entry in table.items():
            factory = entry.load()
            target = factory.__init__ if isinstance(factory, type) else factory
            hints = typing.get_type_hints(target)
            for key in registry.options(factory):
                if "float" in str(hints.get(key, "")):
                    found.append((kind, name, key))
    return found


FLOAT_FIELDS = _float_fields()


def test_every_float_field_is_found():
    assert ("component", "sleep", "input_scale") in FLOAT_FIELDS
    assert ("learner", "hebbian", "momentum") in FLOAT_FIELDS
    assert len(FLOAT_FIELDS) > 40


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 3.4e37, -1e16])
@pytest.mark.parametrize(("kind", "name", "key"), FLOAT_FIELDS)
def test_no_float_field_accepts_nan_inf_or_overflowing_values(kind, name, key, bad):
    factory = registry.lookup(kind, name).load()
    value = (
        (bad,)
        if "tuple"
        in str(
            typing.get_type_hints(factory.__init__ if isinstance(factory, type) else factory)[key]
        )
        else bad
    )
    with pytest.raises(ConfigError, match=key):
        registry.check_fields(factory, {key: value})


@pytest.mark.parametrize(
    ("kind", "name", "values", "message"),
    [
        ("component", "sleep", {"dt": -1.0}, r"dt: must be positive \(allowed: in \(0, 1\]\)"),
        ("component", "sleep", {"momentum": 0.5}, "unknown field"),
        ("component", "sleep", {"sigmoid_scale": 0.0}, "must be positive"),
        ("component", "sleep", {"input_scale": -0.25}, "must be positive"),
        ("component", "ewc", {"gamma": 1.5}, r"in \[0, 1\]"),
        ("component", "replay", {"budget": 10**12}, "must be at most 1000000000"),
        ("learner", "hebbian", {"momentum": 1.0}, r"in \[0, 1\)"),
        ("learner", "backprop", {"hidden": [100, 0]}, "hidden: must be at least 1"),
        ("learner", "backprop", {"init_scale": math.nan}, "finite"),
        ("generator", "class-incremental", {"classes_per_experience": 0}, "at least 1"),
        ("generator", "task-free", {"blur": 2.0}, "blur"),
        ("dataset", "synthetic", {"samples": 10**12}, "samples"),
    ],
)
def test_out_of_range_values_are_refused(kind, name, values, message):
    with pytest.raises(ConfigError, match=message):
        registry.check_fields(registry.lookup(kind, name).load(), values)


def test_defaults_of_every_entry_are_within_their_ranges():
    for table in registry.TABLES.values():
        for entry in table.values():
            factory = entry.load()
            defaults = {
                k: p.default
                for k, p in registry.options(factory).items()
                if p.default is not None and p.default is not p.empty
            }
            registry.check_fields(factory, defaults)  # raises if a default is out of range


@pytest.mark.parametrize(
    "values",
    [{"epochs": 2**63 - 1}, {"epochs": 0}, {"steps": 0}, {"eval_every": -1}, {"batch_size": 0}],
)
def test_training_ranges_hold_for_specs_and_python_callers(values):
    with pytest.raises(ConfigError):
        Training(**values)
    with pytest.raises(ConfigError):
        registry.check_fields(Training, values)


def test_range_descriptions():
    assert Range(0, 1).describe() == "in [0, 1]"
    assert Range(0, open_low=True).describe() == "> 0"
    assert Range(0, 1, open_low=True).describe() == "in (0, 1]"
    Range(0, 1).check("x", 1.0)
    with pytest.raises(ConfigError, match=r"x: must be less than 1 \(allowed: in \[0, 1\)\)"):
        Range(0, 1, open_high=True).check("x", 1.0)


def test_every_numeric_field_declares_a_range():
    """New parameters must say their range; this lists any that do not."""
    missing = []
    for kind, table in registry.TABLES.items():
        for name, entry in table.items():
            factory = entry.load()
            target = factory.__init__ if isinstance(factory, type) else factory
            hints = typing.get_type_hints(target, include_extras=True)
            for key in registry.options(factory):
                hint = str(hints.get(key))
                if ("int" in hint or "float" in hint) and "Range" not in hint:
                    missing.append(f"{kind} {name}: {key}")
    assert missing == []
