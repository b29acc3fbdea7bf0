import pytest
import torch
from torch import nn

from continual import registry
from continual.components.base import Batch
from continual.consolidation.anchor import Anchor
from continual.consolidation.hebbian import HebbianConsolidation, coactivation, normalized
from continual.errors import ConfigError
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
    component.after_step(learner, Batch(torch.zeros(1, 3), torch.zeros(1, dtype=torch.long)))
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


# -- bounded importance and a strength that means the same on every layer size ------------------


def test_mean_accumulation_is_the_decay_weighted_mean_of_the_experiences():
    learner = _tiny()
    anchor = Anchor()
    for value in (1.0, 2.0, 3.0):
        anchor.consolidate(learner, _filled(learner, value), decay=0.5, average=True)
    # weights 0.25, 0.5, 1 on importances 1, 2, 3: (0.25 + 1 + 3) / 1.75
    expected = (0.25 * 1 + 0.5 * 2 + 1 * 3) / 1.75
    torch.testing.assert_close(anchor.importance["net.0.weight"], torch.full((2, 3), expected))
    assert anchor.weight == 1.75
    plain = Anchor()  # decay 1: the plain mean over experiences
    for value in (1.0, 2.0, 6.0):
        plain.consolidate(learner, _filled(learner, value), average=True)
    torch.testing.assert_close(plain.importance["net.2.bias"], torch.full((2,), 3.0))


def test_mean_accumulation_stays_bounded_over_many_experiences_where_the_sum_grows():
    learner = _tiny()
    mean, total = Anchor(), Anchor()
    for _ in range(200):
        mean.consolidate(learner, _filled(learner, 1.0), average=True)
        total.consolidate(learner, _filled(learner, 1.0))
    torch.testing.assert_close(mean.importance["net.0.weight"], torch.ones(2, 3))
    assert torch.equal(total.importance["net.0.weight"], torch.full((2, 3), 200.0))


def test_the_running_weight_survives_a_state_dict_round_trip():
    learner = _tiny()
    anchor = Anchor()
    for value in (1.0, 4.0):
        anchor.consolidate(learner, _filled(learner, value), decay=0.5, average=True)
    restored = Anchor()
    restored.load_state_dict(anchor.state_dict())
    for target in (anchor, restored):  # a third experience lands in the same place
        target.consolidate(learner, _filled(learner, 7.0), decay=0.5, average=True)
    torch.testing.assert_close(restored.importance["net.0.bias"], anchor.importance["net.0.bias"])
    expected = (0.25 * 1 + 0.5 * 4 + 7) / 1.75
    torch.testing.assert_close(anchor.importance["net.0.bias"], torch.full((2,), expected))


def _sparse_digits(inputs: int, silent: float, seed: int) -> torch.Tensor:
    """Pixels in [0, 1], a share ``silent`` of them never lit (MNIST's empty borders)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(200, inputs, generator=generator)
    lit = torch.rand(inputs, generator=generator) >= silent
    return x * lit * (torch.rand(200, inputs, generator=generator) < 0.4)


def _first_layer_penalty_per_synapse(normalize: str, inputs: int, silent: float) -> float:
    """½ Σ Ω (θ − θ*)² / n over the first layer after a uniform displacement of every synapse
    by δ = 0.1: the layer's pull on its average synapse."""
    torch.manual_seed(0)
    learner = Backprop(inputs, 10, hidden=(32,))
    x = _sparse_digits(inputs, silent, seed=inputs)
    experience = type("E", (), {"training_data": lambda self: (x, None, None)})()
    component = HebbianConsolidation(normalize=normalize)
    component.after_experience(learner, experience)
    omega = component.anchor.importance["net.0.weight"]
    return float(0.5 * (omega * 0.1**2).sum() / omega.numel())


def test_mean_normalisation_gives_a_64_and_a_784_input_layer_the_same_pull():
    # 64 inputs mostly lit (digits), 784 inputs with 35 % never lit (MNIST borders): under the
    # mean normalisation a uniform displacement costs ½·δ² per synapse in both, so one strength
    # means the same on both; under the max normalisation the pull depends on the input
    # statistics (the max is one extreme synapse, the mean falls with the silent share)
    small = _first_layer_penalty_per_synapse("mean", 64, silent=0.05)
    large = _first_layer_penalty_per_synapse("mean", 784, silent=0.35)
    assert small == pytest.approx(0.5 * 0.1**2) and large == pytest.approx(0.5 * 0.1**2)
    small = _first_layer_penalty_per_synapse("max", 64, silent=0.05)
    large = _first_layer_penalty_per_synapse("max", 784, silent=0.35)
    assert small > 1.3 * large


def test_normalize_takes_the_earlier_switch_and_refuses_other_values():
    assert HebbianConsolidation(normalize=True).normalize == "max"
    assert HebbianConsolidation(normalize=False).normalize == "none"
    with pytest.raises(ConfigError, match="normalize"):
        registry.build("component", {"name": "consolidation", "normalize": "median"})
    with pytest.raises(ConfigError, match="accumulate"):
        registry.build("component", {"name": "consolidation", "accumulate": "max"})
    built = registry.build("component", {"name": "consolidation", "normalize": "mean"})
    assert built.normalize == "mean" and built.accumulate == "sum"


def test_normalised_scales_each_tensor_to_max_or_mean_one():
    importance = torch.tensor([[0.0, 1.0], [2.0, 5.0]])
    torch.testing.assert_close(normalized(importance, "max"), importance / 5)
    torch.testing.assert_close(normalized(importance, "mean"), importance / 2)
    assert normalized(importance, "none") is importance
    assert torch.equal(normalized(torch.zeros(3), "mean"), torch.zeros(3))


def _filled(learner, value: float) -> dict[str, torch.Tensor]:
    return {n: torch.full_like(p, value) for n, p in learner.named_parameters()}


# Hebbian consolidation's own after_experience and the coactivation over several chunks (found
# untested by mutation testing, docs/mutation-testing.md).


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
