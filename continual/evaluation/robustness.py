"""Accuracy under perturbed inputs, per experience, after the last experience: how brittle what a
learner kept is.

- Gaussian noise: ``x + σ · N(0, 1)`` on the float inputs (uint8 images scaled to [0, 1]), with a
  fixed generator so every strategy sees the same noise.
- FGSM (Goodfellow et al. 2015, "Explaining and harnessing adversarial examples"):
  ``x + ε · sign(∇_x CE(predict(x), y))``, clipped to the test inputs' range. The gradient comes
  from autograd through ``predict`` even for learners that do not learn with it (for
  Forward-Forward the goodness scores are differentiable); the attack is white-box and untargeted.
  Where ``predict`` carries no input gradient the attack cannot move the input: the accuracy
  equals the clean one and the entry says ``"gradient": false``. That is the case for
  Forward-Forward as built here (each layer sees its input detached, and the readout reads
  detached features), so FGSM numbers for FF are not evidence of robustness; a transfer attack
  from a surrogate would be needed (not implemented).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from continual.evaluation.evaluator import Evaluator
from continual.learners.base import Learner
from continual.scenarios.experience import as_float

NOISE_SEED = 1234


def _accuracies(evaluator: Evaluator, learner: Learner, inputs: Tensor) -> list[float]:
    """Per-experience accuracy of ``learner`` on ``inputs`` (the evaluator's test samples,
    perturbed) with the evaluator's task masks."""
    hits = torch.zeros(len(evaluator.sizes), dtype=torch.float64, device=evaluator.y.device)
    with torch.inference_mode():
        for start in range(0, len(evaluator.y), evaluator.batch_size):
            part = slice(start, start + evaluator.batch_size)
            correct = _scores(evaluator, learner, inputs[part], part).argmax(1) == evaluator.y[part]
            hits.index_add_(0, evaluator.owner[part], correct.double())
    return (hits.cpu() / evaluator.sizes).tolist()


def _scores(evaluator: Evaluator, learner: Learner, x: Tensor, part: slice) -> Tensor:
    owner = evaluator.owner[part]
    task = evaluator.tasks[owner] if evaluator.mask is not None else None
    scores = learner.scores(x, task)
    if evaluator.mask is not None:
        scores = scores.masked_fill(~evaluator.mask[owner], float("-inf"))
    return scores


def noisy_inputs(x: Tensor, sigma: float, seed: int = NOISE_SEED) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(x.shape, generator=generator).to(x.device)
    return x + sigma * noise


def fgsm_inputs(
    evaluator: Evaluator, learner: Learner, x: Tensor, epsilon: float
) -> tuple[Tensor, bool]:
    """FGSM examples of every test input, in the evaluator's batches, and whether ``predict``
    gave any non-zero input gradient (if not, the examples are the clean inputs)."""
    low, high = float(x.min()), float(x.max())
    adversarial = torch.empty_like(x)
    moved = False
    with torch.enable_grad():
        for start in range(0, len(evaluator.y), evaluator.batch_size):
            part = slice(start, start + evaluator.batch_size)
            batch = x[part].clone().requires_grad_(True)
            scores = _scores(evaluator, learner, batch, part)
            # masked classes are -inf; keep the loss finite by giving them a very low score
            scores = scores.clamp_min(torch.finfo(scores.dtype).min / 4)
            loss = F.cross_entropy(scores, evaluator.y[part], reduction="sum")
            (gradient,) = torch.autograd.grad(loss, batch, allow_unused=True)
            step = torch.zeros_like(batch) if gradient is None else gradient.sign()
            moved = moved or bool(step.any())
            adversarial[part] = (batch + epsilon * step).detach().clamp_(low, high)
    return adversarial, moved


def robustness(
    evaluator: Evaluator,
    learner: Learner,
    noise: Sequence[float] = (),
    fgsm: Sequence[float] = (),
) -> dict[str, list[dict[str, object]]]:
    """``{"noise": [{"strength": σ, "accuracy": [per experience]}], "fgsm": [{"strength": ε,
    ...}]}`` for the trained ``learner`` on the evaluator's test sets; the learner's parameters
    and their ``.grad`` are left untouched (gradients are taken with respect to inputs only)."""
    was_training = learner.training
    learner.eval()
    x = as_float(evaluator.x)
    result: dict[str, list[dict[str, object]]] = {"noise": [], "fgsm": []}
    for sigma in noise:
        accuracy = _accuracies(evaluator, learner, noisy_inputs(x, sigma))
        result["noise"].append({"strength": float(sigma), "accuracy": accuracy})
    for epsilon in fgsm:
        attacked, moved = fgsm_inputs(evaluator, learner, x, epsilon)
        accuracy = _accuracies(evaluator, learner, attacked)
        result["fgsm"].append({"strength": float(epsilon), "accuracy": accuracy, "gradient": moved})
    learner.train(was_training)
    return result
