"""The learner contract and the update seam.

Every learner writes its weight change as a gradient-like tensor into ``p.grad`` (a global loss
for backprop, layer-local losses for Forward-Forward, prediction-error products for predictive
coding, ``-Δw`` for a Hebbian rule), and one ``torch.optim`` step applies them. Components may
read or change those tensors before the step and act on the weights after it (consolidation's
proximal pull towards old weights). That is the one seam that lets every component work with
every learner. What only some learners can do (a global loss, a sleepable chain, a negative
phase) is declared in :mod:`continual.learners.abilities`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from continual.errors import ConfigError, ContinualError, did_you_mean
from continual.learners.abilities import ExtraLoss, NegativePhase

OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}

KERNEL_FLAGS = ("foreach", "fused")  # how an optimiser steps, not what it computes
BeforeStep = Callable[["Learner"], None]  # reads or changes p.grad before the optimiser step


def make_optimizer(
    name: str, params: Iterable[Any], lr: float, momentum: float = 0.0, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """A torch optimiser by name; ``params`` may be parameters or per-layer parameter groups.
    ``lr`` and ``weight_decay`` are checked where they are declared, as options of a learner."""
    if name not in OPTIMIZERS:
        raise ConfigError(
            f"unknown optimizer {name!r}{did_you_mean(name, OPTIMIZERS)}", "optimizer"
        )
    if name == "sgd":  # foreach: one kernel per operation over all parameters, bitwise the same
        # weights as the single-tensor loop (fused SGD is not, and barely faster on CPU)
        extra: dict[str, Any] = {"momentum": momentum, "foreach": True}
    else:  # Adam(W) fused: one pass over memory per step instead of ~8 (see fused_adam)
        extra = {"fused": True} if fused_adam() else {"foreach": True}
    return OPTIMIZERS[name](params, lr=lr, weight_decay=weight_decay, **extra)


@functools.cache
def fused_adam() -> bool:
    """Whether this PyTorch has the fused Adam/AdamW kernel for CPU tensors (torch >= 2.4; on
    CUDA it exists longer). Fused Adam updates each weight in one pass; the foreach form makes
    about eight passes, and its ``sqrt`` of denormal second moments (the tiny gradients of a
    saturated Forward-Forward loss, squared) is ~30x slower than of normal numbers. Measured on
    split-digits, 2 threads: FF training 3.4-4.0 s -> 2.3-2.5 s, PC 1.7 -> 1.4 s, backprop
    0.53 -> 0.39 s. The arithmetic is rounded differently (weights differ in the last bits
    after a step, ~2e-7), so runs are not bitwise those of the foreach optimiser: backprop and
    Hebbian runs gave bitwise-identical accuracy matrices, Forward-Forward and some predictive
    coding runs differ per seed with no distinguishable change on average (paired over 10-30
    seeds, docs/benchmarks/speed.md, "Third pass")."""
    probe = torch.zeros(1, requires_grad=True)
    try:
        torch.optim.Adam([probe], fused=True)
    except (RuntimeError, TypeError):  # older PyTorch: fused needs CUDA tensors
        return False
    return True


class Learner(nn.Module):
    """A network plus its learning rule.

    Subclasses implement :meth:`predict` (class scores) and :meth:`local_update` (their learning
    rule: fill ``p.grad`` for one batch, return statistics) and set ``self.optimizer`` in their
    constructor. :meth:`observe`, the learner's part of the training step, is the same for all:
    clear the update, compute it with the rule, hand it to ``before_step``, apply it. Optional
    abilities (:mod:`continual.learners.abilities`) are further methods a learner declares.

    A learner that exposes its representation (:meth:`features`) can answer through a
    class-statistics readout instead of its own trained one (:meth:`attach_readout`, a
    strategy's ``[readout]`` section): :meth:`scores`, what evaluation asks, then goes through
    it, and :meth:`observe` feeds it the batch's features after each step. The learner keeps
    training as before (its own readout included), so every component works unchanged. With
    ``train_features = False`` the learner's rule never moves the feature parameters (everything
    but :meth:`readout_modules`): the untrained-feature control.
    """

    optimizer: torch.optim.Optimizer

    def __init__(self, input_dim: int, num_classes: int):
        super().__init__()
        self.input_dim = input_dim
        self.num_classes = num_classes
        self.task_classes: dict[int, list[int]] = {}
        self._task_mask: Tensor | None = None  # (tasks, classes), rebuilt when tasks change
        self.statistics_readout: nn.Module | None = None  # see attach_readout
        self.frozen_features = False  # attach_readout(train_features=False)

    # -- the contract ---------------------------------------------------------------------------
    def predict(self, x: Tensor, task: Tensor | None = None) -> Tensor:
        """Class scores ``(N, num_classes)``; higher is more likely."""
        raise NotImplementedError

    def local_update(self, x: Tensor, y: Tensor, task: Tensor | None) -> dict[str, Tensor]:
        """The learning rule: write this batch's weight change into ``p.grad`` (``None`` on
        entry: assign it, or let ``backward`` create it); return statistics. A
        :class:`~continual.learners.abilities.GlobalLoss` learner also takes ``extra_loss``."""
        raise NotImplementedError

    def features(self, x: Tensor) -> Tensor:
        """The representation ``(N, D)`` a class-statistics readout reads: each learner says which
        activity (typically its last hidden layer after the nonlinearity)."""
        raise ContinualError(
            f"the {type(self).__name__} learner exposes no features for a statistics readout"
        )

    def readout_modules(self) -> list[nn.Module]:
        """The modules of the learner's own trained readout; every other parameter belongs to the
        features (what ``train_features = False`` keeps at its initial value). By default the
        submodule called ``readout``, if any."""
        readout = getattr(self, "readout", None)
        return [readout] if isinstance(readout, nn.Module) else []

    def feature_parameters(self) -> list[nn.Parameter]:
        """The parameters outside :meth:`readout_modules`."""
        own = {id(p) for m in self.readout_modules() for p in m.parameters()}
        return [p for p in self.parameters() if id(p) not in own]

    def attach_readout(self, readout: nn.Module | None, *, train_features: bool = True) -> None:
        """Answer through ``readout`` (a class-statistics readout: ``update(features, y)`` and
        ``forward(features) -> scores``; ``None`` keeps the learner's own), and with
        ``train_features = False`` leave the feature parameters untouched by the learning rule
        and the optimiser. Components that write weights directly (sleep) still act on them."""
        self.statistics_readout = readout
        self.frozen_features = not train_features

    def scores(self, x: Tensor, task: Tensor | None = None) -> Tensor:
        """What the learner answers: the attached statistics readout's scores on
        :meth:`features`, masked to each sample's task, or :meth:`predict` without one."""
        if self.statistics_readout is None:
            return self.predict(x, task)
        return self.restrict(self.statistics_readout(self.features(x)), task)

    # -- shared machinery -------------------------------------------------------------------------
    def observe(
        self,
        x: Tensor,
        y: Tensor,
        task: Tensor | None = None,
        *,
        before_step: BeforeStep | None = None,
        extra_loss: ExtraLoss | None = None,
        negative_only: bool = False,
    ) -> dict[str, Tensor]:
        """The learner's part of one training step: clear the update, compute it with the rule
        (:meth:`local_update`, with ``extra_loss`` joining a global loss; or the
        :class:`~continual.learners.abilities.NegativePhase` alone with ``negative_only``), hand
        it to ``before_step``, apply it with the optimiser. Which learner takes which argument is
        checked once, when a strategy is built."""
        if not self.training:
            self.train()
        self.zero_update()
        if negative_only:
            stats = cast(NegativePhase, self).negative_update(x, y, task)
        elif extra_loss is not None:
            stats = self.local_update(x, y, task, extra_loss)  # type: ignore[call-arg]
        else:
            stats = self.local_update(x, y, task)
        self.fill_update()
        if before_step is not None:
            before_step(self)
        if self.frozen_features:  # the optimiser skips a parameter without a gradient
            for p in self.feature_parameters():
                p.grad = None
        self.optimizer.step()
        if self.statistics_readout is not None:
            with torch.no_grad():
                self.statistics_readout.update(self.features(x), y)
        return stats

    def zero_update(self) -> None:
        """Clear the update: every ``p.grad`` to ``None``, as ``zero_grad(set_to_none=True)``
        does (autograd then writes fresh gradients instead of adding them to zeroed ones: no
        memset and no extra pass over the weights each step). A :meth:`local_update` assigns
        ``p.grad`` or lets ``backward`` create it."""
        for p in self.parameters():
            p.grad = None

    def fill_update(self) -> None:
        """Give every parameter that the update left without ``p.grad`` a zero one, so components
        and the optimiser see every parameter (a zero update still moves momentum)."""
        for p in self.parameters():
            if p.grad is None:
                p.grad = torch.zeros_like(p)

    def add_task(self, task: int, classes: Iterable[int]) -> None:
        """Tell the learner which classes belong to ``task`` (task-incremental protocols)."""
        self.task_classes[int(task)] = sorted(int(c) for c in classes)
        self._task_mask = None

    def classes_present(self, y: Tensor) -> Tensor:
        """The batch-local class mask ``(num_classes,)``: True for the classes among labels ``y``
        (the labels trick, Zeno et al. 2018: only they compete in a batch-local loss)."""
        present = torch.zeros(self.num_classes, dtype=torch.bool, device=y.device)
        present[y] = True
        return present

    def restrict(self, scores: Tensor, task: Tensor | None) -> Tensor:
        """Mask the scores of classes outside each sample's task (a multi-headed output)."""
        if task is None or not self.task_classes:
            return scores
        mask = self._task_mask
        if mask is None or mask.device != scores.device:
            mask = torch.zeros(max(self.task_classes) + 1, self.num_classes, dtype=torch.bool)
            for t, classes in self.task_classes.items():
                mask[t, classes] = True
            mask = self._task_mask = mask.to(scores.device)
        return scores.masked_fill(~mask[task], float("-inf"))

    def get_extra_state(self) -> dict[str, Any]:
        return {"task_classes": self.task_classes, "optimizer": self.optimizer.state_dict()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.task_classes = {int(k): list(v) for k, v in state["task_classes"].items()}
        self._task_mask = None
        saved, current = state["optimizer"], self.optimizer.param_groups
        if len(saved["param_groups"]) == len(current):  # else torch's own error follows
            # a checkpoint carries the kernel choice of the code that wrote it (foreach Adam
            # before fused existed here; fused where this PyTorch has none): keep this build's,
            # set before loading so that torch places the step counts as that kernel needs
            groups = [
                {**group, **{k: now.get(k) for k in KERNEL_FLAGS}}
                for group, now in zip(saved["param_groups"], current)
            ]
            saved = {**saved, "param_groups": groups}
        self.optimizer.load_state_dict(saved)


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
}


def make_activation(name: str) -> nn.Module:
    """An activation module by name."""
    if name not in ACTIVATIONS:
        raise ConfigError(
            f"unknown activation {name!r}{did_you_mean(name, ACTIVATIONS)}", "activation"
        )
    return ACTIVATIONS[name]()


def delta_rule(readout: nn.Linear, features: Tensor, y: Tensor, scores: Tensor) -> Tensor:
    """Write the delta rule of a linear readout into its ``p.grad``: ΔV = (onehot(y) − p) fᵀ / N
    and Δb = mean(onehot(y) − p), p = softmax(``scores``), the cross-entropy gradient of one
    layer (its own input and error only); ``scores`` are the readout's outputs for ``features``
    after any task mask. Returns the error ``onehot(y) − p``."""
    error = F.one_hot(y, readout.out_features).to(features.dtype) - torch.softmax(scores, dim=1)
    readout.weight.grad = -(error.T @ features) / len(features)
    readout.bias.grad = -error.mean(0)
    return error
