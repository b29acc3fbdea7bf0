"""The quadratic anchor shared by every consolidation component: per-parameter importance Ω and
anchor weights θ*, and the penalty ½ λ Σ Ω (θ − θ*)². The components differ only in how they
estimate Ω (van de Ven et al.'s point that EWC, SI and their variants are one penalty with
different importance estimators).

The penalty is applied as a proximal step after the optimiser's step on the learner's own update
(forward-backward splitting; Parikh & Boyd 2014, "Proximal Algorithms", §4.2):

    θ ← prox_{η'h}(θ) = (θ + η'λΩ θ*) / (1 + η'λΩ),

the exact minimiser of ½‖θ − v‖² / η' + ½ λ Ω (θ − θ*)² at v = the weights after the step. It is
stable for any λ·Ω·η' (a contraction towards θ*, never past it), and its fixed points are those of
the penalised objective, ∇L + λΩ(θ − θ*) = 0, when η' is the rate at which the optimiser turns a
steady gradient into a step (:func:`effective_rates`): η for SGD, η(1 − dampening)/(1 − μ) for SGD
with momentum μ (a steady gradient g gives steps η(1 − d)g/(1 − μ)), and η / (√v̂ + ε) per weight
for Adam/AdamW (v̂: the bias-corrected second moment; m̂ ≈ g at a fixed point). Away from a fixed
point it is an approximation for momentum and Adam: the penalty does not enter their moment
estimates. This replaces an earlier gradient pull whose coefficient was capped at 1/η, which
reset every synapse above the cap to its anchor and so erased importance differences above it."""

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
        self.weight = 0.0  # W = Σ_k decay^(T−k): the total weight of the experiences in Ω
        self._cache: tuple[Any, ...] | None = None  # the proximal step's per-weight factors

    def __bool__(self) -> bool:
        return bool(self.importance)

    def consolidate(
        self,
        learner: Learner,
        importance: dict[str, Tensor],
        decay: float = 1.0,
        average: bool = False,
    ) -> None:
        """Ω ← decay·Ω + new importance (a sum, bounded only for decay < 1), or with ``average``
        the weighted mean of the experiences' importances, Ω ← (decay·W·Ω + new) / (decay·W + 1)
        with W ← decay·W + 1: Ω = Σ_k decay^(T−k) Ω_k / Σ_k decay^(T−k), never larger than the
        largest Ω_k, however many experiences come (decay 1: the plain mean over experiences;
        decay < 1: the running average of Avalanche's MAS, Ω ← αΩ + (1 − α)Ω_new with
        α = decay·W / (decay·W + 1)). θ* ← current weights."""
        previous_weight, self.weight = self.weight, decay * self.weight + 1.0
        keep = decay * previous_weight / self.weight if average else decay
        for name, p in learner.named_parameters():
            if name not in importance:
                continue
            previous = self.importance.get(name)
            new = importance[name].detach()
            if average:
                new = new / self.weight
            self.importance[name] = new if previous is None else keep * previous + new
            self.anchor[name] = p.detach().clone()
        self._cache = None

    def proximal_step(self, learner: Learner, strength: float) -> None:
        """θ ← (θ + η'λΩθ*) / (1 + η'λΩ) for every anchored parameter, after the optimiser step.

        Two ``foreach`` kernels over all anchored weights per step; η'λΩ and 1 + η'λΩ are kept
        between steps while the optimiser's rates are constant (SGD with unchanged
        hyper-parameters) and recomputed every step for Adam, whose rates move."""
        if not self.importance or strength == 0:
            return
        rates = effective_rates(learner.optimizer)
        constant = all(isinstance(r, float) for r in rates.values())
        key = (
            strength,
            tuple(rates.items()) if constant else None,
            tuple((id(t), t._version) for t in self.importance.values()),  # in-place edits too
            tuple((id(t), t._version) for t in self.anchor.values()),
        )
        if self._cache is None or self._cache[0] != key or not constant:
            params, steps, importances, anchors = [], [], [], []
            # untrained features (Learner.attach_readout) never move: nothing to pull back, and
            # (θ + cθ*)/(1 + c) would still round them
            frozen = (
                {id(p) for p in learner.feature_parameters()}
                if getattr(learner, "frozen_features", False)
                else set()
            )
            for name, p in learner.named_parameters():
                if name in self.importance and id(p) in rates and id(p) not in frozen:
                    params.append(p)
                    steps.append(rates[id(p)])
                    importances.append(self.importance[name])
                    anchors.append(self.anchor[name])
            if not params:
                return
            if all(isinstance(r, Tensor) for r in steps):  # Adam: one kernel per operation
                pulls = torch._foreach_mul(steps, strength)  # (η'·λ)·Ω, as below: same bits
                torch._foreach_mul_(pulls, importances)
            else:
                pulls = [r * strength * omega for r, omega in zip(steps, importances)]
            self._cache = (key, params, pulls, anchors, torch._foreach_add(pulls, 1.0))
        _, params, pulls, anchors, denominators = self._cache
        with torch.no_grad():
            torch._foreach_addcmul_(params, pulls, anchors)
            torch._foreach_div_(params, denominators)

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
        return {
            "importance": dict(self.importance),
            "anchor": dict(self.anchor),
            "weight": self.weight,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.importance = dict(state["importance"])
        self.anchor = dict(state["anchor"])
        self.weight = float(state.get("weight", 0.0))
        self._cache = None


def effective_rates(optimizer: torch.optim.Optimizer) -> dict[int, float | Tensor]:
    """Per parameter (by ``id``), the rate η' at which ``optimizer`` turns a steady gradient into
    a step: η(1 − d)/(1 − μ) for SGD (μ momentum, d dampening), η/(√v̂ + ε) for Adam/AdamW
    (η/ε before the first step, where v̂ = 0), η for anything else.

    For Adam, v̂ is taken as max(v̂, g²) with g the gradient just applied: a steady gradient g
    gives v̂ → g², so η/(|g| + ε) is the rate it settles at. Without the floor a weight whose
    gradient was zero until now (an output unit of a class not yet seen under the batch-local
    loss) has v̂ ≈ 0 and a rate near η/ε, and the proximal step froze it at its anchor for any
    λΩ > 0: EWC with λ 10⁴ then no longer learned new classes (``ewc-batch``)."""
    rates: dict[int, float | Tensor] = {}
    adam = isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW))
    for group in optimizer.param_groups:
        lr = group["lr"]
        if adam:
            rates.update(_adam_rates(optimizer, group))
            continue
        for p in group["params"]:
            if isinstance(optimizer, torch.optim.SGD):
                momentum, dampening = group.get("momentum", 0.0), group.get("dampening", 0.0)
                rates[id(p)] = lr * (1 - dampening) / (1 - momentum) if momentum else lr
            else:
                rates[id(p)] = lr
    return rates


