"""Our learners (Forward-Forward, predictive coding, Hebbian, or any other
:class:`~continual.learners.base.Learner`) as an Avalanche strategy.

A learner computes its own update (layer-local losses, prediction errors, Hebbian products)
through ``Learner.observe``; there is no global ``loss.backward()``. The training step, following
the pattern of Avalanche's ``StreamingLDA``, fires these callbacks, so that plugins and
``EvaluationPlugin`` work:

- ``before/after_training``, ``before/after_training_exp``, ``before/after_train_dataset_
  adaptation``, ``before/after_training_epoch``, ``before/after_training_iteration``;
- ``before_forward`` / ``after_forward`` around ``learner.predict`` on the minibatch (the
  scores before the update, in ``strategy.mb_output``, as Avalanche's training metrics expect);
- ``before_update`` inside ``observe``, after the learner wrote its update into ``p.grad`` and
  before the optimiser step (our components' ``before_step``); ``after_update`` after it
  (``after_step``, where consolidation's proximal pull acts);
- every evaluation callback (evaluation runs ``learner.predict``).

``before_backward`` and ``after_backward`` never fire: there is no global loss. Plugins that act
there (Avalanche's EWC, SI, LwF, MAS, RWalk, GEM, A-GEM, ...) would be silently ignored, so the
strategy refuses them and points to our components, which act on the update instead.
``strategy.loss`` holds the learner's own training statistic when it reports one as ``loss``
(Forward-Forward), zero otherwise; the evaluation loss is cross-entropy on the learner's scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from avalanche.core import BasePlugin, SupervisedPlugin
from avalanche.training.templates import SupervisedTemplate
from torch import Tensor

from continual.errors import ContinualError
from continual.learners.base import Learner

IMPORT_OURS = "from continual.consolidation import EWC, LwF, SynapticIntelligence"
OURS = (
    "continual.avalanche.HebbianConsolidationPlugin(...), or "
    "continual.avalanche.ComponentPlugin(EWC(...) | SynapticIntelligence(...) | LwF(...)) "
    f"after `{IMPORT_OURS}`"
)


def refuse_loss_plugins(plugins: Sequence[BasePlugin], learner: Learner) -> None:
    """Raise a ContinualError for any plugin that acts in ``before_backward`` or
    ``after_backward`` (it adds a loss term or edits the gradient of a global loss)."""
    from continual.avalanche.plugins import ComponentPlugin

    for plugin in plugins:
        if isinstance(plugin, ComponentPlugin):  # its extra loss goes to the learner's rule
            continue
        for callback in ("before_backward", "after_backward"):
            mine = getattr(type(plugin), callback, None)
            if mine is not None and mine is not getattr(SupervisedPlugin, callback):
                raise ContinualError(
                    f"{type(plugin).__name__} acts in {callback} (it adds to strategy.loss or "
                    f"edits its gradient), which the {type(learner).__name__} learner never "
                    f"reaches: it trains without a global loss. Use our components, which act "
                    f"on the learner's update: {OURS}"
                )


class LearnerStrategy(SupervisedTemplate):
    """Train one of our learners in an Avalanche pipeline. The learner keeps its own optimiser
    (e.g. Forward-Forward's per-layer rates); Avalanche does not rebuild it. With
    ``task_labels = True`` the experiences' task labels become our task ids (a multi-headed,
    task-incremental protocol); by default they are ignored. Every argument is a keyword
    (``LearnerStrategy(learner=...)``), as Avalanche's strategies now require: it warns about
    any constructor that takes a positional argument."""

    def __init__(
        self,
        *,
        learner: Learner,
        train_mb_size: int = 32,
        train_epochs: int = 1,
        eval_mb_size: int = 512,
        device: str | torch.device = "cpu",
        plugins: Sequence[BasePlugin] | None = None,
        task_labels: bool = False,
        **kwargs: Any,
    ):
        if not isinstance(learner, Learner):
            raise ContinualError(
                f"LearnerStrategy trains one of our learners, not a {type(learner).__name__}; "
                "train a plain nn.Module with Avalanche's Naive and our plugins"
            )
        refuse_loss_plugins(plugins or [], learner)
        self.task_labels = task_labels
        super().__init__(
            model=learner,
            optimizer=learner.optimizer,
            train_mb_size=train_mb_size,
            train_epochs=train_epochs,
            eval_mb_size=eval_mb_size,
            device=device,
            plugins=list(plugins or []),
            **kwargs,
        )

    def make_optimizer(self, **kwargs: Any) -> None:
        """The learner owns its optimiser; keep it as it is."""

    def _task(self) -> Tensor | None:
        return self.mb_task_id if self.task_labels else None

    def forward(self) -> Tensor:
        return self.model.scores(self.mb_x, self._task())

    def _before_training_exp(self, **kwargs: Any) -> None:
        if self.task_labels:
            for task in self.experience.task_labels:
                known = self.model.task_classes.get(int(task), [])
                classes = set(known) | set(self.experience.classes_in_this_experience)
                self.model.add_task(int(task), classes)
        super()._before_training_exp(**kwargs)

    def _extra_loss(self) -> Callable[[Tensor], Tensor | None] | None:
        """Our plugins' extra losses (LwF), for a learner with a global loss to add before its
        backward pass (Avalanche's ``before_backward`` is never reached here); each plugin has
        checked, before training, that the learner has one."""
        from continual.avalanche.plugins import ComponentPlugin
        from continual.components.base import Batch, extra_losses, overrides

        adding = [
            p.component
            for p in self.plugins
            if isinstance(p, ComponentPlugin) and overrides(p.component, "extra_loss")
        ]
        if not adding:
            return None
        batch = Batch(self.mb_x, self.mb_y)
        return lambda outputs: extra_losses(adding, self.model, batch, outputs)

    def training_epoch(self, **kwargs: Any) -> None:
        """One pass over the dataloader: predict (for metrics), then the learner's own update."""
        for batch in self.dataloader:
            self.mbatch = batch
            if self._stop_training:
                break
            self._unpack_minibatch()
            self._before_training_iteration(**kwargs)
            self.loss = self._make_empty_loss()
            self._before_forward(**kwargs)
            with torch.no_grad():
                self.mb_output = self.forward()
            self._after_forward(**kwargs)
            stats = self.model.observe(
                self.mb_x,
                self.mb_y,
                self._task(),
                before_step=lambda _: self._before_update(**kwargs),
                extra_loss=self._extra_loss(),
            )
            if "loss" in stats:
                self.loss = stats["loss"]
            self._after_update(**kwargs)
            self._after_training_iteration(**kwargs)
