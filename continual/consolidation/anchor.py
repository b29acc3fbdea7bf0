"""The quadratic anchor shared by every consolidation component: per-parameter importance Ω and
anchor weights θ*, and the pull λ·Ω·(θ − θ*) added to ``p.grad`` (the gradient of
½ λ Σ Ω (θ − θ*)²). The components differ only in how they estimate Ω (van de Ven et al.'s point
that EWC, SI and their variants are one penalty with different importance estimators)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from continual.learners.base import Learner


class Anchor:
    """Importance and anchor weights per named parameter of a learner."""

    def __init__(self) -> None:
        self.importance: dict[str, Tensor] = {}
        self.anchor: dict[str, Tensor] = {}

    def __bool__(self) -> bool:
        return bool(self.importance)

    def consolidate(
        self, learner: Learner, importance: dict[str, Tensor], decay: float = 1.0
    ) -> None:
        """Ω ← decay·Ω + new importance; θ* ← current weights."""
        for name, p in learner.named_parameters():
            if name not in importance:
                continue
            previous = self.importance.get(name)
            new = importance[name].detach()
            self.importance[name] = new if previous is None else decay * previous + new
            self.anchor[name] = p.detach().clone()

    def pull(self, learner: Learner, strength: float) -> None:
        """Add λ·Ω·(θ − θ*) to every anchored parameter's ``p.grad``.

        Under plain SGD with rate η the coefficient λ·Ω is capped at 1/η, so one step never
        overshoots the anchor (the proximal limit); without the cap a large λ diverges. Adaptive
        optimisers normalise the step and need no cap.
        """
        if not self.importance:
            return
        caps = _sgd_caps(learner.optimizer)
        with torch.no_grad():
            for name, p in learner.named_parameters():
                if name in self.importance:
                    coefficient = strength * self.importance[name]
                    if id(p) in caps:
                        coefficient = coefficient.clamp_max(caps[id(p)])
                    p.grad.add_(coefficient * (p - self.anchor[name]))

    def penalty(self, learner: Learner) -> Tensor:
        """½ Σ Ω (θ − θ*)², for reporting and tests."""
        total = torch.zeros(())
        for name, p in learner.named_parameters():
            if name in self.importance:
                total = (
                    total + 0.5 * (self.importance[name] * (p - self.anchor[name]).square()).sum()
                )
        return total

    def state_dict(self) -> dict[str, Any]:
        return {"importance": dict(self.importance), "anchor": dict(self.anchor)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.importance = dict(state["importance"])
        self.anchor = dict(state["anchor"])


def _sgd_caps(optimizer: torch.optim.Optimizer) -> dict[int, float]:
    """1/η for every parameter an SGD optimiser updates (no entry for adaptive optimisers)."""
    if not isinstance(optimizer, torch.optim.SGD):
        return {}
    return {id(p): 1.0 / group["lr"] for group in optimizer.param_groups for p in group["params"]}
