"""Scenario and strategy specs: TOML files (data only) turned into validated configuration.

A spec names registry entries and plain values, never import paths or code. Presets live in the
top-level ``scenarios/`` and ``strategies/`` folders (inside the wheel: ``continual/_presets``);
a path to a user's own TOML works the same way. Every problem ends in a :class:`SpecError` that
names the file, the line and the field.
"""

from __future__ import annotations

import copy
import hashlib
import re
import sys
import typing
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from continual import registry
from continual.errors import ConfigError, ContinualError, did_you_mean
from continual.limits import MAX_COUNT, MAX_SEED, MAX_SPEC_BYTES, MAX_SPEC_DEPTH
from continual.ranges import BatchSize, Count, Epochs, NonNegative, Range, check_dataclass

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

PACKAGE = Path(__file__).resolve().parent
KINDS = ("scenarios", "strategies")
SINGULAR = {"scenarios": "scenario", "strategies": "strategy"}


class SpecError(ContinualError):
    """A problem in a spec file, located by file, line and field."""


def preset_dir(kind: str) -> Path:
    """Where the presets of ``kind`` ('scenarios' or 'strategies') live."""
    bundled = PACKAGE / "_presets" / kind
    return bundled if bundled.is_dir() else PACKAGE.parent / kind


def presets(kind: str) -> dict[str, Path]:
    """Preset name → file, sorted by name."""
    folder = preset_dir(kind)
    return {p.stem: p for p in sorted(folder.glob("*.toml"))} if folder.is_dir() else {}


