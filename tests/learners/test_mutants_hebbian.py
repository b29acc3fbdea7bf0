"""SoftHebb learner tests added where mutation testing showed the suite could not tell a broken
rule from the right one (docs/mutation-testing.md): the softmax temperature, the anti-Hebbian
losers inside the learner, the readout's bias and its competition (batch / task restricted), the
features the readout reads with more than one layer, and the settings' bounds."""

import math

import pytest
import torch
import torch.nn.functional as F

from continual.errors import ConfigError
from continual.learners.hebbian import (
    Hebbian,
    adaptive_rate,
    scaled_by_largest,
    softhebb_update,
)
from tests.learners.helpers import update_of, updates_by_module


def test_softhebb_rule_divides_by_the_temperature():
    # u = (1, 0), τ = 0.5: y = softmax(u / τ) = (e²/(e²+1), 1/(e²+1)); u · τ would give e^0.5
    x = torch.tensor([[1.0, 0.0]])
    weight = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    e2 = math.exp(2.0)
    y = torch.tensor([e2 / (e2 + 1), 1 / (e2 + 1)])
    u = torch.tensor([1.0, 0.0])
    for anti, sign in ((False, 1.0), (True, -1.0)):
        signed = torch.tensor([y[0], sign * y[1]])
        expected = signed[:, None] * (x[0][None, :] - u[:, None] * weight)
        got = softhebb_update(x, weight, temperature=0.5, anti_hebbian=anti)
        torch.testing.assert_close(got, expected)
    # the loser's update, Δw_1 = y_1 · x, has the value the temperature sets: ±1/(e²+1)
    got = softhebb_update(x, weight, temperature=0.5, anti_hebbian=True)
    assert got[1, 0].item() == pytest.approx(-1 / (e2 + 1), rel=1e-6)


def _learner(**kwargs):
    torch.manual_seed(0)
    kwargs.setdefault("hidden", (6,))
    learner = Hebbian(5, 4, temperature=0.7, **kwargs)
    torch.manual_seed(1)
    x, y = torch.randn(8, 5), torch.tensor([0, 1, 0, 1, 2, 0, 1, 2])  # class 3 absent
    return learner, x, y


def test_feature_update_is_the_anti_hebbian_rule_times_the_adaptive_rate():
    learner, x, y = _learner()
    assert learner.anti_hebbian  # the default is SoftHebb's: losers learn anti-Hebbian
    weight = learner.layers[0].weight.detach().clone()
    grads = updates_by_module(learner, update_of(learner, x, y))
    inputs = learner.layer_inputs(x)  # after the update: centred by the mean it has just taken
    rule = softhebb_update(inputs[0], weight, 0.7, True)
    expected = -adaptive_rate(weight) * scaled_by_largest(rule)
    plain = -adaptive_rate(weight) * scaled_by_largest(
        softhebb_update(inputs[0], weight, 0.7, False)
    )
    assert not torch.allclose(expected, plain)  # the case tells the two rules apart
    torch.testing.assert_close(grads["layers.0.weight"], expected)


def _readout_error(learner, x, y, allowed):
    """onehot(y) − softmax over the allowed classes of V f (the delta rule's error)."""
    features = learner.layer_inputs(x)[-1]
    scores = learner.readout(features).masked_fill(~allowed, float("-inf"))
    return F.one_hot(y, 4).float() - torch.softmax(scores, 1), features


def test_readout_bias_follows_the_delta_rule_and_all_classes_compete_by_default():
    learner, x, y = _learner()
    learner.readout.weight.data.normal_()
    learner.readout.bias.data.normal_()
    grads = updates_by_module(learner, update_of(learner, x, y))
    error, features = _readout_error(learner, x, y, torch.ones(8, 4, dtype=torch.bool))
    torch.testing.assert_close(grads["readout.weight"], -(error.T @ features) / 8)
    torch.testing.assert_close(grads["readout.bias"], -error.mean(0))
    assert float(grads["readout.bias"][3].abs()) > 1e-3  # the absent class is pushed down
    # the statistic: mean L1 norm of the error per sample (the same batch again: same mean)
    stats = learner.local_update(x, y, None)
    torch.testing.assert_close(stats["readout_error"], error.abs().sum(1).mean())


