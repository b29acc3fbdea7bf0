"""Elastic Weight Consolidation, online variant (Kirkpatrick et al. 2017; Schwarz et al. 2018):
importance = diagonal Fisher information of the learner's predictive distribution,
F = E_x E_{y~p(y|x)} [(∂ log p(y|x)/∂θ)²], p = softmax of the learner's scores (its
``fisher_scores`` where it has them, :class:`~continual.learners.abilities.FisherScores`: every
path from each weight to the output open, even where its learning rule detaches layers, as
Forward-Forward's does; ``predict`` otherwise), estimated with one sampled label per input and
squared per-sample gradients (for chains of linear layers without forming them: (δ²)ᵀ(a²) per
layer, Goodfellow 2015; other learners through ``torch.func``); online: F ← γ·F + F_new,
θ* ← θ after each experience. The penalty ½λ·F·(θ − θ*)² is applied as a proximal step after
each optimiser step (anchor.py). The Fisher needs gradients of the learner's output, not its
learning rule, so it works with every learner (the scores are read as logits)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

from continual.components.base import Batch, Component
from continual.consolidation.anchor import Anchor
from continual.learners.abilities import FisherScores
from continual.learners.base import Learner
from continual.ranges import Count, Fraction, NonNegative, checked
from continual.scenarios.experience import Experience


class _Scores(torch.nn.Module):
    """The learner's task-restricted scores as a plain module, for ``torch.func``."""

    def __init__(self, learner: Learner):
        super().__init__()
        self.learner = learner

    def forward(self, x: Tensor, task: Tensor | None) -> Tensor:
        return self.learner.restrict(fisher_scores(self.learner, x), task)


def fisher_scores(learner: Learner, x: Tensor) -> Tensor:
    """The scores whose softmax the Fisher differentiates: the learner's ``fisher_scores``
    (:class:`~continual.learners.abilities.FisherScores`) or else its ``predict``."""
    return learner.fisher_scores(x) if isinstance(learner, FisherScores) else learner.predict(x)


def fisher_diagonal(
    learner: Learner,
    x: Tensor,
    task: Tensor | None,
    samples: int,
    generator: torch.Generator,
    chunk: int = 64,
) -> dict[str, Tensor]:
    """Diagonal Fisher over (at most ``samples``) inputs, one label sampled from the model each.

    Learners whose parameters all sit in ``nn.Linear`` layers, each applied once per forward
    pass to a batch of vectors, take the exact shortcut of :func:`linear_fisher` (one matrix
    product per layer); any other learner goes through per-sample gradients (``torch.func``)."""
    index = torch.randperm(len(x), generator=generator)[:samples].to(x.device)
    x = x[index]
    task = None if task is None else task[index]
    module = _Scores(learner)
    with torch.no_grad():
        probabilities = torch.softmax(module(x, task), dim=1)
        uniform = torch.rand(len(x), 1, generator=generator).to(x.device)
        labels = (probabilities.cumsum(1) < uniform).sum(1).clamp_max(probabilities.shape[1] - 1)
    fisher = linear_fisher(learner, x, task, labels)
    if fisher is None:
        fisher = per_sample_fisher(learner, x, task, labels, chunk)
    return fisher


def linear_fisher(
    learner: Learner, x: Tensor, task: Tensor | None, labels: Tensor
) -> dict[str, Tensor] | None:
    """Σ over samples of squared per-sample gradients of log p(label | x), divided by N, without
    materialising per-sample gradients (Goodfellow 2015, the trick of BackPACK and Opacus).

    A linear layer z = W a + b has per-sample gradients δ_i a_iᵀ and δ_i (δ = ∂ log p / ∂z), so
    Σ_i (δ_i a_iᵀ)² = (δ²)ᵀ (a²) and Σ_i δ_i² — one backward pass and one matrix product per
    layer, exact. Returns ``None`` when the learner is not such a chain: a parameter outside an
    ``nn.Linear``, a layer applied more or less than once, or to inputs that are not (N, features)
    (then the per-sample path is needed)."""
    layers = {m: name for name, m in learner.named_modules() if isinstance(m, nn.Linear)}
    owned = {id(p) for m in layers for p in m.parameters()}
    if not layers or any(id(p) not in owned for p in learner.parameters()):
        return None
    seen: dict[nn.Module, list[tuple[Tensor, Tensor]]] = {m: [] for m in layers}

    def record(layer: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        seen[layer].append((inputs[0].detach(), output))

    handles = [m.register_forward_hook(record) for m in layers]
    try:
        with torch.enable_grad():
            scores = learner.restrict(fisher_scores(learner, x), task)
    finally:
        for handle in handles:
            handle.remove()
    if any(
        len(c) != 1 or c[0][0].dim() != 2 or len(c[0][0]) != len(x) or not c[0][1].requires_grad
        for c in seen.values()
    ):  # one row per sample, once per layer: otherwise a sample's gradient is a sum of rows
        return None
    calls = [c[0] for c in seen.values()]
    log_prob = torch.log_softmax(scores, dim=1).gather(1, labels[:, None]).sum()
    deltas = torch.autograd.grad(log_prob, [z for _, z in calls], allow_unused=True)
    fisher = {}
    for (layer, name), ((a, z), delta) in zip(layers.items(), zip(calls, deltas)):
        delta_sq = torch.zeros_like(z) if delta is None else delta.detach().square()
        fisher[f"{name}.weight"] = delta_sq.T @ a.square() / len(x)
        if layer.bias is not None:
            fisher[f"{name}.bias"] = delta_sq.sum(0) / len(x)
    return fisher


def per_sample_fisher(
    learner: Learner, x: Tensor, task: Tensor | None, labels: Tensor, chunk: int = 64
) -> dict[str, Tensor]:
    """Σ over samples of squared per-sample gradients of log p(label | x), divided by N, from
    per-sample gradients (``torch.func``: ``vmap`` of ``grad``) in chunks of ``chunk`` samples;
    works for any learner whose scores are differentiable in its parameters."""
    module = _Scores(learner)
    params = {k: v.detach() for k, v in module.named_parameters()}
    buffers = {k: v.detach() for k, v in module.named_buffers()}

    def log_prob(p: dict[str, Tensor], xi: Tensor, yi: Tensor, ti: Tensor | None) -> Tensor:
        scores = functional_call(
            module, {**p, **buffers}, (xi[None], None if ti is None else ti[None])
        )
        return (torch.log_softmax(scores, dim=-1)[0] * yi).sum()  # yi: one-hot label

    onehot = F.one_hot(labels, learner.num_classes).to(x.dtype)
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

    @checked
    def __init__(
        self, *, strength: NonNegative = 1e4, gamma: Fraction = 1.0, fisher_samples: Count = 500
    ):
        self.strength, self.gamma, self.samples = strength, gamma, fisher_samples
        self.anchor = Anchor()
        self.generator = torch.Generator().manual_seed(0)  # reseeded from the run seed

    def reseed(self, seed: int) -> None:
        self.generator.manual_seed(seed)

    def after_step(self, learner: Learner, batch: Batch) -> None:
        self.anchor.proximal_step(learner, self.strength)

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