@dataclass(frozen=True)
class Section:
    """One table of a spec (``[learner]``, a ``[[components]]`` entry, ...) and where it is."""

    values: dict[str, Any]
    origin: str  # file path or "command line"
    text: str  # the file's text, for line numbers
    header: str  # "learner", "components" ...
    occurrence: int = 0  # which [[header]] for arrays of tables

    @property
    def name(self) -> str | None:
        return self.values.get("name")

    def options(self) -> dict[str, Any]:
        return {k: v for k, v in self.values.items() if k != "name"}

    def locate(self, key: str | None) -> str:
        line = _line_of(self.text, self.header, key, self.occurrence)
        where = f"{self.origin}:{line}" if line else self.origin
        field_name = f"[{self.header}]" + (f" {key}" if key else "")
        return f"{where}: {field_name}"

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn a ConfigError raised while using this section into a located SpecError."""
        try:
            yield
        except ConfigError as error:
            raise SpecError(f"{self.locate(error.field)}: {_strip_field(error)}") from None


@dataclass(frozen=True, kw_only=True)
class Training:
    """How a strategy trains: sequentially over the stream or jointly on all of it (the upper
    bound), for ``epochs`` passes (or ``steps`` batches) per experience, and how often anytime
    evaluation runs (``eval_every`` steps; 0 chooses about 10 points per experience, fewer when
    the points' forward passes would exceed a tenth of training's, see
    :func:`continual.runner.anytime_period`) and on how
    many test samples per experience (``anytime_samples``, class-balanced and fixed per seed; 0:
    the full test sets). Matrix rows always use the full test sets."""

    mode: Literal["sequential", "joint"] = "sequential"
    epochs: Epochs = 10
    batch_size: BatchSize = 32
    steps: Count | None = None
    eval_every: Annotated[int, Range(0, MAX_COUNT)] = 0
    anytime_samples: Annotated[int, Range(0, MAX_COUNT)] = 20

    def __post_init__(self) -> None:  # the one check, for specs and Python callers alike
        check_dataclass(self)


@dataclass(frozen=True, kw_only=True)
class Robustness:
    """Accuracy under perturbed test inputs after the last experience: Gaussian noise of each
    standard deviation in ``noise`` and FGSM of each step ``fgsm`` (inputs scaled to [0, 1])."""

    noise: tuple[NonNegative, ...] = ()
    fgsm: tuple[NonNegative, ...] = ()

    def __post_init__(self) -> None:
        check_dataclass(self)


Probe = Literal["slda", "ncm"]  # the representation probe's readout (evaluation/probe.py)


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """What a run measures besides the accuracy matrix (the ``[evaluation]`` table), e.g.
    ``robustness = {noise = [0.1, 0.3], fgsm = [0.05]}`` and ``probe = "slda"`` (a probe
    matrix: a class-statistics readout fitted on the learner's features after each
    experience, Davari et al. 2022)."""

    robustness: Robustness = field(default_factory=Robustness)
    probe: Probe | None = None

    def __post_init__(self) -> None:
        kinds = typing.get_args(Probe)
        if self.probe is not None and self.probe not in kinds:
            shown = ", ".join(map(repr, kinds))
            hint = did_you_mean(str(self.probe), kinds) if isinstance(self.probe, str) else ""
            raise ConfigError(f"probe: {self.probe!r} is not one of {shown}{hint}", field="probe")

    def to_dict(self) -> dict[str, Any]:
        r = self.robustness
        document: dict[str, Any] = {"robustness": {"noise": list(r.noise), "fgsm": list(r.fgsm)}}
        if self.probe is not None:  # absent by default, so earlier run ids still hold
            document["probe"] = self.probe
        return document


EVALUATION_FIELDS = ("robustness", "probe")


def _evaluation(table: Any, origin: str, text: str) -> Evaluation:
    if not isinstance(table, dict):
        raise SpecError(f"{origin}: evaluation must be a table")
    section = Section(table, origin, text, "evaluation")
    with section.errors():
        unknown = [k for k in table if k not in EVALUATION_FIELDS]
        if unknown:
            raise ConfigError(
                f"unknown field {unknown[0]!r}{did_you_mean(unknown[0], EVALUATION_FIELDS)}",
                field=unknown[0],
            )
        robustness = table.get("robustness", {})
        if not isinstance(robustness, dict):
            raise ConfigError("must be a table like {noise = [0.1], fgsm = [0.05]}", "robustness")
        return Evaluation(
            robustness=Robustness(**registry.check_known(Robustness, robustness)),
            probe=table.get("probe"),
        )


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    description: str
    dataset: Section
    generator: Section
    seed: int | None = None


@dataclass(frozen=True)
class StrategySpec:
    name: str
    description: str
    learner: Section
    training: Training
    components: tuple[Section, ...] = field(default=())
    evaluation: Evaluation = field(default_factory=Evaluation)
    readout: Section | None = None  # [readout]; None: the learner's own, features trained

    def to_dict(self) -> dict[str, Any]:
        document = {
            "name": self.name,
            "learner": dict(self.learner.values),
            "components": [dict(c.values) for c in self.components],
            "training": {f.name: getattr(self.training, f.name) for f in fields(self.training)},
        }
        if self.evaluation != Evaluation():  # absent by default, so earlier run ids still hold
            document["evaluation"] = self.evaluation.to_dict()
        if self.readout is not None:  # likewise
            document["readout"] = dict(self.readout.values)
        if _draws_random(self.components):  # their draws changed with this: new run ids
            document["component_seeds"] = COMPONENT_SEEDS
        return document


# How components that draw random numbers are seeded (components.base.component_seed); named in
# the config of strategies that have one, since their results changed when it was introduced
# (before, every run drew from seed 0), so an old result never passes for a new one.
COMPONENT_SEEDS = "sha256(run seed/component name)"


def _draws_random(components: tuple[Section, ...]) -> bool:
    from continual.components.base import overrides

    return any(
        overrides(registry.lookup("component", str(c.name)).load(), "reseed") for c in components
    )


READOUT_FEATURES = ("trained", "untrained")


def readout_parts(values: Mapping[str, Any]) -> tuple[str, bool, dict[str, Any]]:
    """A ``[readout]`` table as (name, whether the features train, the readout's options)."""
    options = {k: v for k, v in values.items() if k not in ("name", "features")}
    return str(values.get("name")), values.get("features", "trained") == "trained", options


def check_readout(section: Section, learner: Section) -> None:
    """``[readout]``: ``name`` is "trained" (the learner's own readout) or a registry readout,
    ``features`` is "trained" (default) or "untrained", the other keys are the readout's options,
    and the learner exposes features when a statistics readout reads them."""
    with section.errors():
        name, _, options = readout_parts(section.values)
        if not isinstance(section.values.get("name"), str):
            choices = ", ".join(["trained", *registry.READOUTS])
            raise ConfigError(f"needs a name, one of: {choices}", "name")
        features = section.values.get("features", "trained")
        if features not in READOUT_FEATURES:
            raise ConfigError(
                f"{features!r} is not one of 'trained', 'untrained'"
                + (did_you_mean(features, READOUT_FEATURES) if isinstance(features, str) else ""),
                "features",
            )
        if name == "trained":
            if options:
                key = next(iter(options))
                raise ConfigError(f"the learner's own readout takes no option {key!r}", key)
            return
        if name not in registry.READOUTS:
            known = ["trained", *registry.READOUTS]
            raise ConfigError(f"unknown readout {name!r}{did_you_mean(name, known)}", "name")
        registry.check_fields(registry.READOUTS[name].load(), options)
    from continual.learners.base import Learner  # torch: only when a statistics readout is used

    factory = registry.lookup("learner", str(learner.name)).load()
    if getattr(factory, "features", None) is Learner.features:
        raise SpecError(
            f"{section.locate('name')}: the {learner.name} learner exposes no features for "
            f"a {name} readout"
        )


def scenario_to_dict(spec: ScenarioSpec) -> dict[str, Any]:
    """The scenario as plain data (part of every result and of its run id). A dataset read from
    the user's file also records that file's absolute path and content hash, so changed data
    never reuses a result computed on the old data."""
    document: dict[str, Any] = {
        "name": spec.name,
        "dataset": dict(spec.dataset.values),
        "generator": dict(spec.generator.values),
        "seed": spec.seed,
    }
    path = spec.dataset.values.get("path")
    if isinstance(path, str) and Path(path).expanduser().is_file():
        document["data_file"] = file_fingerprint(Path(path).expanduser().resolve())
    return document


def file_fingerprint(path: Path) -> dict[str, Any]:
    """Absolute path, size and SHA-256 of a data file (read afresh each time: a cache keyed by
    modification time could miss an edit within the file system's time resolution)."""
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": _sha256(path)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- loading ------------------------------------------------------------------------------------


def _read(kind: str, ref: str) -> tuple[str, str, dict[str, Any]]:
    """(name, origin, parsed table) for a preset name or a path to a TOML file."""
    path = Path(ref)
    if ref.endswith(".toml") or path.exists() or "/" in ref:
        if not path.is_file():
            raise SpecError(f"{ref}: no such file")
        name = path.stem
    else:
        known = presets(kind)
        if ref not in known:
            raise SpecError(f"unknown {SINGULAR[kind]} {ref!r}{did_you_mean(ref, known)}")
        path, name = known[ref], ref
    text = decode(path)
    try:
        return name, str(path), {"__text__": text, **tomllib.loads(text)}
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path}: malformed TOML: {error}") from None
    except RecursionError:
        raise SpecError(f"{path}: nested too deeply to be a spec") from None


