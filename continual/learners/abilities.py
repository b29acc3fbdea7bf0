"""Optional abilities of a learner, declared as protocols: what some components need beyond the
:class:`~continual.learners.base.Learner` contract (``predict`` and ``local_update``).

A component names the abilities it requires (``Component.requires``); the strategy checks them
once, when it is built (:func:`~continual.components.base.check_components`), and refuses a
learner without one in a message that names the learner, the component and the ability. A
learner has an ability when it implements the protocol's methods; it may also subclass the
protocol to take its default methods (``class Backprop(Learner, Sleepable)``). Abilities a
component merely uses when present (:class:`FisherScores`, :class:`PostActivity`) are optional:
without them the component falls back to what every learner has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from torch import Tensor, nn

ExtraLoss = Callable[[Tensor], "Tensor | None"]  # raw outputs -> a term added to the loss, or None


@runtime_checkable
class GlobalLoss(Protocol):
    """One differentiable loss that extra terms can join before its one backward pass (backprop).

    ``training_loss`` returns the batch's loss and the raw outputs it was computed from; the
    learner's ``local_update(x, y, task, extra_loss=None)`` adds ``extra_loss(outputs)`` to it and
    backpropagates (:func:`backpropagate`)."""

    def training_loss(self, x: Tensor, y: Tensor, task: Tensor | None) -> tuple[Tensor, Tensor]:
        """The batch's loss and the raw outputs (before any masking) it was computed from."""
        ...


def backpropagate(loss: Tensor, outputs: Tensor, extra_loss: ExtraLoss | None) -> dict[str, Tensor]:
    """``loss`` plus ``extra_loss(outputs)`` (when it gives a term), backpropagated into
    ``p.grad``: the update of a :class:`GlobalLoss` learner."""
    extra = None if extra_loss is None else extra_loss(outputs)
    total = loss if extra is None else loss + extra
    total.backward()
    return {"loss": total.detach()}


@runtime_checkable
class Sleepable(Protocol):
    """A feed-forward chain of linear layers that a spiking sleep phase runs (SRC)."""

    def sleep_layers(self) -> list[nn.Linear]:
        """The chain of linear layers, input to output."""
        ...

    def sleep_input(self, x: Tensor) -> Tensor:
        """What the first sleep layer receives for data ``x`` (flattened inputs by default)."""
        return x.flatten(1)

    def sleep_conversion(self) -> str | None:
        """What the spiking chain leaves out of this network (biases, normalisations, non-ReLU
        activations), or ``None`` when it is a faithful conversion."""
        return None


@runtime_checkable
class NegativePhase(Protocol):
    """A negative phase that can run alone (Forward-Forward's sleep, Hinton 2022)."""

    def negative_update(self, x: Tensor, y: Tensor, task: Tensor | None) -> dict[str, Tensor]:
        """Write the update of the negative phase alone (wrong labels for ``x``) into
        ``p.grad``, as ``local_update`` does for the whole rule; return statistics."""
        ...


@runtime_checkable
class FisherScores(Protocol):
    """Scores for EWC's Fisher other than ``predict`` (optional: EWC uses ``predict`` without)."""

    def fisher_scores(self, x: Tensor) -> Tensor:
        """The scores whose softmax EWC's Fisher differentiates, every path from a weight to them
        open (a learner whose ``predict`` blocks gradients between layers needs this)."""
        ...


@runtime_checkable
class PostActivity(Protocol):
    """What each linear layer's neurons send on after their nonlinearity (optional: Hebbian
    consolidation takes ``|output|``, a linear neuron's, without)."""

    def post_activity(self, name: str, output: Tensor) -> Tensor:
        """The activity of linear layer ``name`` (a ``named_modules`` name) given its output."""
        ...


def describe(ability: type) -> str:
    """The first line of an ability's docstring: what it is, in words."""
    line = (ability.__doc__ or ability.__name__).strip().splitlines()[0].rstrip(".")
    return line[:1].lower() + line[1:]
