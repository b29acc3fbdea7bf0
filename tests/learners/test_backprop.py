import pytest
import torch

from continual.errors import ConfigError
from continual.evaluation.evaluator import Evaluator
from continual.learners.backprop import Backprop, inverted_dropout, squared_error
from continual.scenarios.experience import merge
from continual.scenarios.sources import digits, synthetic
from continual.scenarios.split import class_incremental, task_incremental
from continual.strategy import Strategy
from tests.learners.helpers import digits_iid_accuracy


def test_backprop_learns_digits_iid():
    torch.manual_seed(0)
    stream = class_incremental(digits(), seed=0, experiences=1)
    learner = Backprop(stream.input_dim, 10)
    Strategy(learner, epochs=10, batch_size=32).train_experience(stream[0])
    assert Evaluator(stream)(learner)[0] > 0.95


def test_task_labels_restrict_the_output_to_the_tasks_classes():
    stream = task_incremental(synthetic(classes=6), seed=0, experiences=3)
    learner = Backprop(stream.input_dim, 6, hidden=(8,))
    learner.add_task(1, stream[1].classes)
    scores = learner.restrict(torch.zeros(2, 6), torch.tensor([1, 1]))
    outside = [c for c in range(6) if c not in stream[1].classes]
    assert (
        torch.isinf(scores[:, outside]).all()
        and torch.isfinite(scores[:, list(stream[1].classes)]).all()
    )


def test_joint_training_on_merged_tasks_registers_every_task():
    stream = task_incremental(synthetic(classes=6), seed=0, experiences=3)
    learner = Backprop(stream.input_dim, 6, hidden=(8,))
    Strategy(learner, steps=1).train_experience(merge(list(stream)))
    assert {t: tuple(c) for t, c in learner.task_classes.items()} == {
        e.task: e.classes for e in stream
    }


def test_state_dict_round_trip_keeps_weights_tasks_and_optimizer():
    stream = task_incremental(synthetic(classes=6), seed=0, experiences=3)
    learner = Backprop(stream.input_dim, 6, hidden=(8,))
    Strategy(learner, steps=3).train_experience(stream[0])
    clone = Backprop(stream.input_dim, 6, hidden=(8,))
    clone.load_state_dict(learner.state_dict())
    x = stream[0].x_test
    assert torch.equal(clone.predict(x), learner.predict(x))
    assert clone.task_classes == learner.task_classes
    assert (
        clone.optimizer.state_dict()["state"].keys()
        == learner.optimizer.state_dict()["state"].keys()
    )


def test_batch_masked_loss_ignores_absent_classes():
    torch.manual_seed(0)
    learner = Backprop(4, 5, hidden=(6,), loss_classes="batch")
    x, y = torch.rand(8, 4), torch.tensor([1, 3] * 4)
    learner.zero_update()
    learner.local_update(x, y, None)
    output_bias = learner.net[-1].bias.grad
    assert (output_bias[[0, 2, 4]] == 0).all() and (output_bias[[1, 3]] != 0).all()


# -- SRC's protocol: squared error on a ReLU output, dropout (Tadros et al. 2022) ----------------


def _src_learner(**options) -> Backprop:
    learner = Backprop(
        3, 3, hidden=(2,), bias=False, loss="squared-error", output_activation="relu", **options
    )
    with torch.no_grad():
        learner.net[0].weight.copy_(torch.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]]))
        learner.net[2].weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 1.0], [0.0, -2.0]]))
    return learner


def test_squared_error_is_half_the_summed_square_averaged_over_the_batch():
    scores = torch.tensor([[0.5, 0.0, 2.0], [1.0, 1.0, 0.0]])
    y = torch.tensor([0, 2])
    # sample 0: (1 − 0.5)² + 0 + 2² = 4.25; sample 1: 1 + 1 + 1 = 3; ½·(4.25 + 3)/2
    assert float(squared_error(scores, y)) == pytest.approx(0.5 * 7.25 / 2)
    allowed = torch.tensor([[True, False, False], [True, True, True]])
    assert float(squared_error(scores, y, allowed)) == pytest.approx(0.5 * (0.25 + 3) / 2)


