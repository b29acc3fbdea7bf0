"""Predictive-coding tests added where mutation testing showed the suite could not tell a broken
learner from the right one (docs/mutation-testing.md): free output nodes in exact mode (the
update is then the gradient of the squared error over the clamped outputs only), task labels
freeing the other tasks' outputs, and the energy the learner reports."""

import torch
import torch.nn.functional as F

from tests.learners.helpers import update_of
from tests.learners.test_predictive_coding import _setup


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
