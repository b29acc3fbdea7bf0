import pytest
import torch

from continual.errors import ConfigError, ContinualError
from continual.learners.backprop import Backprop
from continual.learners.forward_forward import ForwardForward
from continual.scenarios.sources import synthetic
from continual.scenarios.split import class_incremental
from continual.sleep.replay_sleep import ClassStatistics, ReplaySleep
from continual.strategy import Strategy


def test_class_statistics_are_exact_running_moments():
    stats = ClassStatistics()
    stats.add(torch.tensor([[1.0], [3.0]]), torch.tensor([0, 0]))
    stats.add(torch.tensor([[5.0], [7.0]]), torch.tensor([0, 1]))
    assert torch.allclose(stats.mean[0], torch.tensor([3.0]))
    assert torch.allclose(stats.square[0] - stats.mean[0] ** 2, torch.tensor([8 / 3]))
    x, y = stats.sample(100, torch.Generator().manual_seed(0), (1,))
    assert set(y.tolist()) <= {0, 1} and ((x >= 1) & (x <= 7)).all()


def test_negative_only_needs_forward_forward():
    with pytest.raises(ContinualError, match="negative phase"):
        Strategy(Backprop(4, 2, hidden=(3,)), [ReplaySleep(negative_only=True)])


def test_offline_negative_phase_lowers_goodness_of_wrong_labels_on_old_classes():
    torch.manual_seed(0)
    stream = class_incremental(synthetic(samples=400, classes=4), seed=0, experiences=2)
    learner = ForwardForward(stream.input_dim, 4, hidden=(32,), threshold=5.0)
    Strategy(learner, epochs=3).train_experience(stream[0])
    x = stream[0].x_test
    before = learner.goodness_scores(x).detach()
    sleep = ReplaySleep(steps=50, negative_only=True)
    strategy = Strategy(learner, [sleep])
    sleep.after_experience(learner, stream[0])
    for batch in sleep.offline_batches(learner, stream[0]):
        strategy.train_step(batch)
    after = learner.goodness_scores(x).detach()
    true = torch.nn.functional.one_hot(stream[0].y_test, 4).bool()
    assert after[~true].mean() < before[~true].mean()
    assert sleep.summary()["steps"] == 50


# The parts mutation testing found untested (docs/mutation-testing.md): the generated samples
# follow each class's diagonal Gaussian inside the range seen, every offline step is one learner
# update on a batch of the set size, the buffer source replays stored samples, the settings'
# bounds, the seeded generator and checkpoints.


def test_running_range_is_the_elementwise_min_and_max_of_all_batches():
    stats = ClassStatistics()
    stats.add(torch.tensor([[1.0, 5.0], [2.0, -1.0]]), torch.tensor([0, 0]))
    stats.add(torch.tensor([[0.0, 3.0]]), torch.tensor([1]))
    stats.add(torch.tensor([[4.0, 2.0]]), torch.tensor([1]))
    assert stats.low.tolist() == [0.0, -1.0] and stats.high.tolist() == [4.0, 5.0]
    assert stats.count == {0: 2, 1: 2}
    torch.testing.assert_close(stats.mean[1], torch.tensor([2.0, 2.5]))
    torch.testing.assert_close(stats.square[1], torch.tensor([8.0, 6.5]))


def test_generated_samples_follow_each_class_gaussian():
    stats = ClassStatistics()
    torch.manual_seed(0)
    # class 0: mean (10, -10), std (1, 3); class 1: mean (0, 0), std (2, 0.3); class 2 only
    # widens the range seen, so that clipping does not matter for classes 0 and 1
    x0 = torch.randn(4000, 2) * torch.tensor([1.0, 3.0]) + torch.tensor([10.0, -10.0])
    x1 = torch.randn(4000, 2) * torch.tensor([2.0, 0.3])
    stats.add(
        torch.cat([x0, x1, torch.tensor([[-100.0, -100.0], [100.0, 100.0]])]),
        torch.tensor([0] * 4000 + [1] * 4000 + [2, 2]),
    )
    x, y = stats.sample(6000, torch.Generator().manual_seed(1), (1, 2))
    assert x.shape == (6000, 1, 2) and y.shape == (6000,)
    share = float((y == 0).float().mean())
    assert 0.3 < share < 0.37  # classes drawn uniformly
    for cls in (0, 1):
        members = x[y == cls].flatten(1)
        mean, var = stats.mean[cls], stats.square[cls] - stats.mean[cls].square()
        torch.testing.assert_close(members.mean(0), mean, atol=0.15, rtol=0.0)
        torch.testing.assert_close(members.std(0), var.sqrt(), atol=0.15, rtol=0.05)


def test_generated_samples_are_clipped_to_the_range_seen():
    stats = ClassStatistics()
    stats.add(torch.tensor([[0.0], [1.0]]), torch.tensor([0, 0]))  # mean 0.5, std 0.5
    x, _ = stats.sample(2000, torch.Generator().manual_seed(0), (1,))
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0  # both bounds reached and kept


class _Experience:
    def __init__(self, x, y):
        self.x_train, self.y_train = x, y


def _offline(sleep, x, y):
    """What sleep hands the training step after an experience of ``x``, ``y`` (no learner:
    replay sleep stores and draws data only)."""
    experience = _Experience(x, y)
    sleep.after_experience(None, experience)
    batches = sleep.offline_batches(None, experience)
    return [(b.x.clone(), b.y.clone(), b.task, b.negative_only) for b in batches]


