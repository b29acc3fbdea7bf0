"""Hebbian consolidation: synaptic importance from local co-activation, as in the local (Hebbian)
variant of Memory Aware Synapses (Aljundi, Babiloni, Elhoseiny, Rohrbach & Tuytelaars 2018):
Ω_ij = mean over the experience's data of |pre_j · post_i| for every synapse of every linear
layer (bias: |post_i|), post_i being the neuron's output after its nonlinearity (a silent ReLU
neuron co-activates with nothing), normalised per tensor (max 1 or mean 1) and accumulated over
experiences (summed, or averaged so that it stays bounded); then a quadratic pull of important
synapses towards their consolidated values, applied as a proximal step after whatever update
the learner made (anchor.py). Nothing but each synapse's own pre- and postsynaptic activity is
used: no loss, no gradient.

Bounded importance and mean normalisation are this toolkit's additions (MAS sums importances;
Avalanche's MAS averages them with a running factor α, which ``accumulate = "mean"`` with
``decay`` < 1 reproduces). Measured in docs/components.md: with the sum and max 1, a strength
tuned on 64-pixel digits left predictive coding a learning accuracy of 0.46 on 784-pixel MNIST.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor, nn

from continual.components.base import Batch, Component
from continual.consolidation.anchor import Anchor
from continual.learners.abilities import PostActivity
from continual.learners.base import Learner
from continual.ranges import Fraction, NonNegative, checked
from continual.scenarios.experience import Experience


def coactivation(learner: Learner, x: Tensor, batch_size: int = 1024) -> dict[str, Tensor]:
    """Mean |pre · post| per synapse of every ``nn.Linear`` in ``learner`` while it predicts
    ``x``; postsynaptic activity = the neuron's output after its nonlinearity
    (the learner's ``post_activity``, :class:`~continual.learners.abilities.PostActivity`;
    ``|output|``, a linear neuron's, without it), so a silent ReLU neuron co-activates with
    nothing."""
    activity = learner.post_activity if isinstance(learner, PostActivity) else linear_activity
    sums: dict[str, Tensor] = {}
    counts: dict[str, int] = {}
    hooks = []

    def record(name: str):
        def hook(module: nn.Linear, inputs: tuple[Tensor, ...], output: Tensor) -> None:
            pre = inputs[0].reshape(-1, module.in_features).abs()
            post = activity(name, output).reshape(-1, module.out_features).abs()
            weight = post.T @ pre
            sums[f"{name}.weight"] = sums.get(f"{name}.weight", 0) + weight
            if module.bias is not None:
                sums[f"{name}.bias"] = sums.get(f"{name}.bias", 0) + post.sum(0)
            counts[name] = counts.get(name, 0) + len(pre)

        return hook

    for name, module in learner.named_modules():
        if isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(record(name)))
    try:
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                learner.predict(x[start : start + batch_size])
    finally:
        for hook in hooks:
            hook.remove()
    return {key: total / counts[key.rsplit(".", 1)[0]] for key, total in sums.items()}


def linear_activity(name: str, output: Tensor) -> Tensor:
    """A linear neuron's activity, ``|output|``: the post-synaptic activity of a learner that
    says nothing of its nonlinearities."""
    return output.abs()


def normalized(importance: Tensor, norm: str) -> Tensor:
    """One tensor's importance scaled to max 1 (``"max"``) or mean 1 (``"mean"``), or as it is
    (``"none"``); an all-zero tensor stays zero.

    With ``"mean"`` the strength λ is the pull on the layer's average synapse whatever the
    layer's size and input statistics: a uniform displacement δ of every synapse of a tensor
    costs ½λ·n·δ² and is pulled back by the same mean proximal factor on a 64-input and a
    784-input layer. With ``"max"`` the average pull is λ·mean(Ω)/max(Ω), which depends on
    how sparse the inputs are (measured after one experience of the predictive-coding preset:
    0.10 on the 64 pixels of digits, 0.04 on the 784 of MNIST, whose borders never light up)."""
    if norm == "none":
        return importance
    scale = importance.max() if norm == "max" else importance.mean()
    return importance / scale.clamp_min(1e-12)


class HebbianConsolidation(Component):
    """Pull synapses with high co-activation on past experiences back to their old values.

    ``normalize`` scales each experience's importance per tensor (weight and bias of each layer
    apart): ``"max"`` (or ``true``) to max 1, ``"mean"`` to mean 1, ``"none"`` (or ``false``)
    leaves the raw co-activation. ``accumulate`` combines experiences: ``"sum"``,
    Ω ← decay·Ω + Ω_new (the pull grows with every experience unless decay < 1), or ``"mean"``,
    the decay-weighted mean of the experiences' importances (:meth:`Anchor.consolidate`), which
    stays as large as one experience's importance however many come."""

    name = "consolidation"

    @checked
    def __init__(
        self,
        *,
        strength: NonNegative = 1.0,
        normalize: Literal["max", "mean", "none"] | bool = "max",
        accumulate: Literal["sum", "mean"] = "sum",
        decay: Fraction = 1.0,
    ):
        if isinstance(normalize, bool):  # the earlier switch: true meant max 1
            normalize = "max" if normalize else "none"
        self.strength, self.normalize, self.decay = strength, normalize, decay
        self.accumulate = accumulate
        self.anchor = Anchor()

    def after_step(self, learner: Learner, batch: Batch) -> None:
        self.anchor.proximal_step(learner, self.strength)

    def after_experience(self, learner: Learner, experience: Experience) -> None:
        importance = coactivation(learner, experience.training_data()[0])
        importance = {k: normalized(v, self.normalize) for k, v in importance.items()}
        self.anchor.consolidate(learner, importance, self.decay, self.accumulate == "mean")

    def summary(self) -> dict[str, Any]:
        values = list(self.anchor.importance.values())
        if not values:
            return {}
        return {"mean_importance": float(torch.cat([v.flatten() for v in values]).mean())}

    def state_dict(self) -> dict[str, Any]:
        return self.anchor.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.anchor.load_state_dict(state)
