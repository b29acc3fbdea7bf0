"""A statistics readout attached to a learner (learners/base.py: features, attach_readout,
scores, observe feeding it) and the untrained-feature control, for every learner."""

from __future__ import annotations

import copy

import pytest
import torch

from continual.consolidation.ewc import EWC
from continual.consolidation.hebbian import HebbianConsolidation
from continual.errors import ContinualError
from continual.evaluation.evaluator import Evaluator
from continual.learners.backprop import Backprop
from continual.learners.base import Learner
from continual.learners.forward_forward import ForwardForward
from continual.learners.hebbian import Hebbian
from continual.learners.predictive_coding import PredictiveCoding
from continual.learners.random_features import RandomFeatures
from continual.readouts.slda import StreamingLDA, fit_statistics, lda_predict
from continual.scenarios.sources import digits
from continual.scenarios.split import class_incremental
from continual.strategy import Strategy

LEARNERS = {
    "backprop": lambda: Backprop(64, 10, hidden=(32,), weight_decay=0.1),
    "ff": lambda: ForwardForward(64, 10, hidden=(16, 16)),
    "pc": lambda: PredictiveCoding(64, 10, hidden=(16,)),
    "hebbian": lambda: Hebbian(64, 10, hidden=(24,)),
    "random-features": lambda: RandomFeatures(64, 10, hidden=(24,)),
}
WIDTHS = {"backprop": 32, "ff": 32, "pc": 16, "hebbian": 24, "random-features": 24}


def stream():
    return class_incremental(digits(), seed=0, experiences=5)


def make(name: str, readout: bool, train_features: bool = True) -> Learner:
    torch.manual_seed(0)
    learner = LEARNERS[name]()
    head = StreamingLDA(WIDTHS[name], 10, shrinkage=1e-2) if readout else None
    learner.attach_readout(head, train_features=train_features)
    return learner


def train(learner: Learner, experiences, components=()) -> None:
    strategy = Strategy(learner, list(components), epochs=1, batch_size=64, seed=0)
    for experience in experiences:
        strategy.train_experience(experience)


@pytest.mark.parametrize("name", LEARNERS)
def test_features_have_the_declared_width_and_feed_the_readout(name):
    learner = make(name, readout=True)
    x = digits().x_train[:10]
    assert learner.features(x).shape == (10, WIDTHS[name])
    experiences = list(stream())
    train(learner, experiences[:2])
    assert learner.statistics_readout.counts.sum() == sum(e.train_size for e in experiences[:2])
    scores = learner.scores(x)
    seen = torch.isfinite(scores[0])
    assert seen.sum() == 4  # two experiences of two classes; the others score −inf
    with torch.no_grad():
        direct = learner.statistics_readout(learner.features(x))
    assert torch.equal(scores, direct)


@pytest.mark.parametrize("name", LEARNERS)
def test_the_untrained_control_leaves_feature_weights_unchanged(name):
    learner = make(name, readout=False, train_features=False)
    before = [p.detach().clone() for p in learner.feature_parameters()]
    readout_before = [p.detach().clone() for m in learner.readout_modules() for p in m.parameters()]
    train(learner, list(stream())[:2])
    after = learner.feature_parameters()
    assert before and all(torch.equal(a, b) for a, b in zip(after, before))
    moved = [p for m in learner.readout_modules() for p in m.parameters()]
    if name != "ff" or learner.classify == "readout":  # FF's goodness needs no readout
        assert any(not torch.equal(a, b) for a, b in zip(moved, readout_before))


def test_trained_features_do_move():  # the control above is not vacuous
    learner = make("backprop", readout=False)
    before = [p.detach().clone() for p in learner.feature_parameters()]
    train(learner, list(stream())[:1])
    assert all(not torch.equal(a, b) for a, b in zip(learner.feature_parameters(), before))


def test_an_attached_readout_does_not_change_training():
    plain, read = make("backprop", readout=False), make("backprop", readout=True)
    experiences = list(stream())[:2]
    train(plain, experiences)
    train(read, experiences)
    for a, b in zip(plain.parameters(), read.parameters()):
        assert torch.equal(a, b)
    x = digits().x_test
    assert torch.equal(plain.predict(x), read.predict(x))  # predict: the learner's own readout


def test_random_features_with_slda_is_slda_on_those_features():
    learner = make("random-features", readout=True, train_features=False)
    experiences = list(stream())
    train(learner, experiences)
    x = torch.cat([e.x_train for e in experiences])
    y = torch.cat([e.y_train for e in experiences])
    test = digits().x_test
    with torch.no_grad():
        expected = lda_predict(
            learner.features(test), fit_statistics(learner.features(x), y, 10), 1e-2
        )
    torch.testing.assert_close(learner.scores(test).double(), expected, rtol=1e-5, atol=1e-3)


def test_class_incremental_accuracy_with_slda_is_well_above_chance():
    learner = RandomFeatures(64, 10, hidden=(500,))
    learner.attach_readout(StreamingLDA(500, 10))
    experiences = stream()
    train(learner, experiences)
    assert sum(Evaluator(experiences)(learner)) / 5 > 0.95  # chance 0.1; measured 0.98


@pytest.mark.parametrize("component", [EWC, HebbianConsolidation])
def test_components_work_with_a_readout_and_untrained_features(component):
    learner = make("backprop", readout=True, train_features=False)
    before = [p.detach().clone() for p in learner.feature_parameters()]
    experiences = list(stream())
    train(learner, experiences[:3], [component()])
    assert all(torch.equal(a, b) for a, b in zip(learner.feature_parameters(), before))
    accuracy = Evaluator(stream())(learner)
    assert min(accuracy[:3]) > 0.8  # the readout remembers every class it has seen


def test_state_dict_round_trip_with_an_attached_readout():
    learner = make("hebbian", readout=True)
    train(learner, list(stream())[:2])
    state = learner.state_dict()
    assert {"statistics_readout.counts", "statistics_readout.scatter"} <= set(state)
    other = make("hebbian", readout=True)
    other.load_state_dict(copy.deepcopy(state))
    x = digits().x_test
    assert torch.equal(other.scores(x), learner.scores(x))


def test_a_learner_without_features_says_so():
    class Bare(Learner):
        pass

    with pytest.raises(ContinualError, match="exposes no features"):
        Bare(4, 2).features(torch.zeros(1, 4))
