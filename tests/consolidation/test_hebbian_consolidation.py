import torch
from torch import nn

from continual.components.base import Batch
from continual.consolidation.hebbian import HebbianConsolidation, coactivation
from continual.learners.backprop import Backprop


def _tiny():
    learner = Backprop(3, 2, hidden=(2,))
    with torch.no_grad():
        learner.net[0].weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
        learner.net[0].bias.zero_()
        learner.net[2].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        learner.net[2].bias.zero_()
    return learner


def test_importance_is_mean_absolute_coactivation():
    learner = _tiny()
    x = torch.tensor([[2.0, 1.0, 0.0], [-1.0, 0.0, 3.0]])
    importance = coactivation(learner, x)
    # first layer: post = relu(x0, 0) → postᵀ|pre| / N
    post = torch.tensor([[2.0, 0.0], [0.0, 0.0]])  # relu(2, 0), relu(−1, 0)
    expected = post.T @ x.abs() / 2
    assert torch.allclose(importance["net.0.weight"], expected)
    assert torch.allclose(importance["net.0.bias"], post.mean(0))
    assert all((v >= 0).all() for v in importance.values())
    # a synapse whose pre and post are both active is more important than one that is silent
    assert importance["net.0.weight"][0, 0] > importance["net.0.weight"][1, 0] == 0


def test_a_silent_relu_neuron_with_strong_negative_drive_gets_zero_importance():
    learner = _tiny()
    with torch.no_grad():
        learner.net[0].weight[1] = torch.tensor([-50.0, -50.0, -50.0])  # always silent
    x = torch.rand(20, 3) + 0.1
    importance = coactivation(learner, x)
    assert (importance["net.0.weight"][1] == 0).all() and importance["net.0.bias"][1] == 0
    assert (importance["net.2.weight"][:, 1] == 0).all()  # it sends nothing on either
    assert (importance["net.0.weight"][0] > 0).all()


def test_pull_restores_important_weights_and_leaves_unimportant_ones_free():
    learner = _tiny()
    learner.optimizer = torch.optim.SGD(learner.parameters(), lr=1.0)
    component = HebbianConsolidation(strength=0.5, normalize=False)
    component.anchor.consolidate(
        learner, {n: torch.zeros_like(p) for n, p in learner.named_parameters()}
    )
    # make one synapse important, then move every weight away from its anchor
    component.anchor.importance["net.0.weight"][0, 0] = 1.0
    with torch.no_grad():
        for p in learner.parameters():
            p.add_(1.0)
    before = learner.net[0].weight.detach().clone()
    component.after_batch(learner, Batch(torch.zeros(1, 3), torch.zeros(1, dtype=torch.long)))
    weight = learner.net[0].weight.detach()
    anchor = before[0, 0] - 1.0  # (θ + ηλΩθ*)/(1 + ηλΩ) with ηλΩ = 0.5
    torch.testing.assert_close(weight[0, 0], (before[0, 0] + 0.5 * anchor) / 1.5)
    assert torch.equal(weight.flatten()[1:], before.flatten()[1:])


def test_importance_accumulates_over_experiences():
    learner = _tiny()
    component = HebbianConsolidation(normalize=False)
    ones = {n: torch.ones_like(p) for n, p in learner.named_parameters()}
    component.anchor.consolidate(learner, ones)
    component.anchor.consolidate(learner, ones)
    assert torch.equal(component.anchor.importance["net.0.weight"], torch.full((2, 3), 2.0))


def test_coactivation_reaches_every_linear_layer_of_every_learner():
    from continual.learners.forward_forward import ForwardForward
    from continual.learners.hebbian import Hebbian
    from continual.learners.predictive_coding import PredictiveCoding

    x = torch.rand(10, 6)
    for learner in (
        ForwardForward(6, 3, hidden=(4,)),
        PredictiveCoding(6, 3, hidden=(4,)),
        Hebbian(6, 3, hidden=(4,)),
    ):
        importance = coactivation(learner, x)
        linear = {n for n, m in learner.named_modules() if isinstance(m, nn.Linear)}
        used = linear - {"readout"} if isinstance(learner, ForwardForward) else linear
        assert {k.rsplit(".", 1)[0] for k in importance} == used  # FF predicts by goodness
        assert all(torch.isfinite(v).all() for v in importance.values())
