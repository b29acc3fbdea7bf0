import torch

from continual.components.base import Batch
from continual.replay.buffer import Buffer
from continual.replay.experience_replay import Replay
from continual.scenarios.sources import synthetic
from continual.scenarios.split import class_incremental


def _stream(n, cls):
    return (
        torch.arange(n, dtype=torch.float32)[:, None],
        torch.full((n,), cls),
        torch.zeros(n, dtype=torch.long),
    )


def test_class_balanced_buffer_respects_budget_and_balance():
    buffer = Buffer(10, "class-balanced")
    for cls in range(3):
        buffer.add(*_stream(50, cls))
        counts = torch.bincount(buffer.y[: buffer.size])
        assert buffer.size == 10 and buffer.x.shape[0] == 10
        assert counts.max() - counts[counts > 0].min() <= 1
        assert len(counts.nonzero()) == cls + 1


def test_reservoir_keeps_every_sample_with_equal_probability():
    kept_early = kept_late = 0
    for seed in range(200):
        buffer = Buffer(20, "reservoir", seed=seed)
        x, y, t = _stream(200, 0)
        buffer.add(x[:100], y[:100], t[:100])
        buffer.add(x[100:], y[100:], t[100:])
        assert buffer.size == 20 and buffer.seen == 200
        values = buffer.x[: buffer.size, 0]
        assert len(values.unique()) == 20  # no duplicates
        kept_early += int((values < 100).sum())
        kept_late += int((values >= 100).sum())
    # each half should hold about half of the slots
    assert abs(kept_early - kept_late) / (kept_early + kept_late) < 0.1


def test_replay_mixes_stored_samples_into_batches():
    stream = class_incremental(synthetic(samples=300, classes=4), seed=0, experiences=2)
    replay = Replay(budget=20, replay_batch=5)
    batch = Batch(*stream[1].batch(torch.arange(8))[:2])
    assert replay.transform_batch(None, batch) is batch  # empty buffer: nothing to add
    replay.after_experience(None, stream[0])
    mixed = replay.transform_batch(None, batch)
    assert len(mixed.y) == 13
    assert set(mixed.y[8:].tolist()) <= set(stream[0].classes)
    assert replay.summary() == {"stored": 20, "budget": 20}


# The buffer draws from its own generator (found untested by mutation testing, docs/mutation-
# testing.md).


def test_buffer_sample_uses_the_buffer_generator():
    buffers = [Buffer(8, "reservoir", seed) for seed in (0, 0, 5)]
    for buffer in buffers:
        buffer.add(torch.arange(8.0)[:, None], torch.arange(8), torch.zeros(8, dtype=torch.long))
    torch.manual_seed(0)
    state = torch.get_rng_state()
    first, same, other = (b.sample(16)[1] for b in buffers)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first, same) and not torch.equal(first, other)
