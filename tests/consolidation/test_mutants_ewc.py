"""Tests added where mutation testing found a gap in consolidation/ (docs/mutation-testing.md):
no fast test ran EWC's end-of-experience hook, so its online Fisher accumulation
(F ← γ·F + F_new) and its anchor (θ* ← θ) could be broken unnoticed."""

import torch

from continual.consolidation.ewc import EWC, fisher_diagonal
from continual.learners.backprop import Backprop
from continual.scenarios.sources import synthetic
from continual.scenarios.split import class_incremental


def test_ewc_after_experience_accumulates_online_fisher_and_anchors_the_current_weights():
    torch.manual_seed(0)
    stream = class_incremental(synthetic(samples=120, classes=4), seed=0, experiences=2)
    learner = Backprop(stream.input_dim, 4, hidden=(6,))
    learner.train()
    ewc = EWC(gamma=0.5, fisher_samples=40)
    generator = torch.Generator().manual_seed(0)  # the same draws as the component's own

    ewc.after_experience(learner, stream[0])
    first = fisher_diagonal(learner.eval(), *stream[0].training_data()[::2], 40, generator)
    learner.train()
    with torch.no_grad():
        for p in learner.parameters():
            p.add_(0.3 * torch.randn_like(p))  # training on the next experience moved the weights
    ewc.after_experience(learner, stream[1])
    second = fisher_diagonal(learner.eval(), *stream[1].training_data()[::2], 40, generator)

    assert learner.eval().training is False and learner.train().training is True
    for name, p in learner.named_parameters():
        assert first[name].abs().sum() > 0
        torch.testing.assert_close(ewc.anchor.importance[name], 0.5 * first[name] + second[name])
        torch.testing.assert_close(ewc.anchor.anchor[name], p.detach())


def test_ewc_after_experience_leaves_the_learner_in_the_mode_it_found():
    stream = class_incremental(synthetic(samples=60, classes=2), seed=0, experiences=1)
    learner = Backprop(stream.input_dim, 2, hidden=(4,))
    ewc = EWC(fisher_samples=8)
    learner.train()
    ewc.after_experience(learner, stream[0])
    assert learner.training
    learner.eval()
    ewc.after_experience(learner, stream[0])
    assert not learner.training


def test_task_incremental_fisher_uses_the_task_restricted_output():
    """With task ids, p(y|x) is the softmax over the task's own classes (a multi-headed output),
    so the output weights of the other task's classes carry no Fisher information."""
    torch.manual_seed(0)
    learner = Backprop(5, 4, hidden=(6,))
    learner.add_task(0, [0, 1])
    learner.add_task(1, [2, 3])
    x = torch.rand(30, 5)
    task = torch.zeros(30, dtype=torch.long)
    fisher = fisher_diagonal(learner, x, task, 30, torch.Generator().manual_seed(0))
    assert fisher["net.2.weight"][2:].abs().max() == 0 and fisher["net.2.bias"][2:].max() == 0
    assert fisher["net.2.bias"][:2].min() > 0
    unrestricted = fisher_diagonal(learner, x, None, 30, torch.Generator().manual_seed(0))
    assert unrestricted["net.2.bias"][2:].min() > 0  # without task ids: every class
