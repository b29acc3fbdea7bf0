"""The component contract: a handful of hooks, each a no-op by default.

A component sees the learner, the batch and the experience through its hooks and nothing of the
training loop's internals, so an Avalanche plugin can call the same hooks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from continual.learners.base import Learner
from continual.scenarios.experience import Experience


@dataclass(frozen=True, eq=False)
class Batch:
    """One training batch: inputs, labels and per-sample task ids (``None`` if hidden)."""

    x: Tensor
    y: Tensor
    task: Tensor | None = None


class Component:
    """Base class of consolidation, replay and sleep components. Override only what you need."""

    name = "component"

    def check(self, learner: Learner) -> None:
        """Raise a ContinualError if this component cannot work with ``learner``."""

    def before_experience(self, learner: Learner, experience: Experience) -> None:
        """Called once before training on ``experience``."""

    def transform_batch(self, learner: Learner, batch: Batch) -> Batch:
        """Return the batch to train on (replay mixes stored samples in here)."""
        return batch

    def loss_term(self, learner: Learner, batch: Batch, outputs: Tensor) -> Tensor | None:
        """A term added to the learner's global loss before its one backward pass, given the
        network's raw outputs for the batch (LwF's distillation). Only learners with a global
        differentiable loss (``Learner.global_loss``) take such terms; a component that has one
        refuses other learners in :meth:`check`."""
        return None

    def adjust_update(self, learner: Learner, batch: Batch) -> None:
        """Transform the update in ``p.grad`` before the optimiser step (consolidation)."""

    def after_batch(self, learner: Learner, batch: Batch) -> None:
        """Called after each optimiser step."""

    def after_experience(self, learner: Learner, experience: Experience) -> None:
        """Called once after training on ``experience`` (importances, buffers, sleep)."""

    def reseed(self, seed: int) -> None:
        """Draw this component's random numbers from ``seed`` from now on. A strategy calls it
        once, when it is built, with :func:`component_seed` of its run seed (and a checkpoint
        restores the generators' states after that). A component that draws random numbers
        keeps them in its own ``torch.Generator`` and overrides this; the others need not."""

    def summary(self) -> dict[str, Any]:
        """Plain numbers for the result file (e.g. sleep steps taken)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


def overrides(component: Component | type[Component], hook: str) -> bool:
    """Whether ``component`` (an instance or a class) implements ``hook`` (the base class's
    hooks are no-ops)."""
    kind = component if isinstance(component, type) else type(component)
    return getattr(kind, hook) is not getattr(Component, hook)


def component_seed(run_seed: int, name: str) -> int:
    """The seed of component ``name``'s random numbers in the run seeded ``run_seed``: the first
    8 bytes of SHA-256 of ``"RUN_SEED/NAME"``, less its top bit (a non-negative 63-bit integer,
    as ``torch.Generator.manual_seed`` takes). The same on every machine and in every process
    (Python's ``hash`` of a string is not), different for each component of one run (a strategy
    holds a component once), and independent of the component's place in the list, so an
    ablation rung that adds a component leaves the others' draws as they were."""
    digest = hashlib.sha256(f"{run_seed}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def seed_components(components: Iterable[Component], run_seed: int) -> None:
    """Reseed every component from the run seed (:func:`component_seed`): how component
    randomness follows the run, so that seeds resample sleep's input spikes, replay's buffer
    choices and EWC's Fisher samples along with the initialisation and the batch order."""
    for component in components:
        component.reseed(component_seed(run_seed, component.name))


def loss_terms(
    components: list[Component], learner: Learner, batch: Batch, outputs: Tensor
) -> Tensor | None:
    """The sum of the components' :meth:`Component.loss_term` on ``outputs``, or None if none
    adds one: what a learner with a global loss adds before its backward pass."""
    terms = [c.loss_term(learner, batch, outputs) for c in components]
    present = [term for term in terms if term is not None]
    return sum(present[1:], present[0]) if present else None
