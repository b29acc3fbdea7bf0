"""Deep generative replay: what it replays, how it labels it, that it keeps no samples, that a
checkpoint resumes it exactly, and that it learns class-incremental digits far above finetune."""

import copy
import io

import torch

from continual.components.base import Batch
from continual.evaluation.evaluator import Evaluator
from continual.learners.backprop import Backprop
from continual.replay.generative import GenerativeReplay
from continual.scenarios.experience import as_float
from continual.scenarios.sources import digits, synthetic
from continual.scenarios.split import class_incremental, task_incremental
from continual.strategy import Strategy

SMALL_VAE = {"hidden": (32,), "latent": 4}


def _stream(experiences: int = 3, task: bool = False):
    split = task_incremental if task else class_incremental
    return split(synthetic(samples=300, classes=2 * experiences), seed=0, experiences=experiences)


def _trained_on_first(task: bool = False, weighting: str = "contexts"):
    stream = _stream(task=task)
    torch.manual_seed(0)
    learner = Backprop(stream.input_dim, 6, hidden=(16,), lr=0.01)
    replay = GenerativeReplay(**SMALL_VAE, weighting=weighting)
    strategy = Strategy(learner, [replay], epochs=3, batch_size=16)
    strategy.train_experience(stream[0])
    return stream, learner, replay, strategy


def test_replayed_inputs_are_labelled_by_the_frozen_previous_model_with_old_classes():
    stream, learner, replay, _ = _trained_on_first()
    replay.before_experience(learner, stream[1])
    snapshot = copy.deepcopy(learner)
    batch = Batch(*stream[1].batch(torch.arange(8))[:2])
    old = list(stream[0].classes)
    with torch.no_grad():  # the learner swaps its two old classes; the labels stay the snapshot's
        for p in (learner.net[-1].weight, learner.net[-1].bias):
            p[old] = p[old[::-1]].clone()
    mixed = replay.transform_batch(learner, batch)
    assert len(mixed.y) == 16  # one replayed input per current one in the second experience
    torch.testing.assert_close(mixed.x[:8], batch.x)
    assert mixed.y[:8].tolist() == batch.y.tolist()
    x, y = mixed.x[8:], mixed.y[8:]
    assert set(y.tolist()) <= set(old)
    expected = torch.tensor(old)[snapshot.predict(x)[:, old].argmax(1)]
    assert y.tolist() == expected.tolist()
    now = torch.tensor(old)[learner.predict(x)[:, old].argmax(1)]
    assert now.tolist() != expected.tolist()  # the current learner would label them otherwise


def test_nothing_is_replayed_in_the_first_experience_and_more_later_when_weighted_by_contexts():
    stream, learner, replay, strategy = _trained_on_first()
    batch = Batch(*stream[0].batch(torch.arange(8))[:2])
    fresh = GenerativeReplay(**SMALL_VAE)
    fresh.before_experience(learner, stream[0])
    assert fresh.transform_batch(learner, batch) is batch
    strategy.train_experience(stream[1])
    replay.before_experience(learner, stream[2])  # the third experience: t - 1 = 2 per input
    assert len(replay.transform_batch(learner, batch).y) == 8 + 16
    equal = _trained_on_first(weighting="equal")
    equal[3].train_experience(stream[1])
    equal[2].before_experience(equal[1], stream[2])
    assert len(equal[2].transform_batch(equal[1], batch).y) == 16


def test_replayed_samples_take_the_task_of_their_label_in_task_incremental_streams():
    stream, learner, replay, _ = _trained_on_first(task=True)
    replay.before_experience(learner, stream[1])
    batch = Batch(*stream[1].batch(torch.arange(4)))
    mixed = replay.transform_batch(learner, batch)
    assert mixed.task[:4].tolist() == [stream[1].task] * 4
    assert mixed.task[4:].tolist() == [stream[0].task] * 4


def test_the_vae_learns_the_batches_the_learner_trained_on():
    stream = class_incremental(digits(), seed=0, experiences=5)
    learner = Backprop(stream.input_dim, 10, hidden=(16,))
    replay = GenerativeReplay(**SMALL_VAE)
    Strategy(learner, [replay], epochs=10, batch_size=16).train_experience(stream[0])
    x = as_float(stream[0].x_train).flatten(1)
    g = torch.Generator().manual_seed(0)
    untrained = GenerativeReplay(**SMALL_VAE)
    untrained.before_experience(learner, stream[0])
    # the loss's floor: the inputs' own entropy (the pixels are not all 0 or 1)
    floor = torch.nn.functional.binary_cross_entropy(x, x, reduction="none").sum(1).mean()
    assert replay.vae.loss(x, g) - floor < 0.6 * (untrained.vae.loss(x, g) - floor)


def _tensors(state):
    if isinstance(state, torch.Tensor):
        yield state
    elif isinstance(state, dict):
        for value in state.values():
            yield from _tensors(value)
    elif isinstance(state, (list, tuple)):
        for value in state:
            yield from _tensors(value)


def test_no_sample_of_the_stream_is_kept():
    stream, learner, replay, strategy = _trained_on_first()
    strategy.train_experience(stream[1])
    data = torch.cat([as_float(e.x_train) for e in stream] + [as_float(e.x_test) for e in stream])
    held = list(_tensors(replay.state_dict())) + [
        v for v in vars(replay).values() if isinstance(v, torch.Tensor)
    ]
    assert held  # the VAE, its frozen copy and the frozen learner
    for tensor in held:
        if tensor.dim() and tensor.shape[-1] == data.shape[1]:
            rows = tensor.reshape(-1, data.shape[1]).to(data.dtype)
            assert not bool((rows[:, None] == data[None]).all(-1).any()), tensor.shape
    assert replay.summary()["stored"] == 0


def test_checkpoint_resumes_exactly(tmp_path):
    stream, learner, replay, strategy = _trained_on_first()
    buffer = io.BytesIO()
    torch.save(strategy.state_dict(), buffer)
    strategy.train_experience(stream[1])  # the uninterrupted run
    buffer.seek(0)
    torch.manual_seed(5)
    resumed_learner = Backprop(stream.input_dim, 6, hidden=(16,), lr=0.01)
    resumed = Strategy(resumed_learner, [GenerativeReplay(**SMALL_VAE)], epochs=3, batch_size=16)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    resumed.train_experience(stream[1])
    for a, b in zip(learner.parameters(), resumed_learner.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(replay.vae.parameters(), resumed.components[0].vae.parameters()):
        assert torch.equal(a, b)
    assert resumed.components[0].summary() == replay.summary()


def test_generative_replay_learns_class_incremental_digits_far_above_finetune():
    stream = class_incremental(digits(), seed=0, experiences=5)
    accuracy = {}
    for name, components in (
        ("finetune", []),
        ("dgr", [GenerativeReplay(hidden=(200,), latent=20)]),
    ):
        torch.manual_seed(0)
        learner = Backprop(stream.input_dim, 10, hidden=(200,))
        strategy = Strategy(learner, components, steps=150, batch_size=64)
        for experience in stream:
            strategy.train_experience(experience)
        accuracy[name] = sum(Evaluator(stream)(learner)) / len(stream)
    assert accuracy["finetune"] < 0.3, accuracy
    assert accuracy["dgr"] > 0.5, accuracy
