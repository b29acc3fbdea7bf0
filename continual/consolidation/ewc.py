"""Elastic Weight Consolidation, online variant (Kirkpatrick et al. 2017; Schwarz et al. 2018):
importance = diagonal Fisher information of the learner's predictive distribution,
F = E_x E_{y~p(y|x)} [(∂ log p(y|x)/∂θ)²], estimated with one sampled label per input and
per-sample gradients (``torch.func``); online: F ← γ·F + F_new, θ* ← θ after each experience.
The pull λ·F·(θ − θ*) goes into ``p.grad``. The Fisher needs gradients of the learner's output,
not its learning rule, so it works with every learner (the scores are read as logits)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.func import functional_call, grad, vmap

from continual.components.base import Batch, Component
from continual.consolidation.anchor import Anchor
from continual.errors import require
from continual.learners.base import Learner
from continual.scenarios.experience import Experience


class _Scores(torch.nn.Module):
    """The learner's task-restricted scores as a plain module, for ``torch.func``."""

    def __init__(self, learner: Learner):
        super().__init__()
        self.learner = learner

    def forward(self, x: Tensor, task: Tensor | None) -> Tensor:
        return self.learner.restrict(self.learner.predict(x), task)


def fisher_diagonal(
    learner: Learner,
    x: Tensor,
    task: Tensor | None,
    samples: int,
    generator: torch.Generator,
    chunk: int = 64,
) -> dict[str, Tensor]:
    """Diagonal Fisher over (at most ``samples``) inputs, one label sampled from the model each."""
    index = torch.randperm(len(x), generator=generator)[:samples].to(x.device)
    x = x[index]
    task = None if task is None else task[index]
    module = _Scores(learner)
    params = {k: v.detach() for k, v in module.named_parameters()}
    buffers = {k: v.detach() for k, v in module.named_buffers()}

    def log_prob(p: dict[str, Tensor], xi: Tensor, yi: Tensor, ti: Tensor | None) -> Tensor:
        scores = functional_call(
            module, {**p, **buffers}, (xi[None], None if ti is None else ti[None])
        )
        return (torch.log_softmax(scores, dim=-1)[0] * yi).sum()  # yi: one-hot label

    with torch.no_grad():
        probabilities = torch.softmax(module(x, task), dim=1)
        uniform = torch.rand(len(x), 1, generator=generator).to(x.device)
        labels = (probabilities.cumsum(1) < uniform).sum(1).clamp_max(probabilities.shape[1] - 1)
        onehot = F.one_hot(labels, probabilities.shape[1]).to(probabilities.dtype)
    per_sample = vmap(grad(log_prob), in_dims=(None, 0, 0, None if task is None else 0))
    total = {k: torch.zeros_like(v) for k, v in params.items()}
    for start in range(0, len(x), chunk):
        part = slice(start, start + chunk)
        grads = per_sample(params, x[part], onehot[part], None if task is None else task[part])
        for k, g in grads.items():
            total[k] += g.square().sum(0)
    return {k.removeprefix("learner."): v / len(x) for k, v in total.items()}


class EWC(Component):
    """Online EWC: Fisher-weighted quadratic pull towards the weights of past experiences."""

    name = "ewc"

    def __init__(self, *, strength: float = 1e4, gamma: float = 1.0, fisher_samples: int = 500):
        require(strength >= 0, "strength", "must be non-negative")
        require(0 <= gamma <= 1, "gamma", "must be between 0 and 1")
        require(fisher_samples >= 1, "fisher_samples", "must be at least 1")
        self.strength, self.gamma, self.samples = strength, gamma, fisher_samples
        self.anchor = Anchor()
        self.generator = torch.Generator().manual_seed(0)

    def adjust_update(self, learner: Learner, batch: Batch) -> None:
        self.anchor.pull(learner, self.strength)

    def after_experience(self, learner: Learner, experience: Experience) -> None:
        x, _, task = experience.training_data()
        was_training = learner.training
        learner.eval()
        fisher = fisher_diagonal(learner, x, task, self.samples, self.generator)
        learner.train(was_training)
        self.anchor.consolidate(learner, fisher, self.gamma)

    def state_dict(self) -> dict[str, Any]:
        return {**self.anchor.state_dict(), "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.anchor.load_state_dict(state)
        if "rng" in state:
            self.generator.set_state(state["rng"])
