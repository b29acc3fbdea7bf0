import torch

from continual.evaluation.evaluator import Evaluator
from continual.learners.backprop import Backprop
from continual.scenarios.experience import merge
from continual.scenarios.sources import digits, synthetic
from continual.scenarios.split import class_incremental, task_incremental
from continual.strategy import Strategy


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
