"""A user's ``nn.Module`` seen through our :class:`~continual.learners.base.Learner` contract, so
that our components' hooks run on it unchanged inside an Avalanche strategy: ``predict`` is the
module's forward pass, the update is the strategy's loss backpropagated (replay sleep's offline
steps use it) and the optimiser is the strategy's."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from continual.errors import ContinualError
from continual.learners.abilities import ExtraLoss, Sleepable, backpropagate
from continual.learners.base import Learner

Criterion = Callable[[Tensor, Tensor], Tensor]

# Modules a sleep phase can run as SRC's network: linear layers with ReLU between them. Flatten,
# Identity and Dropout (inactive in sleep) do not change what a layer receives.
CHAIN_MODULES = (nn.Linear, nn.ReLU, nn.Flatten, nn.Identity, nn.Dropout)


def linear_chain(module: nn.Module) -> list[nn.Linear]:
    """The ``nn.Linear`` layers of ``module`` in registration order, after checking that the
    module is nothing but a chain of them with ReLU between (what SRC's spiking network runs)."""
    layers: list[nn.Linear] = []
    for name, child in module.named_modules():
        own = list(child.parameters(recurse=False))
        if isinstance(child, nn.Linear):
            layers.append(child)
        elif list(child.children()):
            if own:
                raise ContinualError(
                    f"sleep: {name or 'the model'} ({type(child).__name__}) holds parameters "
                    "outside nn.Linear layers; sleep runs a chain of nn.Linear layers with ReLU "
                    "between them"
                )
        elif not isinstance(child, CHAIN_MODULES):
            raise ContinualError(
                f"sleep: {name or 'the model'} is a {type(child).__name__}; sleep (SRC) runs "
                "the model as a chain of nn.Linear layers with ReLU between them (allowed: "
                + ", ".join(m.__name__ for m in CHAIN_MODULES)
                + ")"
            )
    if not layers:
        raise ContinualError("sleep: the model has no nn.Linear layer to run as a spiking network")
    for below, above in zip(layers[:-1], layers[1:]):
        if above.in_features != below.out_features:
            raise ContinualError(
                f"sleep: the model's linear layers do not form a chain ({below.out_features} "
                f"outputs feed {above.in_features} inputs); sleep needs each layer to feed the "
                "next"
            )
    return layers


def refuse_multi_task(module: nn.Module) -> None:
    """A ContinualError for an Avalanche ``MultiTaskModule`` anywhere in ``module`` (a multi-head
    model, e.g. ``MTSimpleMLP``, called with task labels): we call ``module(x)`` without them, so
    consolidation would fail after the first experience and sleep would find no linear chain."""
    from avalanche.models import MultiTaskModule

    for name, child in module.named_modules():
        if isinstance(child, MultiTaskModule):
            raise ContinualError(
                f"{name or 'the model'} is an Avalanche MultiTaskModule "
                f"({type(child).__name__}: one head per task, called with task labels), which "
                "our plugins and ResultsPlugin do not support (they call model(x) without task "
                "labels); use a single-head model (e.g. avalanche.models.SimpleMLP), or for "
                "task-incremental learning one of our learners in "
                "LearnerStrategy(learner=..., task_labels=True)"
            )


class ModuleLearner(Learner, Sleepable):
    """Wraps ``module`` (its parameters appear under ``module.``) with an optimiser and loss: a
    :class:`~continual.learners.abilities.GlobalLoss` (the criterion, which components' extra
    loss, LwF's, joins) and, when the module is a chain of linear layers, sleepable.
    A multi-head ``MultiTaskModule`` is refused (:func:`refuse_multi_task`)."""

    def __init__(self, module: nn.Module, optimizer: torch.optim.Optimizer, criterion: Criterion):
        refuse_multi_task(module)
        linear = [m for m in module.modules() if isinstance(m, nn.Linear)]
        super().__init__(
            linear[0].in_features if linear else 0, linear[-1].out_features if linear else 0
        )
        self.module = module
        self.optimizer = optimizer
        self.criterion = criterion

    def predict(self, x: Tensor, task: Tensor | None = None) -> Tensor:
        return self.module(x)

    def local_update(
        self, x: Tensor, y: Tensor, task: Tensor | None, extra_loss: ExtraLoss | None = None
    ) -> dict[str, Tensor]:
        return backpropagate(*self.training_loss(x, y, task), extra_loss)

    def training_loss(self, x: Tensor, y: Tensor, task: Tensor | None) -> tuple[Tensor, Tensor]:
        outputs = self.module(x)
        return self.criterion(outputs, y), outputs

    def sleep_layers(self) -> list[nn.Linear]:
        return linear_chain(self.module)
