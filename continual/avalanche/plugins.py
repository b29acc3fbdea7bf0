"""Our components as Avalanche ``SupervisedPlugin``s: one implementation (the component), two
adapters (our :class:`~continual.strategy.Strategy` and this plugin), the plugin calling the
same hooks from Avalanche's callbacks:

==========================  ===========================================================
Avalanche callback          component hook
==========================  ===========================================================
``before_training``         the required abilities and ``check`` (refuse a model the
                            component cannot handle; ``check_components``)
``before_training_exp``     ``before_experience``
``before_backward``         ``extra_loss`` (added to the strategy's loss)
``before_update``           ``before_step`` (between the backward pass and the step)
``after_update``            ``after_step``
``after_training_exp``      ``after_experience`` (importances, spiking sleep), then the
                            component's ``offline_batches`` (replay sleep), each trained
                            with ``Learner.observe`` and this component's step hooks
==========================  ===========================================================

Offline batches go through the learner's step with this component's own ``before_step`` and
``after_step``; other plugins do not see them (their callbacks belong to Avalanche's loop, which
is not running then). Our :class:`~continual.strategy.Strategy` hands them to every component.

A plugin takes the run's ``seed`` and reseeds its component from it, as our strategy does
(:func:`~continual.components.base.seed_components`): plugins built with the same seed draw the
same random numbers (sleep's input spikes, replay sleep's samples), other seeds other ones.

The experience a hook sees holds the Avalanche experience's training data as tensors (read once
with evaluation transforms). The strategy's model is used as it is when it is one of our
learners (:class:`~continual.avalanche.strategy.LearnerStrategy`), and otherwise wrapped as a
:class:`~continual.avalanche.model.ModuleLearner` with the strategy's optimiser and loss.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from avalanche.core import SupervisedPlugin
from torch import Tensor

from continual.avalanche.model import ModuleLearner
from continual.avalanche.streams import dataset_tensors, stored_image_shape
from continual.components.base import (
    Batch,
    Component,
    check_components,
    extra_losses,
    overrides,
    seed_components,
)
from continual.consolidation.hebbian import HebbianConsolidation
from continual.errors import ContinualError
from continual.learners.base import Learner
from continual.scenarios.experience import Experience
from continual.sleep.replay_sleep import ReplaySleep
from continual.sleep.spiking import SpikingSleep


class ComponentPlugin(SupervisedPlugin):
    """Run one of our components inside any Avalanche ``SupervisedTemplate`` strategy; its
    random numbers come from ``seed`` (the run's seed)."""

    def __init__(self, component: Component, seed: int = 0):
        super().__init__()
        if overrides(component, "transform_batch"):
            raise ContinualError(
                f"the {component.name} component mixes samples into each batch, which an "
                "Avalanche plugin cannot do from its callbacks; use Avalanche's ReplayPlugin "
                "(or our Strategy) instead"
            )
        self.component = component
        seed_components([component], seed)
        self._model: torch.nn.Module | None = None
        self._learner: Learner | None = None
        self._experience: tuple[Any, Experience] | None = None

    def learner(self, strategy: Any) -> Learner:
        """The strategy's model as our learner (checked by the component once per model)."""
        model = strategy.model
        if model is not self._model:
            if isinstance(model, Learner):
                learner = model
            else:
                learner = ModuleLearner(model, strategy.optimizer, strategy._criterion)
            check_components(learner, [self.component])
            self._model, self._learner = model, learner
        assert self._learner is not None
        if isinstance(self._learner, ModuleLearner):
            self._learner.optimizer = strategy.optimizer
        return self._learner

    def experience(self, strategy: Any) -> Experience:
        """The current Avalanche experience's training data as our experience (cached)."""
        current = strategy.experience
        if self._experience is None or self._experience[0] is not current:
            x, y = dataset_tensors(current.dataset)
            device = strategy.device
            empty = torch.empty(0, dtype=torch.long, device=device)
            converted = Experience(
                index=int(current.current_experience),
                classes=tuple(sorted(set(y.tolist()))),
                x_train=x.to(device),
                y_train=y.to(device),
                x_test=torch.empty(0, *x.shape[1:], device=device),
                y_test=empty,
            )
            self._experience = (current, converted)
        return self._experience[1]

    def before_training(self, strategy: Any, *args: Any, **kwargs: Any) -> None:
        self.learner(strategy)

    def before_training_exp(self, strategy: Any, *args: Any, **kwargs: Any) -> None:
        self.component.before_experience(self.learner(strategy), self.experience(strategy))

    def before_backward(self, strategy: Any, *args: Any, **kwargs: Any) -> None:
        batch = Batch(strategy.mb_x, strategy.mb_y)
        learner = self.learner(strategy)
        term = extra_losses([self.component], learner, batch, strategy.mb_output)
        if term is not None:
            strategy.loss = strategy.loss + term

    def before_update(self, strategy: Any, *args: Any, **kwargs: Any) -> None:
        learner = self.learner(strategy)
        for p in learner.parameters():  # a parameter the loss did not reach: still pulled
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        self.component.before_step(learner, Batch(strategy.mb_x, strategy.mb_y))

    def after_update(self, strategy: Any, *args: Any, **kwargs: Any) -> None:
        self.component.after_step(self.learner(strategy), Batch(strategy.mb_x, strategy.mb_y))

    def after_training_exp(self, strategy: Any, *args: Any, **kwargs: Any) -> None:
        learner, experience = self.learner(strategy), self.experience(strategy)
        self.component.after_experience(learner, experience)
        self.train_offline(learner, experience)
        for name, p in learner.named_parameters():
            if not bool(torch.isfinite(p).all()):
                raise ContinualError(
                    f"{self.component.name}: {name} is not finite after experience "
                    f"{strategy.experience.current_experience}; lower the learning rate or the "
                    "component's strength"
                )
        self._experience = None

    def train_offline(self, learner: Learner, experience: Experience) -> None:
        """The component's offline batches, each one step of the learner with this component's
        step hooks (a component with ``transform_batch`` is refused as a plugin; its extra loss
        joins a global loss as in our strategy)."""
        component = self.component
        adds_loss = overrides(component, "extra_loss")
        for batch in component.offline_batches(learner, experience):

            def before(model: Learner, batch: Batch = batch) -> None:
                component.before_step(model, batch)

            def extra(outputs: Tensor, batch: Batch = batch) -> Tensor | None:
                return extra_losses([component], learner, batch, outputs)

            learner.observe(
                batch.x,
                batch.y,
                batch.task,
                before_step=before,
                extra_loss=extra if adds_loss else None,
                negative_only=batch.negative_only,
            )
            component.after_step(learner, batch)

    def summary(self) -> dict[str, Any]:
        """The component's plain numbers, as in our result files."""
        return self.component.summary()

    def state_dict(self) -> dict[str, Any]:
        """The component's state (tensors and plain data), for
        :func:`~continual.avalanche.checkpoint.save_checkpoint`."""
        return self.component.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.component.load_state_dict(state)


class HebbianConsolidationPlugin(ComponentPlugin):
    """Hebbian consolidation (local MAS, Aljundi et al. 2018) as an Avalanche plugin; options
    as :class:`~continual.consolidation.hebbian.HebbianConsolidation`. Works with any model
    whose synapses live in ``nn.Linear`` layers (the importance of other parameters is zero)."""

    def __init__(self, *, seed: int = 0, **options: Any):
        super().__init__(HebbianConsolidation(**options), seed)


class SpikingSleepPlugin(ComponentPlugin):
    """Sleep Replay Consolidation (Tadros et al. 2022) after each experience as an Avalanche
    plugin; options as :class:`~continual.sleep.spiking.SpikingSleep`. The model must be a chain
    of ``nn.Linear`` layers with ReLU between them; sleep ignores their biases (as SRC does)
    and says so once.

    Sleep shows the input through SRC's square patch, which needs the image shape: that of the
    inputs when they are images, else ``image_shape`` (e.g. ``(28, 28)`` for flat MNIST), else
    the shape the experience's dataset stores its images in (a torchvision-style ``data`` array
    of (N, height, width) behind the flat samples, :func:`stored_image_shape`). Flat inputs with
    none of these get a random pixel mask and a warning (on split-MNIST, 57.5 % against 68.0 %)."""

    def __init__(self, *, seed: int = 0, **options: Any):
        super().__init__(SpikingSleep(**options), seed)

    def after_training_exp(self, strategy: Any, *args: Any, **kwargs: Any) -> None:
        sleep = self.component
        assert isinstance(sleep, SpikingSleep)
        x = self.experience(strategy).x_train
        if sleep.image_shape is None and sleep.statistics is None and x.dim() == 2:
            sleep.image_shape = stored_image_shape(strategy.experience.dataset, x.shape[1])
        super().after_training_exp(strategy, *args, **kwargs)

    def learner(self, strategy: Any) -> Learner:
        known = self._model is strategy.model
        learner = super().learner(strategy)
        if not known:
            biased = [layer for layer in learner.sleep_layers() if layer.bias is not None]
            if biased:
                warnings.warn(
                    f"sleep ignores the biases of {len(biased)} of the model's linear layers "
                    "(SRC runs the weights only); they stay as trained",
                    stacklevel=2,
                )
        return learner


class ReplaySleepPlugin(ComponentPlugin):
    """Replay sleep (offline updates on replayed or generated samples after each experience) as
    an Avalanche plugin; options as :class:`~continual.sleep.replay_sleep.ReplaySleep`. Its
    offline steps use the strategy's loss and optimiser, outside Avalanche's callbacks
    (:meth:`ComponentPlugin.train_offline`)."""

    def __init__(self, *, seed: int = 0, **options: Any):
        super().__init__(ReplaySleep(**options), seed)
