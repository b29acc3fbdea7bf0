import torch
import torch.nn.functional as F

from continual.learners.predictive_coding import PredictiveCoding, weight_update
from tests.learners.helpers import digits_iid_accuracy, perturbed, update_of


def _backprop_gradients(learner, x, y):
    """Autograd's gradients of the same network's loss ½‖onehot(y) − ŷ‖², batch mean."""
    learner.zero_grad()
    out = learner.feedforward(x)[-1]
    loss = 0.5 * (F.one_hot(y, learner.num_classes).to(out.dtype) - out).square().sum(1).mean()
    loss.backward()
    return [p.grad.detach().clone() for p in learner.parameters()]


def _setup(activation="tanh", **kwargs):
    torch.manual_seed(0)
    learner = PredictiveCoding(12, 5, hidden=(9, 7, 6), activation=activation, **kwargs).double()
    x = torch.randn(16, 12, dtype=torch.float64)
    y = torch.randint(0, 5, (16,))
    return learner, x, y


def test_exact_mode_equals_backprop():
    for activation in ("tanh", "gelu", "sigmoid"):
        learner, x, y = _setup(activation, mode="exact")
        pc = update_of(learner, x, y)
        bp = _backprop_gradients(learner, x, y)
        for a, b in zip(pc, bp):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def _cosine(learner, x, y):
    pc = update_of(learner, x, y)
    bp = _backprop_gradients(learner, x, y)
    hidden = slice(0, -2)  # every layer but the output layer, which is exact at any T
    a = torch.cat([g.flatten() for g in pc[hidden]])
    b = torch.cat([g.flatten() for g in bp[hidden]])
    return float(F.cosine_similarity(a, b, dim=0))


def test_standard_mode_approaches_backprop_as_inference_converges():
    cosines = []
    for steps in (1, 3, 10, 50):
        learner, x, y = _setup(inference_steps=steps, inference_rate=0.1)
        cosines.append(_cosine(learner, x, y))
    assert all(a < b for a, b in zip(cosines, cosines[1:])), cosines
    assert cosines[0] < 0.85 and cosines[-1] > 0.95, cosines


def test_each_update_is_its_layers_error_times_its_presynaptic_activity():
    learner, x, y = _setup(inference_steps=5)
    grads = update_of(learner, x, y)
    for index, (error, pre) in enumerate(zip(learner.last_errors, learner.last_presynaptic)):
        weight, bias = weight_update(error, pre)
        assert torch.equal(grads[2 * index], weight) and torch.equal(grads[2 * index + 1], bias)
    # and nothing else: given the same errors and activities, other layers' weights do not matter
    changed = perturbed(learner, ["layers.0", "layers.2"])
    assert torch.equal(
        weight_update(learner.last_errors[1], learner.last_presynaptic[1])[0], grads[2]
    )
    assert changed.layers[1].weight.equal(learner.layers[1].weight)


def test_local_rule_matches_hand_computation():
    error = torch.tensor([[1.0, -2.0]])
    pre = torch.tensor([[3.0, 0.5, -1.0]])
    weight, bias = weight_update(error, pre)
    assert torch.equal(weight, -torch.tensor([[3.0, 0.5, -1.0], [-6.0, -1.0, 2.0]]))
    assert torch.equal(bias, torch.tensor([-1.0, 2.0]))


def test_no_backward_pass_is_used():
    learner, x, y = _setup(inference_steps=3)
    reached = []
    for p in learner.parameters():
        p.register_hook(lambda g: reached.append(g))
    grads = update_of(learner, x, y)
    assert reached == []  # autograd never reached a parameter
    assert all(float(g.abs().sum()) > 0 for g in grads)  # yet every parameter got an update


def test_predictive_coding_learns_digits():
    torch.manual_seed(0)
    assert digits_iid_accuracy(PredictiveCoding(64, 10), epochs=15) >= 0.97


def test_batch_clamp_leaves_absent_classes_free():
    learner, x, y = _setup(inference_steps=5, inference_rate=0.3, output_clamp="batch")
    y = torch.tensor([0, 2] * 8)
    update_of(learner, x, y)
    output_error = learner.last_errors[-1]
    # free outputs relaxed with the hidden nodes: zero error after inference (left at their
    # initial prediction they would carry the change of the prediction as error)
    assert torch.equal(output_error[:, [1, 3, 4]], torch.zeros(16, 3, dtype=torch.float64))
    clamped = output_error[:, [0, 2]]
    assert float(clamped.abs().mean()) > 0.1  # present classes are clamped to the target
    # the free outputs' weights change only through the hidden layers, not their own error
    assert torch.equal(update_of(learner, x, y)[-2][[1, 3, 4]], torch.zeros(3, 6).double())