def decode(path: Path) -> str:
    """The text of a spec file, refused before parsing when it is too large, not UTF-8 or nested
    too deeply (the TOML parser recurses once per level)."""
    from continual.safe_io import nesting, read_regular

    try:  # a regular file only: a FIFO would hang the read, /dev/zero fill the memory
        data = read_regular(path, MAX_SPEC_BYTES, "spec")
    except ContinualError as error:
        raise SpecError(str(error)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    if nesting(text) > MAX_SPEC_DEPTH:
        raise SpecError(f"{path}: brackets nested more than {MAX_SPEC_DEPTH} deep")
    return text


def _section(table: dict[str, Any], key: str, origin: str, text: str) -> Section:
    value = table.get(key)
    if value is None:
        raise SpecError(f"{origin}: missing table [{key}]")
    if not isinstance(value, dict):
        raise SpecError(f"{origin}:{_line_of(text, None, key) or ''}: {key} must be a table")
    return Section(value, origin, text, key)


def _check_top(table: Mapping[str, Any], allowed: tuple[str, ...], origin: str, text: str) -> None:
    for key in table:
        if key != "__text__" and key not in allowed:
            line = _line_of(text, None, key) or _line_of(text, key, None)
            raise SpecError(
                f"{origin}:{line or ''}: unknown field {key!r}{did_you_mean(key, allowed)}"
            )


def _check_entry(kind: str, section: Section) -> None:
    """The section's name exists in registry table ``kind`` and its fields fit the signature."""
    with section.errors():
        if not isinstance(section.name, str):
            raise ConfigError(f"needs a name, one of: {', '.join(registry.TABLES[kind])}", "name")
        entry = registry.lookup(kind, section.name)
        registry.check_fields(entry.load(), section.options())


def _from_mapping(kind: str, spec: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(name, origin, table) for a spec given as a plain dict (from Python: the table a TOML
    file would hold, plus its ``name``), copied so that later changes to it change nothing."""
    if not isinstance(spec, Mapping):
        raise SpecError(
            f"a {SINGULAR[kind]} is a preset name, a TOML path or a dict, not {type(spec).__name__}"
        )
    table = copy.deepcopy(dict(spec))
    name = table.pop("name", None)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.+\-]{1,100}", name):
        raise SpecError(
            f"a {SINGULAR[kind]} given as a dict needs a 'name' (letters, digits, '_.+-', at "
            f"most 100), got {name!r}"
        )
    return name, f"{SINGULAR[kind]} dict {name!r}", {"__text__": "", **table}


def load_scenario(ref: str | Mapping[str, Any]) -> ScenarioSpec:
    """Load and validate a scenario spec (a preset name, a path, or a dict as a TOML file's
    table with its ``name``)."""
    name, origin, table = (
        _read("scenarios", ref) if isinstance(ref, str) else _from_mapping("scenarios", ref)
    )
    text = table.pop("__text__")
    _check_top(table, ("description", "seed", "dataset", "generator"), origin, text)
    dataset = _section(table, "dataset", origin, text)
    generator = _section(table, "generator", origin, text)
    _check_entry("dataset", dataset)
    _check_entry("generator", generator)
    _check_groups(generator)
    seed = table.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise SpecError(f"{origin}:{_line_of(text, None, 'seed')}: seed must be an integer")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise SpecError(f"{origin}:{_line_of(text, None, 'seed')}: seed must be in [0, {MAX_SEED}]")
    return ScenarioSpec(name, str(table.get("description", "")), dataset, generator, seed)


def load_strategy(ref: str | Mapping[str, Any]) -> StrategySpec:
    """Load and validate a strategy spec: a preset name, a path, ``LEARNER+COMPONENT+...``, or a
    dict as a TOML file's table with its ``name``."""
    if not isinstance(ref, str):
        name, origin, table = _from_mapping("strategies", ref)
    elif "+" in ref and not Path(ref).exists() and ref not in presets("strategies"):
        return compose(ref)
    else:
        name, origin, table = _read("strategies", ref)
    text = table.pop("__text__")
    _check_top(
        table,
        ("description", "learner", "training", "components", "evaluation", "readout"),
        origin,
        text,
    )
    learner = _section(table, "learner", origin, text)
    _check_entry("learner", learner)
    training_table = table.get("training", {})
    if not isinstance(training_table, dict):
        raise SpecError(f"{origin}: training must be a table")
    training_section = Section(training_table, origin, text, "training")
    with training_section.errors():
        training = Training(**registry.check_known(Training, training_table))
    raw_components = table.get("components", [])
    if not isinstance(raw_components, list) or not all(isinstance(c, dict) for c in raw_components):
        raise SpecError(f"{origin}: components must be an array of tables ([[components]])")
    components = tuple(
        Section(c, origin, text, "components", i) for i, c in enumerate(raw_components)
    )
    for component in components:
        _check_entry("component", component)
    _check_unique(components)
    evaluation = _evaluation(table.get("evaluation", {}), origin, text)
    readout = None
    if "readout" in table:
        readout = _section(table, "readout", origin, text)
        check_readout(readout, learner)
    return StrategySpec(
        name, str(table.get("description", "")), learner, training, components, evaluation, readout
    )


def _check_groups(generator: Section) -> None:
    """Explicit ``class_groups`` fix the number of experiences; a different ``experiences``
    would be recorded but not run."""
    groups, count = generator.values.get("class_groups"), generator.values.get("experiences")
    if isinstance(groups, list) and isinstance(count, int) and len(groups) != count:
        raise SpecError(
            f"{generator.locate('experiences')}: {count} experiences but {len(groups)} "
            "class_groups; drop experiences (the groups fix it) or make them agree"
        )


def _check_unique(components: tuple[Section, ...]) -> None:
    """A component appears once: two of the same kind would fight over one learner."""
    seen: set[str] = set()
    for component in components:
        if component.name in seen:
            raise SpecError(
                f"{component.locate('name')}: component {component.name!r} appears twice; "
                "set its options in one entry"
            )
        seen.add(component.name)


def with_overrides(
    spec: ScenarioSpec, dataset: str | None = None, experiences: int | None = None
) -> ScenarioSpec:
    """The scenario with another dataset (a registry name or a ``.npz`` path) and/or another
    number of experiences, as ``continual run --dataset/--experiences`` ask."""
    origin = "scenario override"
    if dataset is not None:
        values = {"name": "npz", "path": dataset} if dataset.endswith(".npz") else {"name": dataset}
        section = Section(values, origin, "", "dataset")
        _check_entry("dataset", section)
        spec = replace(spec, dataset=section, name=f"{spec.name}@{Path(dataset).stem}")
    if experiences is not None:
        if "experiences" not in registry.options(
            registry.lookup("generator", spec.generator.name).load()
        ):
            raise ConfigError(
                f"experiences: the {spec.generator.name} generator has no such option",
                field="experiences",
            )
        generator = Section(
            {**spec.generator.values, "experiences": experiences}, origin, "", "generator"
        )
        if "class_groups" in generator.values:
            raise ConfigError(
                "experiences: this scenario fixes its class_groups explicitly", field="experiences"
            )
        _check_entry("generator", generator)  # its range, as the generator declares it
        spec = replace(spec, generator=generator, name=f"{spec.name}x{experiences}")
    return spec


def compose(ref: str) -> StrategySpec:
    """``LEARNER+COMPONENT+...``: a learner with default-parameter components, trained as the
    learner's own preset trains it."""
    learner_name, *component_names = ref.split("+")
    origin = f"strategy {ref}"
    try:
        entry = registry.lookup("learner", learner_name)
    except ConfigError as error:
        raise SpecError(f"{origin}: {error}") from None
    base = load_strategy(entry.preset) if entry.preset else None
    learner = base.learner if base else Section({"name": learner_name}, origin, "", "learner")
    training = base.training if base else Training()
    components = []
    for i, component in enumerate(component_names):
        section = Section({"name": component}, origin, "", "components", i)
        try:
            registry.lookup("component", component)
        except ConfigError as error:
            raise SpecError(f"{origin}: {error}") from None
        components.append(section)
    _check_unique(tuple(components))
    description = f"{learner_name} with " + (", ".join(component_names) or "no components")
    return StrategySpec(ref, description, learner, training, tuple(components))


def _strip_field(error: ConfigError) -> str:
    message = str(error)
    prefix = f"{error.field}: "
    return message[len(prefix) :] if error.field and message.startswith(prefix) else message


_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?")


def _line_of(text: str, header: str | None, key: str | None, occurrence: int = 0) -> int | None:
    """1-based line of ``key = ...`` inside table ``header`` (its ``occurrence``-th instance for
    arrays of tables), of the header itself when ``key`` is None; None when not found."""
    current: str | None = None
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER.match(line)
        if match:
            current = match.group(1)
            seen[current] = seen.get(current, -1) + 1
            if key is None and current == header and seen[current] == occurrence:
                return number
            continue
        in_place = current == header and (header is None or seen.get(header) == occurrence)
        if key is not None and in_place and re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return number
    return None
