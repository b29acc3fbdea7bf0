"""The critical period: features move during the first experience(s) only; the readout keeps
learning; the count survives a checkpoint."""

import torch

from continual.components.base import Batch
from continual.consolidation.critical_period import CriticalPeriod
from continual.learners.hebbian import Hebbian
from continual.readouts.slda import StreamingLDA
from continual.scenarios.sources import synthetic
from continual.scenarios.split import class_incremental
from continual.strategy import Strategy


def _run(experiences_of_learning: int):
    torch.manual_seed(0)
    stream = class_incremental(synthetic(samples=300, features=12, classes=6), 0, experiences=3)
    learner = Hebbian(
        stream.input_dim, stream.num_classes, hidden=(16,), readout_competition="batch"
    )
    strategy = Strategy(learner, [CriticalPeriod(experiences=experiences_of_learning)], epochs=2)
    weights = []
    for experience in stream:
        strategy.train_experience(experience)
        weights.append([layer.weight.detach().clone() for layer in learner.layers])
    return learner, weights


def test_features_learn_in_the_period_and_never_after():
    learner, weights = _run(1)
    first, second, third = weights
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert all(torch.equal(a, b) for a, b in zip(second, third))
    _, free = _run(2)  # a two-experience period: the second experience still moves them
    assert not all(torch.equal(a, b) for a, b in zip(free[0], free[1]))
    assert all(torch.equal(a, b) for a, b in zip(free[1], free[2]))


def test_the_readout_keeps_learning_after_the_period():
    torch.manual_seed(0)
    learner = Hebbian(12, 4, hidden=(8,))
    learner.attach_readout(StreamingLDA(8, 4))
    period = CriticalPeriod(experiences=1)
    period.seen = 1  # after the period
    batch = period.transform_batch(learner, Batch(torch.randn(20, 12), torch.randint(0, 4, (20,))))
    features = [p.detach().clone() for p in learner.layers.parameters()]
    readout = learner.readout.weight.detach().clone()
    learner.observe(batch.x, batch.y)
    assert all(torch.equal(a, p) for a, p in zip(features, learner.layers.parameters()))
    assert not torch.equal(readout, learner.readout.weight)  # its own delta-rule readout moved


def test_the_count_survives_a_checkpoint():
    period = CriticalPeriod(experiences=2)
    period.seen = 3
    again = CriticalPeriod(experiences=2)
    again.load_state_dict(period.state_dict())
    assert again.seen == 3 and again.summary() == {"experiences_learning_features": 2}
