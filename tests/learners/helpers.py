"""Shared helpers for learner tests."""

from __future__ import annotations

import copy

import torch

from continual.evaluation.evaluator import Evaluator
from continual.scenarios.sources import digits
from continual.scenarios.split import class_incremental
from continual.strategy import Strategy


def digits_iid_accuracy(learner, epochs: int, batch_size: int = 32) -> float:
    """Train on all of digits as one experience (i.i.d.) and return test accuracy."""
    stream = class_incremental(digits(), seed=0, experiences=1)
    Strategy(learner, epochs=epochs, batch_size=batch_size).train_experience(stream[0])
    return Evaluator(stream)(learner)[0]


def update_of(learner, x, y, task=None, seed=0) -> list[torch.Tensor]:
    """The update the learner writes into p.grad for one batch (with a fixed RNG state)."""
    learner.zero_update()
    torch.manual_seed(seed)
    learner.local_update(x, y, task)
    learner.fill_update()  # what observe does: a parameter the update left alone gets zeros
    return [p.grad.detach().clone() for p in learner.parameters()]


def perturbed(learner, module_names: list[str]):
    """A copy of ``learner`` with the parameters of the named submodules replaced by noise."""
    other = copy.deepcopy(learner)
    for name in module_names:
        for p in other.get_submodule(name).parameters():
            p.data = torch.randn_like(p)
    return other


def updates_by_module(learner, grads):
    names = [n for n, _ in learner.named_parameters()]
    return dict(zip(names, grads))
