"""The component contract: hooks named for when they run, each a no-op by default.

One training step (``Strategy.train_step``) on a batch runs, in order: every component's
:meth:`Component.transform_batch`; the learner's rule, with every component's
:meth:`Component.extra_loss` joining a global loss; every :meth:`Component.before_step` (may
read or change ``p.grad``); the optimiser step; every :meth:`Component.after_step`. Around the
steps of an experience run :meth:`Component.before_experience` and
:meth:`Component.after_experience`, and after the latter the batches of the component's offline
phase (:meth:`Component.offline_batches`, replay sleep's) go through the same step. A component
sees the learner, the batch and the experience through its hooks and nothing of the training
loop's internals, so an Avalanche plugin can call the same hooks.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from continual.errors import ContinualError
from continual.flops import count_flops
from continual.learners.abilities import GlobalLoss, describe
from continual.learners.base import Learner
from continual.scenarios.experience import Experience


@dataclass(frozen=True, eq=False)
class Batch:
    """One training batch: inputs, labels and per-sample task ids (``None`` if hidden); with
    ``negative_only`` the learner trains on its negative phase alone
    (:class:`~continual.learners.abilities.NegativePhase`, Forward-Forward's sleep)."""

    x: Tensor
    y: Tensor
    task: Tensor | None = None
    negative_only: bool = False


@dataclass(frozen=True)
class CostProbe:
    """What a component's :meth:`Component.cost` is measured on: the run's last experience (copies
    of the learner and component act on it), the number of experiences trained and the FLOPs
    of one training sample of the learner."""

    experience: Experience
    experiences: int
    train_flops_per_sample: float


COST_KEYS = ("consolidation_flops", "sleep_flops", "sleep_synops", "sleep_synaptic_updates")


class Component:
    """Base class of consolidation, replay and sleep components. Override only what you need."""

    name = "component"
    # the learner abilities (continual.learners.abilities) this component needs; the strategy
    # checks them once, when it is built (check_components)
    requires: tuple[type, ...] = ()

    def check(self, learner: Learner) -> None:
        """Raise a ContinualError if this component cannot work with ``learner`` for a reason
        that :attr:`requires` cannot say (called once, after the abilities are checked)."""

    def before_experience(self, learner: Learner, experience: Experience) -> None:
        """Called once before training on ``experience``."""

    def transform_batch(self, learner: Learner, batch: Batch) -> Batch:
        """Return the batch to train on (replay mixes stored samples in here)."""
        return batch

    def extra_loss(self, learner: Learner, batch: Batch, outputs: Tensor) -> Tensor | None:
        """A term added to the learner's global loss before its one backward pass, given the
        network's raw outputs for the batch (LwF's distillation), or ``None``. A component that
        adds one requires :class:`~continual.learners.abilities.GlobalLoss`."""
        return None

    def before_step(self, learner: Learner, batch: Batch) -> None:
        """Called before the optimiser step, with the learner's update in ``p.grad``: may read it
        (SI's path integral) or change it."""

    def after_step(self, learner: Learner, batch: Batch) -> None:
        """Called after the optimiser step (consolidation's proximal pull)."""

    def after_experience(self, learner: Learner, experience: Experience) -> None:
        """Called once after training on ``experience`` (importances, buffers, spiking sleep)."""

    def offline_batches(self, learner: Learner, experience: Experience) -> Iterable[Batch]:
        """The batches of an offline phase after ``experience`` (replay sleep), drawn lazily: the
        strategy trains on each with its one training step, right after this component's
        :meth:`after_experience`, so every component's step hooks see them. None by default."""
        return ()

    def cost(self, learner: Learner, probe: CostProbe) -> dict[str, float]:
        """This component's share of the run's cost, keys from :data:`COST_KEYS`. By default the
        FLOPs of :meth:`after_experience` on the probe's experience (on copies) times the number
        of experiences; a component whose phase is no such computation overrides it."""
        model, component = copy.deepcopy((learner, self))
        flops = count_flops(component.after_experience, model, probe.experience)
        return {"consolidation_flops": flops * probe.experiences}

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


def check_components(learner: Learner, components: Sequence[Component]) -> None:
    """The one check of a learner against its components, when a strategy is built: each
    component's required abilities (a ContinualError naming the component, the learner and the
    missing ability; a component with an :meth:`Component.extra_loss` requires
    :class:`~continual.learners.abilities.GlobalLoss` whether it says so or not), then its own
    :meth:`Component.check`."""
    for component in components:
        implied = (GlobalLoss,) if overrides(component, "extra_loss") else ()
        for ability in dict.fromkeys((*component.requires, *implied)):
            if not isinstance(learner, ability):
                raise ContinualError(
                    f"{component.name} needs a learner with the {ability.__name__} ability "
                    f"({describe(ability)}), which the {type(learner).__name__} learner does not "
                    "have"
                )
        component.check(learner)


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


def extra_losses(
    components: Sequence[Component], learner: Learner, batch: Batch, outputs: Tensor
) -> Tensor | None:
    """The sum of the components' :meth:`Component.extra_loss` on ``outputs``, or None if none
    adds one: what a learner with a global loss adds before its backward pass."""
    terms = [c.extra_loss(learner, batch, outputs) for c in components]
    present = [term for term in terms if term is not None]
    return sum(present[1:], present[0]) if present else None
