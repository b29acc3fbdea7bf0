"""The one training loop: hook order, the update seam, step counting."""

import torch

from continual.components.base import Batch, Component
from continual.learners.backprop import Backprop
from continual.scenarios.sources import synthetic
from continual.scenarios.split import class_incremental
from continual.strategy import Strategy


class Recorder(Component):
    name = "recorder"

    def __init__(self):
        self.calls = []

    def before_experience(self, learner, experience):
        self.calls.append(("before_experience", experience.index))

    def transform_batch(self, learner, batch):
        self.calls.append("transform_batch")
        return batch

    def adjust_update(self, learner, batch):
        # The update is in p.grad already and not yet applied.
        self.calls.append(
            ("adjust_update", all(p.grad.abs().sum() > 0 for p in learner.parameters()))
        )

    def after_batch(self, learner, batch):
        self.calls.append("after_batch")

    def after_experience(self, learner, experience):
        self.calls.append(("after_experience", experience.index))


def test_hooks_run_in_order_with_the_update_in_grad():
    stream = class_incremental(synthetic(samples=400, classes=4), seed=0, experiences=2)
    recorder = Recorder()
    strategy = Strategy(
        Backprop(stream.input_dim, 4, hidden=(8,)), [recorder], batch_size=50, steps=2
    )
    strategy.train_experience(stream[0])
    assert recorder.calls == [
        ("before_experience", 0),
        "transform_batch",
        ("adjust_update", True),
        "after_batch",
        "transform_batch",
        ("adjust_update", True),
        "after_batch",
        ("after_experience", 0),
    ]
    assert strategy.step == 2 and strategy.samples_seen == 100


class ZeroUpdate(Component):
    name = "freeze"

    def adjust_update(self, learner, batch):
        for p in learner.parameters():
            p.grad.zero_()


def test_adjust_update_controls_what_the_optimizer_applies():
    stream = class_incremental(synthetic(samples=200, classes=4), seed=0, experiences=2)
    learner = Backprop(stream.input_dim, 4, hidden=(8,), optimizer="sgd", lr=0.5)
    before = [p.detach().clone() for p in learner.parameters()]
    Strategy(learner, [ZeroUpdate()], steps=3).train_experience(stream[0])
    assert all(torch.equal(a, b) for a, b in zip(before, learner.parameters()))


def test_transform_batch_replaces_what_is_learned():
    class Doubler(Component):
        def transform_batch(self, learner, batch):
            return Batch(torch.cat([batch.x, batch.x]), torch.cat([batch.y, batch.y]), None)

    stream = class_incremental(synthetic(samples=200, classes=4), seed=0, experiences=2)
    strategy = Strategy(
        Backprop(stream.input_dim, 4, hidden=(8,)), [Doubler()], batch_size=10, steps=3
    )
    strategy.train_experience(stream[0])
    assert strategy.samples_seen == 60


def test_epochs_cover_every_sample_once_per_epoch():
    stream = class_incremental(synthetic(samples=200, classes=4), seed=0, experiences=2)
    seen = []

    class Spy(Component):
        def transform_batch(self, learner, batch):
            seen.append(batch.x)
            return batch

    strategy = Strategy(
        Backprop(stream.input_dim, 4, hidden=(8,)), [Spy()], epochs=2, batch_size=16
    )
    strategy.train_experience(stream[0])
    n = stream[0].train_size
    assert strategy.step == 2 * -(-n // 16)
    first_epoch = torch.cat(seen[: -(-n // 16)])
    assert torch.equal(first_epoch.sum(0), stream[0].x_train.sum(0)) or torch.allclose(
        first_epoch.sum(0), stream[0].x_train.sum(0), atol=1e-4
    )
