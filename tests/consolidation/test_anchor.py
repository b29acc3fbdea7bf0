"""The proximal consolidation step: stable for any λ·Ω·η, lands on the penalised minimiser."""

import pytest
import torch
from torch import nn

from continual.components.base import Batch
from continual.consolidation.anchor import Anchor, effective_rates
from continual.consolidation.ewc import EWC
from continual.learners.base import Learner, make_optimizer

TARGET = torch.tensor([1.0, 1.0, -2.0])
CURVATURE = torch.tensor([1.0, 1.0, 0.5])


class Quadratic(Learner):
    """A learner whose update is the gradient of L(θ) = ½ Σ a (θ − c)²."""

    def __init__(self, optimizer: str, lr: float, momentum: float = 0.0):
        super().__init__(3, 3)
        self.theta = nn.Parameter(torch.zeros(3))
        self.optimizer = make_optimizer(optimizer, self.parameters(), lr, momentum)

    def local_update(self, x, y, task):
        self.theta.grad = CURVATURE * (self.theta.detach() - TARGET)
        return {}


def _train(learner: Quadratic, importance: torch.Tensor, strength: float, steps: int) -> None:
    ewc = EWC(strength=strength)
    ewc.anchor.importance = {"theta": importance}
    ewc.anchor.anchor = {"theta": torch.zeros(3)}
    batch = Batch(torch.zeros(1, 3), torch.zeros(1, dtype=torch.long))
    for _ in range(steps):
        learner.observe(batch.x, batch.y)
        ewc.after_step(learner, batch)
        assert torch.isfinite(learner.theta).all()


def _minimiser(importance: torch.Tensor, strength: float) -> torch.Tensor:
    # argmin ½a(θ − c)² + ½λΩθ²  =  a·c / (a + λΩ)
    return CURVATURE * TARGET / (CURVATURE + strength * importance)


@pytest.mark.parametrize(
    "optimizer, lr, momentum, steps",
    [("sgd", 0.5, 0.0, 400), ("sgd", 0.1, 0.9, 1500), ("adam", 0.05, 0.0, 3000)],
)
def test_a_huge_strength_stays_finite_and_lands_on_the_penalised_minimiser(
    optimizer, lr, momentum, steps
):
    importance = torch.tensor([1.0, 0.0, 2.0])
    learner = Quadratic(optimizer, lr, momentum)
    _train(learner, importance, strength=1e6, steps=steps)  # λ·Ω·η up to 1e6
    torch.testing.assert_close(
        learner.theta.detach(), _minimiser(importance, 1e6), atol=2e-4, rtol=0
    )
    assert abs(float(learner.theta.detach()[1]) - 1.0) < 1e-3  # an unimportant weight stays free


@pytest.mark.parametrize("optimizer, momentum", [("sgd", 0.0), ("sgd", 0.9), ("adam", 0.0)])
def test_importance_differences_above_the_old_cap_are_preserved(optimizer, momentum):
    # η = 0.1: the old pull capped λΩ at 1/η = 10, making Ω = 100 and Ω = 1000 identical
    importance = torch.tensor([100.0, 1000.0, 0.0])
    learner = Quadratic(optimizer, 0.1 if optimizer == "sgd" else 0.02, momentum)
    _train(learner, importance, strength=1.0, steps=3000)
    expected = _minimiser(importance, 1.0)
    torch.testing.assert_close(learner.theta.detach(), expected, rtol=0.02, atol=1e-4)
    theta = learner.theta.detach()
    assert float(theta[0]) > 5 * float(theta[1])


def test_effective_rates_follow_the_optimiser():
    p = nn.Parameter(torch.zeros(2))
    sgd = torch.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5)
    assert effective_rates(sgd)[id(p)] == pytest.approx(0.1 * 0.5 / 0.1)
    adam = torch.optim.Adam([p], lr=0.01, betas=(0.9, 0.99), eps=1e-8)
    p.grad = torch.tensor([2.0, 0.0])
    adam.step()
    rate = effective_rates(adam)[id(p)]
    v_hat = torch.tensor([0.01 * 4.0, 0.0]) / (1 - 0.99)  # (1 − β2)·g², bias-corrected
    torch.testing.assert_close(rate, 0.01 / (v_hat.sqrt() + 1e-8))
    # a long history of zero gradients, then g = 0.5 on the second weight: v̂ ≈ 0.0025·(1 − β2)
    # would give a rate 10× the steady one; the floor v̂ ≥ g² gives η / (|g| + ε)
    for _ in range(200):
        p.grad = torch.tensor([2.0, 0.0])
        adam.step()
    p.grad = torch.tensor([2.0, 0.5])
    adam.step()
    rate = effective_rates(adam)[id(p)]
    assert float(rate[1]) == pytest.approx(0.01 / 0.5, rel=1e-6)
    second = adam.state[p]["exp_avg_sq"][0] / (1 - 0.99**202)
    assert float(rate[0]) == pytest.approx(0.01 / (float(second.sqrt()) + 1e-8), rel=1e-6)


def test_proximal_step_is_the_closed_form():
    learner = Quadratic("sgd", 0.5)
    anchor = Anchor()
    anchor.importance = {"theta": torch.tensor([1.0, 3.0, 0.0])}
    anchor.anchor = {"theta": torch.tensor([1.0, 1.0, 1.0])}
    with torch.no_grad():
        learner.theta.copy_(torch.tensor([3.0, 3.0, 3.0]))
    anchor.proximal_step(learner, strength=2.0)
    # (θ + ηλΩθ*) / (1 + ηλΩ) with ηλΩ = 1, 3, 0
    torch.testing.assert_close(learner.theta.detach(), torch.tensor([2.0, 1.5, 3.0]))


def test_proximal_step_sees_importance_edited_in_place_between_steps():
    learner = Quadratic("sgd", 0.5)
    anchor = Anchor()
    anchor.importance = {"theta": torch.zeros(3)}
    anchor.anchor = {"theta": torch.ones(3)}
    with torch.no_grad():
        learner.theta.copy_(torch.full((3,), 3.0))
    anchor.proximal_step(learner, strength=2.0)  # Ω = 0: nothing moves (and the factors cached)
    torch.testing.assert_close(learner.theta.detach(), torch.full((3,), 3.0))
    anchor.importance["theta"].fill_(1.0)  # ηλΩ = 1 now: θ ← (3 + 1) / 2
    anchor.proximal_step(learner, strength=2.0)
    torch.testing.assert_close(learner.theta.detach(), torch.full((3,), 2.0))


# The cached factors of the proximal step follow every change of strength, rate and anchor; Adam's
# rate before its first step (found untested by mutation testing, docs/mutation-testing.md).


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
