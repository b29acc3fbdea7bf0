"""Names that specs may use, mapped to the callables that build them.

The tables are written out by hand (no folder scanning, no import-time side effects) and point at
``module:attribute`` strings that are imported only when an entry is used, so ``continual list``
never imports torch. A spec section ``{name = "...", key = value}`` is checked against the keyword-
only parameters of the callable's signature: unknown keys get the closest valid key suggested,
values are checked against the type hints and the ranges declared in them
(``Annotated[float, Range(0, 1)]``, see :mod:`continual.ranges`); every float must be finite.
Every entry's callable is :func:`~continual.ranges.checked`, so it checks its own options when
it is built, from a spec or from Python; :func:`check_fields` checks a spec's values before.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from continual.errors import ConfigError, did_you_mean
from continual.ranges import coerce


@dataclass(frozen=True)
class Entry:
    """One named thing a spec can ask for."""

    target: str  # "module:attribute"
    summary: str
    preset: str | None = None  # for learners: the strategy preset whose training settings it uses
    # for learners: (field, value) of the batch-local option (the labels trick: only the classes
    # present in the batch compete), which ablation ladders add as a rung of its own
    batch_option: tuple[str, Any] | None = None
    # for learners with features of their own (hidden layers): an ablation ladder adds the
    # untrained-feature control, the strategy with [readout] features = "untrained" (the same
    # layers at initialisation, the same readout, the same options and components)
    untrained_control: bool = False

    def load(self) -> Callable[..., Any]:
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)


DATASETS: dict[str, Entry] = {
    "digits": Entry(
        "continual.scenarios.sources:digits",
        "scikit-learn's 8x8 handwritten digits (embedded, 1797 images, 10 classes)",
    ),
    "synthetic": Entry(
        "continual.scenarios.sources:synthetic",
        "Gaussian clusters from scikit-learn's make_classification (for fast tests)",
    ),
    "npz": Entry(
        "continual.scenarios.files:npz", "your own .npz: x_train, y_train, x_test, y_test"
    ),
    "mnist": Entry("continual.scenarios.files:mnist", "MNIST, 28x28 digits (files in --data-dir)"),
    "fashion-mnist": Entry(
        "continual.scenarios.files:fashion_mnist", "Fashion-MNIST (files in --data-dir)"
    ),
    "kmnist": Entry("continual.scenarios.files:kmnist", "Kuzushiji-MNIST (files in --data-dir)"),
    "cifar10": Entry("continual.scenarios.files:cifar10", "CIFAR-10, 32x32 colour (--data-dir)"),
    "cifar100": Entry("continual.scenarios.files:cifar100", "CIFAR-100, 100 classes (--data-dir)"),
}

GENERATORS: dict[str, Entry] = {
    "class-incremental": Entry(
        "continual.scenarios.split:class_incremental",
        "disjoint groups of classes per experience; no task labels at train or test time",
    ),
    "task-incremental": Entry(
        "continual.scenarios.split:task_incremental",
        "disjoint groups of classes per experience; the task label is given",
    ),
    "permuted": Entry(
        "continual.scenarios.domain:permuted",
        "domain-incremental: a fixed random pixel permutation per experience",
    ),
    "rotated": Entry(
        "continual.scenarios.domain:rotated", "domain-incremental: a fixed rotation per experience"
    ),
    "task-free": Entry(
        "continual.scenarios.task_free:task_free",
        "online stream drifting between class groups with blurry boundaries, seen once",
    ),
}

LEARNERS: dict[str, Entry] = {
    "backprop": Entry(
        "continual.learners.backprop:Backprop",
        "MLP trained by backpropagation",
        "finetune",
        batch_option=("loss_classes", "batch"),
        untrained_control=True,
    ),
    "ff": Entry(
        "continual.learners.forward_forward:ForwardForward",
        "Forward-Forward: layer-local goodness, label in the input (Hinton 2022)",
        "ff",
        batch_option=("negatives", "batch"),
        untrained_control=True,
    ),
    "pc": Entry(
        "continual.learners.predictive_coding:PredictiveCoding",
        "predictive coding: relaxed value nodes, local error x activity updates",
        "pc",
        batch_option=("output_clamp", "batch"),
        untrained_control=True,
    ),
    "hebbian": Entry(
        "continual.learners.hebbian:Hebbian",
        "SoftHebb feature layer + delta-rule readout, no backprop (Journe et al. 2023)",
        "hebbian",
        batch_option=("readout_competition", "batch"),
        untrained_control=True,
    ),
    "softhebb-conv": Entry(
        "continual.learners.softhebb_conv:SoftHebbConv",
        "convolutional SoftHebb layer, pooled, + delta-rule readout, no backprop (Journe 2023)",
        "softhebb-conv",
        untrained_control=True,
    ),
    "random-features": Entry(
        "continual.learners.random_features:RandomFeatures",
        "fixed random ReLU layers (none: raw inputs) + delta-rule readout; for [readout] baselines",
    ),
    "generative-classifier": Entry(
        "continual.learners.generative_classifier:GenerativeClassifier",
        "one VAE per class, likelihood by importance sampling (van de Ven et al. 2021)",
        "generative-classifier",
    ),
}

COMPONENTS: dict[str, Entry] = {
    "consolidation": Entry(
        "continual.consolidation.hebbian:HebbianConsolidation",
        "Hebbian consolidation: importance = mean |pre*post|, pull to old weights (local MAS)",
    ),
    "ewc": Entry(
        "continual.consolidation.ewc:EWC", "online EWC: Fisher-weighted pull (Kirkpatrick 2017)"
    ),
    "si": Entry(
        "continual.consolidation.si:SynapticIntelligence",
        "Synaptic Intelligence: path-integral importance (Zenke et al. 2017)",
    ),
    "lwf": Entry(
        "continual.consolidation.lwf:LwF",
        "Learning without Forgetting: distillation (backprop only)",
    ),
    "critical-period": Entry(
        "continual.consolidation.critical_period:CriticalPeriod",
        "features learn during the first experience(s) only, then stay fixed (Hensch 2005)",
    ),
    "replay": Entry(
        "continual.replay.experience_replay:Replay", "experience replay from a fixed-budget buffer"
    ),
    "sleep": Entry(
        "continual.sleep.spiking:SpikingSleep",
        "spiking sleep with STDP after each experience (SRC, Tadros et al. 2022)",
    ),
    "replay-sleep": Entry(
        "continual.sleep.replay_sleep:ReplaySleep",
        "offline phase on stored or generated samples (FF: negative phase offline)",
    ),
    "generative-replay": Entry(
        "continual.replay.generative:GenerativeReplay",
        "deep generative replay: VAE samples labelled by the previous model (Shin et al. 2017)",
    ),
}

# A strategy's [readout] name; "trained" (no entry) keeps the learner's own trained readout.
READOUTS: dict[str, Entry] = {
    "ncm": Entry(
        "continual.readouts.class_means:NearestClassMean",
        "nearest class mean of the features (Mensink et al. 2013; iCaRL's classifier)",
    ),
    "slda": Entry(
        "continual.readouts.slda:StreamingLDA",
        "streaming LDA: class means + shared shrunk covariance (Hayes & Kanan 2020)",
    ),
    "hebbian": Entry(
        "continual.readouts.hebbian:HebbianReadout",
        "SLDA by local rules: Hebbian means/covariance, lateral-inhibition settling (Foldiak 1990)",
    ),
}

TABLES: dict[str, dict[str, Entry]] = {
    "dataset": DATASETS,
    "generator": GENERATORS,
    "learner": LEARNERS,
    "component": COMPONENTS,
    "readout": READOUTS,
}


def lookup(kind: str, name: str) -> Entry:
    """The entry called ``name`` in table ``kind``, or an error that suggests the closest names."""
    table = TABLES[kind]
    if name not in table:
        raise ConfigError(f"unknown {kind} {name!r}{did_you_mean(name, table)}", field="name")
    return table[name]


def options(factory: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """The keyword-only parameters of ``factory``: the fields a spec may set."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    return {
        p.name: p
        for p in inspect.signature(target).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def check_known(factory: Callable[..., Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` as a dict, once every key is one of ``factory``'s keyword-only parameters."""
    params = options(factory)
    for key in values:
        if key not in params:
            raise ConfigError(f"unknown field {key!r}{did_you_mean(key, params)}", field=key)
    return dict(values)


def check_fields(factory: Callable[..., Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``values`` against ``factory``'s keyword-only parameters and their type hints
    without building anything (a spec is checked before anything trains); the values coerced
    as :func:`~continual.ranges.checked` passes them on."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    hints = _hints(target)
    return {
        key: coerce(key, value, hints[key]) if key in hints else value
        for key, value in check_known(factory, values).items()
    }


@functools.cache
def _hints(target: Callable[..., Any]) -> dict[str, Any]:
    """``target``'s resolved type hints, once per function: resolving them evaluates every
    annotation's text, a quarter of building a small learner when done on every build."""
    return typing.get_type_hints(target, include_extras=True)


def build(kind: str, section: Mapping[str, Any], *context: Any) -> Any:
    """Build the entry named by ``section['name']`` with the section's other keys as keywords
    (the entry checks their types and ranges itself, see :func:`~continual.ranges.checked`)."""
    values = dict(section)
    name = values.pop("name", None)
    if not isinstance(name, str):
        raise ConfigError(f"the {kind} needs a 'name' (a string)", field="name")
    factory = lookup(kind, name).load()
    kwargs = check_known(factory, values)
    try:
        return factory(*context, **kwargs)
    except ConfigError:
        raise
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{kind} {name!r}: {error}") from error
