"""Survivors of the consolidation mutation run on the proximal step (docs/mutation-testing.md):
the cached factors follow every change of strength, rate and anchor; Adam's rate before its
first step; Hebbian consolidation's own after_experience; coactivation over several chunks."""

import torch

from continual.components.base import Batch
from continual.consolidation.anchor import Anchor, effective_rates
from continual.consolidation.hebbian import HebbianConsolidation, coactivation
from continual.learners.backprop import Backprop
from tests.consolidation.test_anchor import Quadratic


def _closed_form(theta, anchor, pull):
    return (theta + pull * anchor) / (1 + pull)


def test_the_cached_factors_follow_strength_rate_and_anchor_changes():
    learner = Quadratic("sgd", 0.5)
    anchor = Anchor()
    anchor.importance = {"theta": torch.tensor([1.0, 3.0, 0.0])}
    anchor.anchor = {"theta": torch.tensor([1.0, 1.0, 1.0])}
    omega, star = anchor.importance["theta"], anchor.anchor["theta"]

    def step(strength: float, lr: float) -> None:
        theta = learner.theta.detach().clone()
        anchor.proximal_step(learner, strength)
        expected = _closed_form(theta, anchor.anchor["theta"], lr * strength * omega)
        torch.testing.assert_close(learner.theta.detach(), expected)

    with torch.no_grad():
        learner.theta.copy_(torch.tensor([3.0, 3.0, 3.0]))
    step(2.0, 0.5)  # factors computed and cached
    step(2.0, 0.5)  # reused
    step(4.0, 0.5)  # a new strength
    learner.optimizer.param_groups[0]["lr"] = 0.1
    step(4.0, 0.1)  # a new learning rate
    anchor.consolidate(learner, {"theta": omega})  # a new anchor: the current weights
    assert not torch.equal(anchor.anchor["theta"], star)
    step(4.0, 0.1)


def test_adam_rate_before_its_first_step_is_lr_over_eps():
    learner = Quadratic("adam", 0.01)
    rate = effective_rates(learner.optimizer)[id(learner.theta)]
    assert rate == 0.01 / learner.optimizer.param_groups[0]["eps"]


def test_hebbian_after_experience_anchors_normalised_coactivation():
    torch.manual_seed(0)
    learner = Backprop(5, 3, hidden=(4,))
    x = torch.rand(30, 5)
    experience = type("E", (), {"training_data": lambda self: (x, None, None)})()
    component = HebbianConsolidation(strength=1.0, decay=0.5)
    component.after_experience(learner, experience)
    raw = coactivation(learner, x)
    for name, p in learner.named_parameters():
        expected = raw[name] / raw[name].max()
        torch.testing.assert_close(component.anchor.importance[name], expected)
        torch.testing.assert_close(component.anchor.anchor[name], p.detach())
    # a second experience: Ω ← decay·Ω + new
    component.after_experience(learner, experience)
    for name in raw:
        expected = 1.5 * raw[name] / raw[name].max()
        torch.testing.assert_close(component.anchor.importance[name], expected)
    component.after_step(learner, Batch(x[:2], torch.zeros(2, dtype=torch.long)))


def test_coactivation_is_the_same_over_several_chunks():
    torch.manual_seed(0)
    learner = Backprop(5, 3, hidden=(4,))
    x = torch.rand(50, 5)
    whole, chunked = coactivation(learner, x, batch_size=1000), coactivation(learner, x, 7)
    assert whole.keys() == chunked.keys()
    for name in whole:
        torch.testing.assert_close(chunked[name], whole[name])
