"""The one training step and loop: hook order, the update seam, step counting, the abilities
checked once, extra losses, and offline batches through the same step."""

import copy

import pytest
import torch
import torch.nn.functional as F

from continual.components.base import Batch, Component
from continual.consolidation.ewc import EWC
from continual.errors import ContinualError, Diverged
from continual.learners.abilities import NegativePhase
from continual.learners.backprop import Backprop
from continual.learners.forward_forward import ForwardForward
from continual.scenarios.sources import synthetic
from continual.scenarios.split import class_incremental
from continual.sleep.replay_sleep import ReplaySleep
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

    def before_step(self, learner, batch):
        # The update is in p.grad already and not yet applied.
        self.calls.append(
            ("before_step", all(p.grad.abs().sum() > 0 for p in learner.parameters()))
        )

    def after_step(self, learner, batch):
        self.calls.append("after_step")

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
        ("before_step", True),
        "after_step",
        "transform_batch",
        ("before_step", True),
        "after_step",
        ("after_experience", 0),
    ]
    assert strategy.step == 2 and strategy.samples_seen == 100


class ZeroUpdate(Component):
    name = "freeze"

    def before_step(self, learner, batch):
        for p in learner.parameters():
            p.grad.zero_()


def test_before_step_controls_what_the_optimizer_applies():
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


class NeedsNegativePhase(Component):
    """A component that needs an ability Backprop lacks."""

    name = "needs-negative"
    requires = (NegativePhase,)


def test_a_missing_ability_is_refused_once_naming_learner_component_and_ability():
    with pytest.raises(ContinualError) as error:
        Strategy(Backprop(4, 2, hidden=(3,)), [NeedsNegativePhase()])
    message = str(error.value)
    assert "needs-negative" in message and "Backprop" in message
    assert "NegativePhase" in message and "negative phase" in message
    Strategy(ForwardForward(4, 2, hidden=(3,)), [NeedsNegativePhase()])  # has it: accepted


class Scaled(Component):
    """An extra loss c·Σ outputs², and the update it left in p.grad before the step."""

    name = "scaled"

    def __init__(self, c):
        self.c, self.grads = c, []

    def extra_loss(self, learner, batch, outputs):
        return self.c * outputs.square().sum()

    def before_step(self, learner, batch):
        self.grads.append([p.grad.clone() for p in learner.parameters()])


def test_the_extra_loss_joins_the_gradient_as_autograd_computes_it():
    torch.manual_seed(0)
    learner = Backprop(5, 3, hidden=(4,))
    x, y = torch.randn(6, 5), torch.tensor([0, 1, 2, 0, 1, 2])
    reference = copy.deepcopy(learner)
    outputs = reference.net(x)
    loss = F.cross_entropy(outputs, y) + 0.3 * outputs.square().sum()
    expected = torch.autograd.grad(loss, list(reference.parameters()))
    component = Scaled(0.3)
    Strategy(learner, [component]).train_step(Batch(x, y))
    for got, want in zip(component.grads[0], expected):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)
    plain = torch.autograd.grad(F.cross_entropy(reference.net(x), y), [reference.net[0].weight])
    assert not torch.allclose(component.grads[0][0], plain[0])  # the term did change it


class Offline(Component):
    """An offline phase of ``steps`` fixed batches after each experience."""

    name = "offline"

    def __init__(self, x, y, steps=3):
        self.x, self.y, self.steps = x, y, steps

    def offline_batches(self, learner, experience):
        for _ in range(self.steps):
            yield Batch(self.x, self.y)


def test_offline_batches_pass_through_every_components_step_hooks_and_counts():
    stream = class_incremental(synthetic(samples=400, classes=4), seed=0, experiences=2)
    recorder = Recorder()
    x, y = stream[0].x_train[:7], stream[0].y_train[:7]
    strategy = Strategy(
        Backprop(stream.input_dim, 4, hidden=(8,)),
        [Offline(x, y, steps=2), recorder],
        batch_size=50,
        steps=1,
    )
    strategy.train_experience(stream[0])
    step = ["transform_batch", ("before_step", True), "after_step"]
    # the offline component's after_experience, then its batches, then the next component's
    expected = [("before_experience", 0), *step, *step, *step, ("after_experience", 0)]
    assert recorder.calls == expected
    assert (strategy.step, strategy.samples_seen) == (1, 50)  # the curves' axis: the stream's
    assert (strategy.offline_steps, strategy.offline_samples) == (2, 14)


def test_consolidations_proximal_pull_acts_on_replay_sleeps_batches():
    """EWC consolidates before replay sleep's offline phase; with a huge strength its pull keeps
    every weight at its anchor through that phase, where replay sleep alone moves them."""
    stream = class_incremental(synthetic(samples=400, classes=4), seed=0, experiences=2)

    def weights_after(components):
        torch.manual_seed(0)
        learner = Backprop(stream.input_dim, 4, hidden=(8,), optimizer="sgd", lr=0.1)
        strategy = Strategy(learner, components, batch_size=50, steps=3)
        strategy.train_experience(stream[0])
        return learner

    alone = weights_after([ReplaySleep(steps=20, batch_size=16)])
    ewc = EWC(strength=1e12)
    pulled = weights_after([ewc, ReplaySleep(steps=20, batch_size=16)])
    moved = False
    for (name, p), q in zip(pulled.named_parameters(), alone.parameters()):
        anchored = ewc.anchor.importance[name] > 0  # a silent unit's synapses have no Fisher
        assert anchored.float().mean() > 0.5
        anchor = ewc.anchor.anchor[name][anchored]
        torch.testing.assert_close(p[anchored], anchor, rtol=0, atol=1e-6)
        moved |= not torch.allclose(q[anchored], anchor, atol=1e-3)
    assert moved  # without the pull, the same offline batches move those weights


def test_a_non_finite_loss_in_an_offline_phase_is_caught_and_named():
    stream = class_incremental(synthetic(samples=200, classes=4), seed=0, experiences=2)
    bad = torch.full_like(stream[0].x_train[:5], float("nan"))
    strategy = Strategy(
        Backprop(stream.input_dim, 4, hidden=(8,)), [Offline(bad, stream[0].y_train[:5])], steps=1
    )
    with pytest.raises(Diverged, match="offline batch 1 of offline"):
        strategy.train_experience(stream[0])


def test_a_component_with_an_extra_loss_needs_a_global_loss_even_undeclared():
    with pytest.raises(ContinualError, match="scaled needs .* GlobalLoss .* ForwardForward"):
        Strategy(ForwardForward(4, 2, hidden=(3,)), [Scaled(1.0)])
