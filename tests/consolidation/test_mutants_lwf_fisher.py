"""Tests added where mutation testing found gaps in consolidation/ (docs/mutation-testing.md):
the LwF gradient was only checked to be non-zero (a wrong temperature or target survived), and the
EWC Fisher was only computed on one chunk of samples (dropping the sum over chunks survived)."""

import copy

import torch

from continual.components.base import Batch
from continual.consolidation.ewc import fisher_diagonal
from continual.consolidation.lwf import LwF
from continual.learners.backprop import Backprop


def test_lwf_gradient_is_that_of_the_temperature_scaled_distillation_loss():
    """∇ of λ·T²·(1/B)·Σ_b KL(softmax(t_b/T) ‖ softmax(s_b/T)) over the old classes (Li & Hoiem
    2017; Hinton et al. 2015 for the T² factor), written out by hand."""
    torch.manual_seed(0)
    learner = Backprop(5, 4, hidden=(6,))
    lwf = LwF(strength=0.7, temperature=3.0)
    lwf.seen = {0, 2}
    lwf.before_experience(learner, None)
    with torch.no_grad():
        for p in learner.parameters():
            p.add_(0.2 * torch.randn_like(p))  # the student has moved away from its teacher
    x = torch.rand(9, 5)
    learner.zero_update()
    lwf.extra_loss(
        learner, Batch(x, torch.zeros(9, dtype=torch.long)), learner.predict(x)
    ).backward()
    student = copy.deepcopy(learner)
    with torch.no_grad():
        teacher = torch.softmax(lwf.teacher.predict(x)[:, [0, 2]] / 3.0, dim=1)
    log_student = torch.log_softmax(student.predict(x)[:, [0, 2]] / 3.0, dim=1)
    kl = (teacher * (teacher.log() - log_student)).sum(1).mean()
    grads = torch.autograd.grad(0.7 * 9.0 * kl, list(student.parameters()))
    for expected, p in zip(grads, learner.parameters()):
        torch.testing.assert_close(p.grad, expected)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_fisher_sums_over_every_chunk_of_samples():
    torch.manual_seed(0)
    learner = Backprop(6, 3, hidden=(5,))
    x = torch.rand(50, 6)
    whole = fisher_diagonal(learner, x, None, 50, torch.Generator().manual_seed(1), chunk=1000)
    parts = fisher_diagonal(learner, x, None, 50, torch.Generator().manual_seed(1), chunk=7)
    for name in whole:
        torch.testing.assert_close(parts[name], whole[name])