def test_batch_competition_leaves_absent_classes_alone():
    learner, x, y = _learner(readout_competition="batch")
    learner.readout.weight.data.normal_()
    present = torch.tensor([True, True, True, False]).expand(8, 4)
    grads = updates_by_module(learner, update_of(learner, x, y))
    error, features = _readout_error(learner, x, y, present)
    torch.testing.assert_close(grads["readout.weight"], -(error.T @ features) / 8)
    assert torch.equal(grads["readout.weight"][3], torch.zeros(6))
    assert torch.equal(grads["readout.bias"][3], torch.tensor(0.0))


def test_task_labels_restrict_the_readout_competition():
    learner, x, y = _learner()
    learner.readout.weight.data.normal_()
    learner.add_task(0, [0, 1])
    learner.add_task(1, [2, 3])
    task = (y >= 2).long()
    allowed = torch.tensor([[True, True, False, False], [False, False, True, True]])[task]
    grads = updates_by_module(learner, update_of(learner, x, y, task))
    error, features = _readout_error(learner, x, y, allowed)
    torch.testing.assert_close(grads["readout.weight"], -(error.T @ features) / 8)


def test_frozen_features_get_a_zero_update():
    learner, x, y = _learner(train_features=False)
    learner.zero_update()
    learner.local_update(x, y, None)
    assert torch.equal(learner.layers[0].weight.grad, torch.zeros(6, 5))


def test_two_feature_layers_the_readout_reads_the_last():
    learner, x, _ = _learner(hidden=(7, 6))
    features = learner.layer_inputs(x)
    assert features[-1].shape == (8, 6)
    torch.testing.assert_close(learner.predict(x), learner.readout(features[-1]))


def test_post_activity_is_relu_for_features_and_softmax_for_the_readout():
    learner, _, _ = _learner()
    output = torch.tensor([[1.0, -2.0, 0.5, 3.0], [-1.0, 0.0, 2.0, 1.0], [0.0, 0.0, 0.0, 9.0]])
    torch.testing.assert_close(learner.post_activity("layers.0", output), F.relu(output))
    probabilities = learner.post_activity("readout", output)
    torch.testing.assert_close(probabilities, torch.softmax(output, dim=1))
    torch.testing.assert_close(probabilities.sum(1), torch.ones(3))


@pytest.mark.parametrize("field", ["temperature", "hebbian_lr", "init_radius"])
def test_positive_settings_refuse_zero_naming_the_field(field):
    expected = rf"^{field}: must be positive \(allowed: > 0\), got 0.0$"
    with pytest.raises(ConfigError, match=expected) as caught:
        Hebbian(5, 4, **{field: 0.0})
    assert caught.value.field == field
    Hebbian(5, 4, **{field: 1e-6})  # any positive value is accepted


def test_features_are_normalised_rectified_powers_of_a_bias_free_layer():
    learner = Hebbian(3, 2, hidden=(2,), center=False, feature_power=2.0)
    assert learner.layers[0].bias is None  # SoftHebb's u = W x has no bias
    learner.layers[0].weight.data = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, -1.0]])
    x = torch.tensor([[3.0, 0.0, 4.0], [0.0, 2.0, 0.0]])
    inputs = learner.layer_inputs(x)
    # each row L2-normalised: (0.6, 0, 0.8) and (0, 1, 0)
    torch.testing.assert_close(inputs[0], torch.tensor([[0.6, 0.0, 0.8], [0.0, 1.0, 0.0]]))
    # u = (0.6, −0.8) → relu² = (0.36, 0) → (1, 0); u = (0, 1) → (0, 1)
    torch.testing.assert_close(inputs[1], torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