def _adam_rates(
    optimizer: torch.optim.Optimizer, group: dict[str, Any]
) -> dict[int, float | Tensor]:
    """η / (√max(v̂, g²) + ε) for the group's parameters, one ``foreach`` kernel per operation
    over all of them; η/ε for a parameter the optimiser has not stepped yet."""
    lr, eps, beta2 = group["lr"], group["eps"], group["betas"][1]
    rates: dict[int, float | Tensor] = {}
    stepped = []
    for p in group["params"]:
        if "exp_avg_sq" in optimizer.state.get(p, {}):
            stepped.append(p)
        else:
            rates[id(p)] = lr / eps
    if not stepped:
        return rates
    states = [optimizer.state[p] for p in stepped]
    corrections = [1 - beta2 ** float(state["step"]) for state in states]
    second = torch._foreach_div([state["exp_avg_sq"] for state in states], corrections)
    graded = [(v, p.grad) for v, p in zip(second, stepped) if p.grad is not None]
    if graded:  # never a faster rate than the current gradient's steady one
        moments, grads = zip(*graded)
        torch._foreach_maximum_(list(moments), torch._foreach_mul(list(grads), list(grads)))
    torch._foreach_sqrt_(second)
    torch._foreach_add_(second, eps)
    rates.update((id(p), lr / root) for p, root in zip(stepped, second))
    return rates
