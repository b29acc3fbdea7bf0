import torch

from continual.learners.hebbian import Hebbian, adaptive_rate, softhebb_update
from tests.learners.helpers import digits_iid_accuracy, perturbed, update_of, updates_by_module


def test_softhebb_rule_on_a_hand_computed_case():
    x = torch.tensor([[1.0, 0.0]])
    weight = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # u = (1, 0); y = softmax(u / τ) with τ = 1: (e/(e+1), 1/(e+1)); neuron 1 loses → anti-Hebbian
    e = torch.e
    y = torch.tensor([e / (e + 1), -1 / (e + 1)])
    u = torch.tensor([1.0, 0.0])
    expected = y[:, None] * (x[0][None, :] - u[:, None] * weight)
    got = softhebb_update(x, weight, temperature=1.0, anti_hebbian=True)
    assert torch.allclose(got, expected)
    # the winner is already the input with unit norm: Oja's decay cancels its Hebbian term
    assert torch.allclose(got[0], torch.zeros(2))
    # the loser (u_1 = 0, so Δw_1 = y_1 · x with y_1 < 0) is pushed away from the input
    assert got[1, 0] < 0 and got[1, 1] == 0


def test_adaptive_rate_vanishes_at_unit_norm():
    weight = torch.tensor([[0.6, 0.8], [3.0, 4.0]])
    assert torch.allclose(adaptive_rate(weight).squeeze(), torch.tensor([0.0, 2.0]))


def test_update_of_a_layer_ignores_the_layers_above():
    torch.manual_seed(0)
    x, y = torch.rand(16, 12), torch.randint(0, 4, (16,))
    learner = Hebbian(12, 4, hidden=(10, 8))
    base = updates_by_module(learner, update_of(learner, x, y))
    changed = perturbed(learner, ["layers.1", "readout"])
    after = updates_by_module(changed, update_of(changed, x, y))
    assert torch.equal(base["layers.0.weight"], after["layers.0.weight"])
    assert not torch.equal(base["layers.1.weight"], after["layers.1.weight"])


def test_readout_follows_the_delta_rule():
    torch.manual_seed(0)
    x, y = torch.rand(8, 12), torch.randint(0, 4, (8,))
    learner = Hebbian(12, 4, hidden=(10,))
    learner.readout.weight.data.normal_()
    grads = updates_by_module(learner, update_of(learner, x, y))
    features = learner.layer_inputs(x)[-1]
    error = torch.nn.functional.one_hot(y, 4) - torch.softmax(learner.readout(features), 1)
    assert torch.allclose(grads["readout.weight"], -(error.T @ features) / 8, atol=1e-6)


def test_hebbian_learns_digits():
    torch.manual_seed(0)
    assert digits_iid_accuracy(Hebbian(64, 10), epochs=20) >= 0.97


def test_hebbian_features_beat_their_untrained_control_on_every_seed():
    # At 300 units a random layer already reaches ~97.5 % on digits, so the gain is inside the
    # seed spread there; with 30 units the features must carry the information: measured
    # +10.8, +13.6, +8.3 points on seeds 0-2 (10 epochs), so a 5-point margin per seed is real.
    for seed in (0, 1):
        torch.manual_seed(seed)
        learned = digits_iid_accuracy(Hebbian(64, 10, hidden=(30,)), epochs=10)
        torch.manual_seed(seed)
        control = digits_iid_accuracy(Hebbian(64, 10, hidden=(30,), train_features=False), 10)
        assert learned > control + 0.05, (seed, learned, control)