def test_squared_error_gradient_is_the_references_and_passes_the_output_relu():
    learner = _src_learner()
    x = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 2.0]])
    y = torch.tensor([2, 0])
    learner.zero_update()
    learner.local_update(x, y, None)
    # by hand: hidden z = [[1, 1.5], [-2, 1.5]] -> h = [[1, 1.5], [0, 1.5]];
    # output z = [[1, 0.5, -3], [0, 1.5, -3]] -> a = relu = [[1, 0.5, 0], [0, 1.5, 0]]
    h = torch.tensor([[1.0, 1.5], [0.0, 1.5]])
    a = torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.5, 0.0]])
    target = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    d_out = a - target  # nnbp.m: d{n} = −e, no ReLU derivative at the output
    expected_w2 = d_out.T @ h / 2  # nnbp.m: dW = d' * a / m
    torch.testing.assert_close(learner.net[2].weight.grad, expected_w2)
    d_hidden = (d_out @ learner.net[2].weight.detach()) * (h > 0)
    torch.testing.assert_close(learner.net[0].weight.grad, d_hidden.T @ x / 2)
    # autograd of ½Σ(y − relu(z))² agrees where the output unit is active (z > 0): unit 1
    w2 = learner.net[2].weight.detach().clone().requires_grad_()
    exact = 0.5 * ((target - torch.relu(h @ w2.T)) ** 2).sum(1).mean()
    exact.backward()
    torch.testing.assert_close(learner.net[2].weight.grad[1], w2.grad[1])
    assert (w2.grad[2] == 0).all()  # unit 2 is silent (z = −3): the exact gradient stops there,
    assert (learner.net[2].weight.grad[2] != 0).all()  # the reference's passes to the target


def test_relu_output_scores_and_its_sleep_and_hebbian_view():
    learner = _src_learner()
    x = torch.tensor([[1.0, 2.0, 0.0]])
    torch.testing.assert_close(learner.predict(x), torch.tensor([[1.0, 0.5, 0.0]]))
    output = torch.tensor([[1.0, -2.0, 0.5]])
    torch.testing.assert_close(learner.post_activity("net.2", output), torch.relu(output))
    assert learner.sleep_conversion() is None  # no biases, ReLU everywhere: a faithful chain
    linear = Backprop(3, 3, hidden=(2,), loss="squared-error")
    torch.testing.assert_close(linear.post_activity("net.2", output), output.abs())


def test_relu_output_with_cross_entropy_is_refused():
    with pytest.raises(ConfigError, match="^output_activation: 'relu' goes with loss"):
        Backprop(3, 3, output_activation="relu")


def test_squared_error_respects_task_and_batch_masks():
    learner = Backprop(4, 4, hidden=(3,), loss="squared-error", loss_classes="batch")
    learner.zero_update()
    learner.local_update(torch.rand(6, 4), torch.tensor([1, 3] * 3), None)
    grad = learner.net[-1].weight.grad
    assert (grad[[0, 2]] == 0).all() and grad[[1, 3]].abs().sum(1).gt(0).all()


def test_inverted_dropout_mask_and_scaling_by_hand():
    h = torch.arange(1.0, 9.0).view(2, 4)
    out = inverted_dropout(h, 0.25, torch.Generator().manual_seed(3))
    keep = torch.rand(2, 4, generator=torch.Generator().manual_seed(3)) > 0.25
    torch.testing.assert_close(out, torch.where(keep, h / 0.75, torch.zeros(())))
    many = inverted_dropout(torch.ones(400, 500), 0.25, torch.Generator().manual_seed(0))
    assert torch.allclose(many.unique(), torch.tensor([0.0, 4 / 3]))
    assert abs(float(many.mean()) - 1.0) < 0.01  # E[output] = h (200,000 draws: sd 0.0012)
    assert abs(float((many == 0).float().mean()) - 0.25) < 0.005


def test_dropout_acts_on_hidden_layers_in_training_only():
    torch.manual_seed(0)
    learner = Backprop(5, 3, hidden=(64, 64), dropout=0.5)
    x = torch.rand(8, 5)
    learner.train()
    first, second = learner.predict(x), learner.predict(x)
    torch.testing.assert_close(first, second)  # no dropout in predict, even in training mode
    torch.testing.assert_close(first, learner.net(x))
    torch.manual_seed(1)
    dropped = learner.training_outputs(x)
    torch.manual_seed(1)  # the same masks, drawn by hand: one per hidden layer, input kept
    h = x
    for index in (0, 2):
        h = torch.relu(learner.net[index](h))
        h = h * (torch.rand(h.shape) > 0.5) / 0.5
    torch.testing.assert_close(dropped, learner.net[4](h))
    assert not torch.allclose(dropped, first)


def test_dropout_zero_keeps_the_random_stream_and_the_update():
    torch.manual_seed(0)
    plain = Backprop(5, 3, hidden=(4,))
    torch.manual_seed(0)
    zero = Backprop(5, 3, hidden=(4,), dropout=0.0)
    x, y = torch.rand(6, 5), torch.tensor([0, 1, 2, 0, 1, 2])
    for learner in (plain, zero):
        learner.zero_update()
        torch.manual_seed(5)
        learner.local_update(x, y, None)
    assert all(torch.equal(a.grad, b.grad) for a, b in zip(plain.parameters(), zero.parameters()))


def test_src_network_learns_digits_iid():
    torch.manual_seed(0)
    learner = Backprop(
        64,
        10,
        hidden=(100,),
        bias=False,
        optimizer="sgd",
        lr=0.5,
        momentum=0.5,
        init_scale=0.05,
        loss="squared-error",
        output_activation="relu",
        dropout=0.25,
    )
    assert digits_iid_accuracy(learner, epochs=10, batch_size=100) > 0.9
