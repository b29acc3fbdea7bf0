"""Tests added where mutation testing found gaps in replay/ (docs/mutation-testing.md): no fast
test looked at the batch that replay builds (its inputs and task ids could be dropped unnoticed),
and nothing checked that replay draws from its own seeded generator rather than torch's global
one (which would make a run's data depend on whatever else consumed random numbers)."""

import torch

from continual.components.base import Batch
from continual.learners.backprop import Backprop
from continual.replay.experience_replay import Replay
from continual.scenarios.experience import as_float
from continual.scenarios.sources import synthetic
from continual.scenarios.split import class_incremental, task_incremental


def stored_rows(x_stored: torch.Tensor, x_train: torch.Tensor) -> torch.Tensor:
    """For each stored input, the index of the identical training input."""
    return (x_stored[:, None, :] == as_float(x_train)[None, :, :]).all(-1).float().argmax(1)


def test_replay_appends_stored_inputs_labels_and_task_ids_to_the_batch():
    stream = task_incremental(synthetic(samples=120, classes=4), seed=0, experiences=2)
    learner = Backprop(stream.input_dim, 4, hidden=(4,))
    replay = Replay(budget=10, replay_batch=6)
    batch = Batch(*stream[1].batch(torch.arange(5)))
    assert replay.transform_batch(learner, batch) is batch  # nothing stored yet
    replay.after_experience(learner, stream[0])
    mixed = replay.transform_batch(learner, batch)
    assert mixed.x.shape == (11, stream.input_dim) and mixed.y.shape == (11,)
    torch.testing.assert_close(mixed.x[:5], batch.x)
    torch.testing.assert_close(mixed.y[:5], batch.y)
    rows = stored_rows(mixed.x[5:], stream[0].x_train)
    torch.testing.assert_close(mixed.x[5:], as_float(stream[0].x_train[rows]))
    torch.testing.assert_close(mixed.y[5:], stream[0].y_train[rows])
    assert mixed.task.tolist() == batch.task.tolist() + [stream[0].task] * 6


def test_replay_keeps_task_ids_hidden_when_the_stream_hides_them():
    stream = class_incremental(synthetic(samples=120, classes=4), seed=0, experiences=2)
    learner = Backprop(stream.input_dim, 4, hidden=(4,))
    replay = Replay(budget=10)
    replay.after_experience(learner, stream[0])
    batch = Batch(*stream[1].batch(torch.arange(4))[:2])
    mixed = replay.transform_batch(learner, batch)
    assert mixed.task is None and len(mixed.y) == 8  # replay_batch defaults to the batch size


def test_replay_draws_only_from_its_own_seeded_generator():
    stream = class_incremental(synthetic(samples=120, classes=4), seed=0, experiences=2)
    learner = Backprop(stream.input_dim, 4, hidden=(4,))
    batch = Batch(*stream[1].batch(torch.arange(4))[:2])
    drawn = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        replay = Replay(budget=10)
        replay.reseed(3)
        state = torch.get_rng_state()
        replay.after_experience(learner, stream[0])
        drawn.append(replay.transform_batch(learner, batch).x[4:])
        assert torch.equal(torch.get_rng_state(), state)  # the global generator is untouched
    torch.testing.assert_close(drawn[0], drawn[1])  # same replay seed, same samples
