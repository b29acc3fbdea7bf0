"""Hebbian consolidation: synaptic importance from local co-activation, as in the local (Hebbian)
variant of Memory Aware Synapses (Aljundi, Babiloni, Elhoseiny, Rohrbach & Tuytelaars 2018):
Ω_ij = mean over the experience's data of |pre_j · post_i| for every synapse of every linear
layer (bias: |post_i|), post_i being the neuron's output after its nonlinearity (a silent ReLU
neuron co-activates with nothing), accumulated over experiences; then a quadratic pull of
important synapses towards their consolidated values, applied as a proximal step after
whatever update the learner made (anchor.py). Nothing but each synapse's own pre- and
postsynaptic activity is used: no loss, no gradient.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from continual.components.base import Batch, Component
from continual.consolidation.anchor import Anchor
from continual.errors import require
from continual.learners.base import Learner
from continual.ranges import Fraction, NonNegative
from continual.scenarios.experience import Experience


def coactivation(learner: Learner, x: Tensor, batch_size: int = 1024) -> dict[str, Tensor]:
    """Mean |pre · post| per synapse of every ``nn.Linear`` in ``learner`` while it predicts
    ``x``; postsynaptic activity = the neuron's output after its nonlinearity
    (:meth:`Learner.post_activity`), so a silent ReLU neuron co-activates with nothing."""
    sums: dict[str, Tensor] = {}
    counts: dict[str, int] = {}
    hooks = []

    def record(name: str):
        def hook(module: nn.Linear, inputs: tuple[Tensor, ...], output: Tensor) -> None:
            pre = inputs[0].reshape(-1, module.in_features).abs()
            post = learner.post_activity(name, output).reshape(-1, module.out_features).abs()
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


class HebbianConsolidation(Component):
    """Pull synapses with high co-activation on past experiences back to their old values."""

    name = "consolidation"

    def __init__(
        self, *, strength: NonNegative = 1.0, normalize: bool = True, decay: Fraction = 1.0
    ):
        require(strength >= 0, "strength", "must be non-negative")
        require(0 <= decay <= 1, "decay", "must be between 0 and 1")
        self.strength, self.normalize, self.decay = strength, normalize, decay
        self.anchor = Anchor()

    def after_batch(self, learner: Learner, batch: Batch) -> None:
        self.anchor.proximal_step(learner, self.strength)

    def after_experience(self, learner: Learner, experience: Experience) -> None:
        importance = coactivation(learner, experience.training_data()[0])
        if self.normalize:  # each tensor's importance in [0, 1]: λ means the same in every layer
            importance = {k: v / v.max().clamp_min(1e-12) for k, v in importance.items()}
        self.anchor.consolidate(learner, importance, self.decay)

    def summary(self) -> dict[str, Any]:
        values = list(self.anchor.importance.values())
        if not values:
            return {}
        return {"mean_importance": float(torch.cat([v.flatten() for v in values]).mean())}

    def state_dict(self) -> dict[str, Any]:
        return self.anchor.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.anchor.load_state_dict(state)