def test_each_step_is_one_update_on_a_batch_of_generated_samples():
    sleep = ReplaySleep(steps=3, batch_size=5)
    x = torch.rand(20, 2, 3)
    batches = _offline(sleep, x, torch.arange(20) % 4)
    assert len(batches) == 3
    for xs, ys, task, negative_only in batches:
        assert xs.shape == (5, 2, 3) and ys.shape == (5,) and task is None
        assert set(ys.tolist()) <= {0, 1, 2, 3} and not negative_only
    assert sleep.summary() == {"steps": 3, "source": "generated"}
    negative = ReplaySleep(steps=2, batch_size=4, negative_only=True)
    batches = _offline(negative, x, torch.arange(20) % 4)
    assert [b[3] for b in batches] == [True, True]


def test_the_buffer_source_replays_stored_samples():
    sleep = ReplaySleep(steps=4, batch_size=6, source="buffer", budget=50)
    x = torch.arange(20 * 3, dtype=torch.uint8).view(20, 3)  # stored as uint8 images
    y = torch.arange(20) % 2
    batches = _offline(sleep, x, y)
    stored = {tuple((row.float() / 255).tolist()): int(label) for row, label in zip(x, y)}
    assert len(batches) == 4
    for xs, ys, _, _ in batches:
        assert xs.dtype == torch.float32 and len(xs) == 6  # replayed as floats in [0, 1]
        for row, label in zip(xs, ys):
            assert stored[tuple(row.tolist())] == int(label)  # a stored sample, its own label
    assert sleep.summary() == {"steps": 4, "source": "buffer"}


@pytest.mark.parametrize("field", ["steps", "batch_size"])
def test_counts_below_one_are_refused_naming_the_field(field):
    expected = rf"^{field}: must be at least 1 \(allowed: in \[1, 1000000000\]\), got 0$"
    with pytest.raises(ConfigError, match=expected) as caught:
        ReplaySleep(**{field: 0})
    assert caught.value.field == field
    ReplaySleep(**{field: 1})


def test_documented_defaults():
    sleep = ReplaySleep()
    assert (sleep.steps, sleep.batch_size, sleep.source) == (100, 32, "generated")
    assert sleep.buffer is None and not sleep.negative_only
    assert sleep.generator.initial_seed() == 0
    assert sleep.shape == ()
    buffered = ReplaySleep(source="buffer")
    assert (buffered.buffer.budget, buffered.buffer.policy) == (200, "class-balanced")


def _replays(sleep, x, y):
    return [(xs, ys) for xs, ys, _, _ in _offline(sleep, x, y)]


@pytest.mark.parametrize("source", ["generated", "buffer"])
def test_replay_draws_only_from_its_own_seeded_generator(source):
    x, y = torch.rand(40, 3), torch.arange(40) % 4
    torch.manual_seed(0)
    state = torch.get_rng_state()

    def seeded(seed):
        sleep = ReplaySleep(steps=3, batch_size=8, source=source, budget=12)
        sleep.reseed(seed)
        return sleep

    first = _replays(seeded(3), x, y)
    assert torch.equal(torch.get_rng_state(), state)  # torch's global generator untouched
    again = _replays(seeded(3), x, y)
    other = _replays(seeded(0), x, y)
    for (a, b), (c, d) in zip(first, again):
        assert torch.equal(a, c) and torch.equal(b, d)
    assert any(not torch.equal(a, c) for (a, _), (c, _) in zip(first, other))


def test_a_checkpointed_replay_sleep_continues_identically():
    x, y = torch.rand(40, 3), torch.arange(40) % 4
    for source in ("generated", "buffer"):
        sleep = ReplaySleep(steps=2, batch_size=5, source=source, budget=12)
        sleep.reseed(1)
        _replays(sleep, x, y)
        state = sleep.state_dict()
        assert state["shape"] == [3] and state["total_steps"] == 2
        clone = ReplaySleep(steps=2, batch_size=5, source=source, budget=12)
        clone.reseed(9)
        clone.load_state_dict(state)
        assert clone.summary() == sleep.summary() and clone.shape == (3,)
        assert torch.equal(clone._replayed()[0], sleep._replayed()[0]), source
        if source == "generated":
            statistics = clone.statistics
            assert statistics.count == sleep.statistics.count
            for cls in range(4):
                assert torch.equal(statistics.mean[cls], sleep.statistics.mean[cls])
                assert torch.equal(statistics.square[cls], sleep.statistics.square[cls])
            assert torch.equal(statistics.low, sleep.statistics.low)
            assert torch.equal(statistics.high, sleep.statistics.high)


def test_the_negative_only_check_names_the_learner_and_accepts_the_rest():
    from continual.components.base import check_components
    from continual.errors import ContinualError
    from continual.learners.backprop import Backprop
    from continual.learners.forward_forward import ForwardForward

    check_components(Backprop(4, 2, hidden=(3,)), [ReplaySleep()])  # full replay: any learner
    check_components(ForwardForward(4, 2, hidden=(3,)), [ReplaySleep(negative_only=True)])
    with pytest.raises(ContinualError, match="NegativePhase.*the Backprop learner does not"):
        check_components(Backprop(4, 2, hidden=(3,)), [ReplaySleep(negative_only=True)])
