"""Synaptic Intelligence (Zenke, Poole & Ganguli 2017): each synapse's importance is its
contribution to the decrease of the loss along the training trajectory,
ω = −Σ_t g_t · Δθ_t (g_t: the learner's update in ``p.grad`` before any penalty, Δθ_t: the step
taken), normalised at the end of each experience: Ω += ω / (Δθ_exp² + ξ); θ* ← θ. For a local
learner g_t is its local update, so the path integral measures how much each synapse moved along
its own rule's direction."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from continual.components.base import Batch, Component
from continual.consolidation.anchor import Anchor
from continual.learners.base import Learner
from continual.ranges import NonNegative, Positive, checked
from continual.scenarios.experience import Experience


class SynapticIntelligence(Component):
    """Path-integral importance and a quadratic pull (strength c, damping ξ)."""

    name = "si"

    @checked
    def __init__(self, *, strength: NonNegative = 5000.0, damping: Positive = 0.1):
        self.strength, self.damping = strength, damping
        self.anchor = Anchor()
        self.path: dict[str, Tensor] = {}
        self.start: dict[str, Tensor] = {}
        self.before: dict[str, Tensor] = {}
        self.update: dict[str, Tensor] = {}

    def before_experience(self, learner: Learner, experience: Experience) -> None:
        self.start = {k: p.detach().clone() for k, p in learner.named_parameters()}
        self.path = {k: torch.zeros_like(p) for k, p in learner.named_parameters()}

    def before_step(self, learner: Learner, batch: Batch) -> None:
        names, params = zip(*learner.named_parameters())
        if self.update.keys() != set(names):  # buffers reused from step to step
            self.update = {k: torch.empty_like(p) for k, p in zip(names, params)}
            self.before = {k: torch.empty_like(p) for k, p in zip(names, params)}
        with torch.no_grad():
            torch._foreach_copy_(list(self.update.values()), [p.grad for p in params])
            torch._foreach_copy_(list(self.before.values()), list(params))

    def after_step(self, learner: Learner, batch: Batch) -> None:
        self.anchor.proximal_step(learner, self.strength)  # Δθ below includes the penalty's pull
        with torch.no_grad():
            names = list(self.update)
            params = dict(learner.named_parameters())
            before = [self.before[k] for k in names]
            torch._foreach_sub_(before, [params[k] for k in names])  # −Δθ, in its own buffer
            torch._foreach_addcmul_(
                [self.path[k] for k in names], before, [self.update[k] for k in names]
            )

    def after_experience(self, learner: Learner, experience: Experience) -> None:
        importance = {
            name: (
                self.path[name] / ((p.detach() - self.start[name]).square() + self.damping)
            ).clamp_min(0.0)
            for name, p in learner.named_parameters()
        }
        self.anchor.consolidate(learner, importance)

    def state_dict(self) -> dict[str, Any]:
        # the running path integral and the experience's start weights, so a run resumed in the
        # middle of an experience ends with the same importance
        return {**self.anchor.state_dict(), "path": dict(self.path), "start": dict(self.start)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.anchor.load_state_dict(state)
        self.path = dict(state.get("path", {}))
        self.start = dict(state.get("start", {}))
