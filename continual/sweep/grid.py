"""A sweep grid: a TOML file (data only) that expands into cells.

    description = "learning rates of two strategies on two seeds"
    scenarios = ["split-digits"]             # presets or paths (relative to this file)
    strategies = ["finetune", "ewc", "ff+replay"]
    seeds = [0, 1]

    [parameters]                             # every combination becomes its own cell
    "learner.lr" = [1e-3, 1e-2]
    "ewc.strength" = [100.0, 1e4]            # a component by name
    "generator.experiences" = [5]            # scenario fields: dataset.*, generator.*

A parameter is ``SECTION.FIELD``: ``learner``, ``training``, a component's name, ``dataset`` or
``generator``. It multiplies the cells of every strategy (or scenario) that has the section and
leaves the others alone. Cells are ordered scenario, strategy, parameters, seed; each cell's id is
the run id (a hash of its resolved config and seed), so it is the same on every machine.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from continual import registry, specs
from continual.cell import Cell
from continual.errors import ConfigError, did_you_mean
from continual.limits import MAX_SEED, MAX_SEEDS, check_cells
from continual.specs import Section, SpecError, Training

TOP = ("description", "scenarios", "strategies", "seeds", "parameters")
SCENARIO_SECTIONS = ("dataset", "generator")


@dataclass(frozen=True)
class Grid:
    description: str
    scenarios: tuple[specs.ScenarioSpec, ...]
    strategies: tuple[specs.StrategySpec, ...]
    seeds: tuple[int, ...]
    parameters: dict[str, list[Any]]

    def count(self) -> int:
        """How many cells :meth:`cells` makes, counted without making them."""
        scenario_keys = [k for k in self.parameters if _section_of(k) in SCENARIO_SECTIONS]
        strategy_keys = [k for k in self.parameters if k not in scenario_keys]

        def variants(items, keys: list[str]) -> int:
            return sum(
                math.prod(len(self.parameters[k]) for k in keys if _has_section(s, _section_of(k)))
                for s in items
            )

        scenarios = variants(self.scenarios, scenario_keys)
        return scenarios * variants(self.strategies, strategy_keys) * len(self.seeds)

    def cells(self) -> list[Cell]:
        """Every scenario × strategy × parameter combination × seed."""
        scenario_keys = [k for k in self.parameters if _section_of(k) in SCENARIO_SECTIONS]
        strategy_keys = [k for k in self.parameters if k not in scenario_keys]
        plan = []
        for scenario, scenario_values in _variants(self.scenarios, self, scenario_keys):
            for strategy, strategy_values in _variants(self.strategies, self, strategy_keys):
                tags = {"parameters": {**scenario_values, **strategy_values}}
                plan += [Cell(scenario, strategy, seed, tags) for seed in self.seeds]
        return plan


def _section_of(key: str) -> str:
    return key.split(".", 1)[0]


def _variants(items, grid: Grid, keys: list[str]):
    """Each spec with every combination of the parameters that apply to it (by name order)."""
    for spec in items:
        applicable = [k for k in keys if _has_section(spec, _section_of(k))]
        for values in itertools.product(*(grid.parameters[k] for k in applicable)):
            chosen = dict(zip(applicable, values))
            yield _apply(spec, chosen), chosen


def _has_section(spec: Any, section: str) -> bool:
    if isinstance(spec, specs.ScenarioSpec):
        return section in SCENARIO_SECTIONS
    if section in ("learner", "training"):
        return True
    return any(c.name == section for c in spec.components)


def _apply(spec: Any, chosen: dict[str, Any]) -> Any:
    """``spec`` with the chosen values set and its name saying so (so results never collide)."""
    for key, value in chosen.items():
        section, field_name = key.split(".", 1)
        spec = _set(spec, section, field_name, value, key)
    if chosen:
        label = ",".join(f"{k}={v}" for k, v in chosen.items())
        spec = replace(spec, name=f"{spec.name}({label})")
    return spec


def _set(spec: Any, section: str, field_name: str, value: Any, key: str) -> Any:
    origin = f"sweep parameter {key!r}"
    if section == "training":
        values = {f.name: getattr(spec.training, f.name) for f in fields(Training)}
        try:
            training = Training(**registry.check_known(Training, {**values, field_name: value}))
        except ConfigError as error:
            raise SpecError(f"{origin}: {error}") from None
        return replace(spec, training=training)
    if section in ("learner", *SCENARIO_SECTIONS):
        current = getattr(spec, section)
        kind = {"learner": "learner", "dataset": "dataset", "generator": "generator"}[section]
        return replace(spec, **{section: _checked(kind, current, field_name, value, origin)})
    components = tuple(
        _checked("component", c, field_name, value, origin) if c.name == section else c
        for c in spec.components
    )
    return replace(spec, components=components)


def _checked(kind: str, section: Section, field_name: str, value: Any, origin: str) -> Section:
    updated = Section({**section.values, field_name: value}, origin, "", section.header)
    try:
        registry.check_fields(registry.lookup(kind, updated.name).load(), updated.options())
    except ConfigError as error:
        raise SpecError(f"{origin}: {error}") from None
    return updated


def load_grid(path: str | Path) -> Grid:
    """Read and validate a grid file; every problem is a :class:`SpecError` naming the field."""
    path = Path(path)
    try:  # size, encoding and nesting checked before the TOML parser sees it
        table = specs.tomllib.loads(specs.decode(path))
    except specs.tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path}: malformed TOML: {error}") from None
    for key in table:
        if key not in TOP:
            raise SpecError(f"{path}: unknown field {key!r}{did_you_mean(key, TOP)}")
    scenarios = tuple(specs.load_scenario(_ref(r, path)) for r in _names(table, "scenarios", path))
    strategies = tuple(
        specs.load_strategy(_ref(r, path)) for r in _names(table, "strategies", path)
    )
    seeds = table.get("seeds", [0])
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
        or not all(0 <= s <= MAX_SEED for s in seeds)
    ):
        raise SpecError(f"{path}: seeds must be a non-empty list of integers in [0, {MAX_SEED}]")
    if len(seeds) > MAX_SEEDS:
        raise SpecError(f"{path}: {len(seeds):,} seeds, more than {MAX_SEEDS:,}")
    if len(set(seeds)) != len(seeds):
        raise SpecError(f"{path}: seeds repeat a value")
    parameters = _parameters(table.get("parameters", {}), path, scenarios, strategies)
    grid = Grid(str(table.get("description", "")), scenarios, strategies, tuple(seeds), parameters)
    check_cells(grid.count(), f"the grid {path}")  # before expanding: 10^6 cells is refused at once
    _unique_names(grid.cells(), path)
    return grid


def _names(table: dict[str, Any], key: str, path: Path) -> list[str]:
    names = table.get(key)
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise SpecError(f"{path}: {key} must be a non-empty list of names or paths")
    if len(set(names)) != len(names):
        raise SpecError(f"{path}: {key} lists a name twice")
    return names


def _ref(ref: str, grid_path: Path) -> str:
    """A path in a grid is relative to the grid file; a preset name stays a name."""
    beside = grid_path.parent / ref
    return str(beside) if ref.endswith(".toml") and not Path(ref).is_absolute() else ref


def _parameters(raw: Any, path: Path, scenarios, strategies) -> dict[str, list[Any]]:
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: [parameters] must be a table of SECTION.FIELD = [values]")
    known = set(SCENARIO_SECTIONS) | {"learner", "training"}
    known |= {c.name for s in strategies for c in s.components}
    parameters = {}
    for key, values in raw.items():
        section, dot, field_name = key.partition(".")
        if not dot or not field_name:
            raise SpecError(f"{path}: parameter {key!r} must be SECTION.FIELD, e.g. 'learner.lr'")
        if section not in known:
            raise SpecError(
                f"{path}: parameter {key!r}: no strategy or scenario has a section "
                f"{section!r}{did_you_mean(section, known)}"
            )
        if not isinstance(values, list) or not values:
            raise SpecError(f"{path}: parameter {key!r} must be a non-empty list of values")
        parameters[key] = values
    return parameters


def _unique_names(plan: list[Cell], path: Path) -> None:
    seen: dict[tuple[str, str, int], Cell] = {}
    for cell in plan:
        key = (cell.scenario.name, cell.strategy.name, cell.seed)
        if key in seen:
            raise SpecError(
                f"{path}: two cells would share the name {key[1]!r} on {key[0]!r} "
                f"(seed {key[2]}); give the strategies distinct names"
            )
        seen[key] = cell
