"""What a learner costs: floating-point operations per sample, counted from the torch ops that
actually run (``torch.utils.flop_counter.FlopCounterMode``, which counts matrix products and
convolutions; elementwise work is not counted)."""

from __future__ import annotations

import copy

import torch
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from continual.learners.base import Learner


def flops_per_sample(
    learner: Learner, x: Tensor, y: Tensor, task: Tensor | None
) -> dict[str, float]:
    """FLOPs per sample of one training step and of one prediction, measured on a copy of the
    learner (so the real one is not updated)."""
    probe = copy.deepcopy(learner)
    with FlopCounterMode(display=False) as counter:
        probe.observe(x, y, task)
    train = counter.get_total_flops() / len(x)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        probe.predict(x, task)
    return {
        "flops_per_train_sample": train,
        "flops_per_test_sample": counter.get_total_flops() / len(x),
    }
