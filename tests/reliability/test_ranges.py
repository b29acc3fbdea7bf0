"""Ranges declared in type annotations: every numeric field of every registry entry is checked
before anything is built, and NaN / inf are refused in every float."""

from __future__ import annotations

import ast
import math
import typing
from pathlib import Path
from types import UnionType

import pytest

from continual import ranges, registry
from continual.errors import ConfigError
from continual.ranges import Range, RangeError, is_checked
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


# Each range is written once, in its annotation: the entry enforces it when it is built, from a
# spec or from Python, so no constructor needs a `require` that says it again.
CONTEXT = {  # the positional arguments each kind is built with (never reached: checked first)
    "dataset": (),
    "generator": (None, 0),
    "learner": (8, 3),
    "component": (),
    "readout": (8, 3),
}


def _hints(factory):
    target = factory.__init__ if isinstance(factory, type) else factory
    return typing.get_type_hints(target, include_extras=True)


def _ranges(hint, shape="number"):
    """(range, "number" | "tuple", int | float) of a hint ``Annotated[number, Range(...)]``, also
    inside ``| None`` or a tuple; None when the hint declares no bounded range."""
    union = typing.get_origin(hint) in (typing.Union, UnionType)
    for part in typing.get_args(hint) if union else (hint,):
        if typing.get_origin(part) is tuple:
            return _ranges(typing.get_args(part)[0], "tuple")
        for extra in getattr(part, "__metadata__", ()):
            if isinstance(extra, Range) and (extra.low is not None or extra.high is not None):
                return extra, shape, typing.get_args(part)[0]
    return None


def _outside(found):
    """A value just outside the range (below its low bound where it has one)."""
    bound, shape, number = found
    if bound.low is not None:
        value = bound.low if bound.open_low else bound.low - 1
    else:
        value = bound.high if bound.open_high else bound.high + 1
    return (number(value),) if shape == "tuple" else number(value)


def _ranged_options():
    found = []
    for kind, table in registry.TABLES.items():
        for name, entry in table.items():
            hints = _hints(entry.load())
            for key in registry.options(entry.load()):
                if key in hints and _ranges(hints[key]) is not None:
                    found.append((kind, name, key))
    return found


RANGED = _ranged_options()


def test_every_ranged_option_is_found():
    assert ("component", "sleep", "decay") in RANGED and ("learner", "ff", "hidden") in RANGED
    assert len(RANGED) > 80


def test_every_entry_with_options_checks_them_itself():
    unchecked = [
        f"{kind} {name}"
        for kind, table in registry.TABLES.items()
        for name, entry in table.items()
        if registry.options(entry.load()) and not is_checked(entry.load())
    ]
    assert unchecked == [], "decorate their constructor with continual.ranges.checked"


@pytest.mark.parametrize(("kind", "name", "key"), RANGED)
def test_out_of_range_options_are_refused_alike_from_a_spec_and_from_python(kind, name, key):
    factory = registry.lookup(kind, name).load()
    bad = _outside(_ranges(_hints(factory)[key]))
    with pytest.raises(RangeError, match=f"^{key}: must be ") as from_spec:
        registry.check_fields(factory, {key: bad})
    with pytest.raises(RangeError) as from_python:
        factory(*CONTEXT[kind], **{key: bad})
    assert str(from_python.value) == str(from_spec.value)
    assert from_python.value.field == key


def test_a_learner_built_in_python_is_refused_by_its_annotation():
    from continual.learners.backprop import Backprop
    from continual.learners.forward_forward import ForwardForward

    with pytest.raises(RangeError, match=r"^lr: must be positive \(allowed: > 0\), got 0.0$"):
        Backprop(8, 3, lr=0.0)
    with pytest.raises(RangeError, match=r"^hidden: must be at least 1 .*got 0$"):
        ForwardForward(8, 3, hidden=(4, 0))
    with pytest.raises(ConfigError, match="^loss: 'hinge' is not one of"):
        Backprop(8, 3, loss="hinge")
    assert Backprop(8, 3, hidden=[4], lr=1).net[0].out_features == 4  # coerced as a spec's


def test_a_strategy_built_in_python_meets_the_training_ranges():
    from continual.learners.backprop import Backprop
    from continual.strategy import Strategy

    learner = Backprop(8, 3, hidden=(4,))
    for values in ({"epochs": 0}, {"batch_size": 0}, {"steps": 0}):
        with pytest.raises(RangeError, match=f"^{next(iter(values))}: must be at least 1"):
            Strategy(learner, **values)


def test_a_range_note_says_what_a_special_value_means():
    with pytest.raises(RangeError, match=r"allowed: >= 0; 0: off\), got -1"):
        Range(0, note="0: off").check("every", -1)


def _restated_ranges(source: str) -> list[str]:
    """``require`` calls on one parameter whose annotation declares a range, that compare only
    that parameter (or its items) with constants: the annotation already says them."""
    aliases = {"Range", "Shrinkage", *(n for n in dir(ranges) if n[:1].isupper())}
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        arguments = function.args.args + function.args.kwonlyargs
        ranged = {
            a.arg
            for a in arguments
            if a.annotation is not None
            and aliases & {n.id for n in ast.walk(a.annotation) if isinstance(n, ast.Name)}
        }
        for call in ast.walk(function):
            if not (
                isinstance(call, ast.Call)
                and getattr(call.func, "id", None) == "require"
                and len(call.args) >= 2
                and isinstance(call.args[1], ast.Constant)
            ):
                continue
            condition, field = call.args[0], call.args[1].value
            local = {
                n.id
                for c in ast.walk(condition)
                if isinstance(c, ast.comprehension)
                for n in ast.walk(c.target)
                if isinstance(n, ast.Name)
            }
            names = {n.id for n in ast.walk(condition) if isinstance(n, ast.Name)}
            names -= local | {"all", "any"}
            if field in ranged and names == {field}:
                found.append(f"{function.name}: require(..., {field!r}, ...)")
    return found


def test_no_require_restates_an_annotated_range():
    root = Path(ranges.__file__).parent
    restated = {
        str(path.relative_to(root)): found
        for path in sorted(root.rglob("*.py"))
        if (found := _restated_ranges(path.read_text(encoding="utf-8")))
    }
    assert restated == {}, "the annotation is the one place of a range: delete these"


def test_the_restated_range_finder_finds_one():
    source = (
        "def __init__(self, *, rate: Positive = 1.0, shape: tuple[Width, ...] = ()):\n"
        "    require(rate > 0, 'rate', 'must be positive')\n"
        "    require(len(shape) == 2, 'shape', 'a length is no range')\n"
    )
    assert _restated_ranges(source) == ["__init__: require(..., 'rate', ...)"]


# Every bound is a constant of continual/limits.py, the one module for them.
BOUNDS_ELSEWHERE = {
    "report/svg.py": {"MAX_POINTS"},  # how many points a figure draws: a drawing choice
}


def test_every_bound_is_a_constant_of_limits():
    root = Path(ranges.__file__).parent
    found = {}
    for path in sorted(root.rglob("*.py")):
        name = str(path.relative_to(root))
        if name == "limits.py":
            continue
        assigned = {
            target.id
            for node in ast.parse(path.read_text(encoding="utf-8")).body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name) and target.id.startswith("MAX_")
        }
        if assigned - BOUNDS_ELSEWHERE.get(name, set()):
            found[name] = sorted(assigned)
    assert found == {}, "move these bounds into continual/limits.py"
