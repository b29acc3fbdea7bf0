import pytest
import torch

from continual.errors import ContinualError
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