def test_errors_are_the_relaxed_networks_prediction_errors_at_equilibrium():
    learner, x, y = _setup(inference_steps=400, inference_rate=0.1)  # tanh: φ is invertible
    update_of(learner, x, y)
    errors, pre = learner.last_errors, learner.last_presynaptic
    values = [torch.atanh(p) for p in pre[1:]] + [F.one_hot(y, 5).double()]
    for layer, error, p, value in zip(learner.layers, errors, pre, values):
        # ε_{l+1} = x_{l+1} − (W_l φ(x_l) + b_l) for the relaxed value nodes
        torch.testing.assert_close(error, value - layer(p), rtol=1e-6, atol=1e-8)
    for k in range(len(errors) - 1):
        # equilibrium of the energy: ε_l = φ'(x_l) ⊙ W_lᵀ ε_{l+1}
        feedback = (1 - pre[k + 1].square()) * (errors[k + 1] @ learner.layers[k + 1].weight)
        torch.testing.assert_close(errors[k], feedback, rtol=1e-4, atol=1e-6)


# The parts mutation testing found untested (docs/mutation-testing.md): free output nodes in exact
# mode (the update is then the gradient of the squared error over the clamped outputs only), task
# labels freeing the other tasks' outputs, and the energy the learner reports.


def _masked_backprop_gradients(learner, x, y, clamped):
    """Autograd's gradients of ½‖(onehot(y) − ŷ) ⊙ clamped‖², batch mean."""
    learner.zero_grad()
    out = learner.feedforward(x)[-1]
    error = (F.one_hot(y, learner.num_classes).to(out.dtype) - out) * clamped
    (0.5 * error.square().sum(1).mean()).backward()
    return [p.grad.detach().clone() for p in learner.parameters()]


def test_exact_mode_with_a_batch_clamp_is_the_gradient_over_present_classes():
    learner, x, _ = _setup("tanh", mode="exact", output_clamp="batch")
    y = torch.tensor([0, 2, 3] * 5 + [0])
    clamped = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    for a, b in zip(update_of(learner, x, y), _masked_backprop_gradients(learner, x, y, clamped)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_exact_mode_with_task_labels_is_the_gradient_within_each_task():
    learner, x, _ = _setup("sigmoid", mode="exact")
    learner.add_task(0, [0, 1])
    learner.add_task(1, [2, 3, 4])
    y = torch.tensor([0, 1, 2, 3, 4, 2, 1, 0] * 2)
    task = (y >= 2).long()
    clamped = torch.tensor([[1.0, 1, 0, 0, 0], [0, 0, 1, 1, 1]], dtype=torch.float64)[task]
    pc = update_of(learner, x, y, task)
    bp = _masked_backprop_gradients(learner, x, y, clamped)
    for a, b in zip(pc, bp):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_standard_mode_frees_the_outputs_of_other_tasks():
    learner, x, _ = _setup(inference_steps=3)
    learner.add_task(0, [0, 1])
    learner.add_task(1, [2, 3, 4])
    y = torch.tensor([0, 1, 2, 3] * 4)
    task = (y >= 2).long()
    update_of(learner, x, y, task)
    outside = torch.tensor([[False, False, True, True, True], [True, True, False, False, False]])
    output_error = learner.last_errors[-1]
    assert bool((output_error[outside[task]] == 0).all())  # free: they follow their prediction
    assert bool((output_error[~outside[task]] != 0).all())  # clamped to the target


def test_reported_energy_is_half_the_summed_squared_errors():
    learner, x, y = _setup(inference_steps=2)
    learner.zero_update()
    stats = learner.local_update(x, y, None)
    errors = learner.last_errors
    energy = sum(0.5 * (e**2).sum() / len(x) for e in errors)
    torch.testing.assert_close(stats["energy"], energy)
    torch.testing.assert_close(stats["output_error"], 0.5 * (errors[-1] ** 2).sum() / len(x))
    assert float(stats["output_error"]) < float(stats["energy"])  # hidden errors are non-zero
