"""Our local learners as Avalanche strategies: no global backward, the documented callbacks
fire, Avalanche's own metrics see the learning, and loss-based Avalanche plugins are refused."""

from __future__ import annotations

import re

import pytest
import torch

from continual.errors import ContinualError
from continual.learners.forward_forward import ForwardForward
from continual.learners.hebbian import Hebbian
from continual.learners.predictive_coding import PredictiveCoding
from tests.avalanche.conftest import quiet_evaluator

FIRED = (
    "before_training",
    "before_training_exp",
    "before_train_dataset_adaptation",
    "after_train_dataset_adaptation",
    "before_training_epoch",
    "before_training_iteration",
    "before_forward",
    "after_forward",
    "before_update",
    "after_update",
    "after_training_iteration",
    "after_training_epoch",
    "after_training_exp",
    "after_training",
    "before_eval",
    "before_eval_exp",
    "before_eval_iteration",
    "before_eval_forward",
    "after_eval_forward",
    "after_eval_iteration",
    "after_eval_exp",
    "after_eval",
)


def callback_log():
    """A plugin that records every callback it receives, and whether ``p.grad`` already held the
    learner's update when ``before_update`` fired."""
    from avalanche.core import SupervisedPlugin

    class Log(SupervisedPlugin):
        def __init__(self):
            super().__init__()
            self.seen: set[str] = set()
            self.update_ready = []
            self.losses = []

        def after_training_iteration(self, strategy, *args, **kwargs):
            self.seen.add("after_training_iteration")
            self.losses.append(float(strategy.loss))

        def before_update(self, strategy, *args, **kwargs):
            self.seen.add("before_update")
            grads = [p.grad for p in strategy.model.parameters()]
            self.update_ready.append(
                all(g is not None for g in grads) and any(g.any() for g in grads)
            )

    def record(name):
        return lambda self, strategy, *args, **kwargs: self.seen.add(name)

    for name in set(FIRED) - {"before_update", "after_training_iteration"}:
        setattr(Log, name, record(name))
    log = Log()
    for name in ("before_backward", "after_backward"):  # on the instance: passes the refusal
        setattr(log, name, lambda strategy, *args, name=name, **kwargs: log.seen.add(name))
    return log


def test_forward_forward_strategy_learns_under_avalanche_metrics(stream, benchmark):
    from avalanche.evaluation.metrics import accuracy_metrics, forgetting_metrics

    from continual.avalanche import LearnerStrategy

    torch.manual_seed(0)
    learner = ForwardForward(16, 6, hidden=(64,), threshold=10.0, lr=0.03)
    evaluator = quiet_evaluator(
        accuracy_metrics(experience=True, stream=True),
        forgetting_metrics(experience=True, stream=True),
    )
    log = callback_log()
    strategy = LearnerStrategy(
        learner=learner, train_mb_size=32, train_epochs=5, plugins=[log], evaluator=evaluator
    )
    just_learned = []
    for index, experience in enumerate(list(benchmark.train_stream)[:2]):
        strategy.train(experience)
        scores = strategy.eval(benchmark.test_stream)
        just_learned.append(scores[f"Top1_Acc_Exp/eval_phase/test_stream/Exp00{index}"])
    # Chance is 1/6 over all classes: each experience is learned when it is trained.
    assert min(just_learned) > 0.9, just_learned
    assert "StreamForgetting/eval_phase/test_stream" in scores
    assert log.seen == set(FIRED)  # never before_backward / after_backward
    assert all(log.update_ready)
    assert min(log.losses) > 0  # strategy.loss: Forward-Forward's own layer-local loss


@pytest.mark.parametrize(
    "make",
    [
        lambda: PredictiveCoding(16, 6, hidden=(32,), lr=0.01),
        lambda: Hebbian(16, 6, hidden=(32,)),
    ],
    ids=["predictive-coding", "hebbian"],
)
def test_other_local_learners_learn_as_strategies(stream, benchmark, make):
    from continual.avalanche import LearnerStrategy

    torch.manual_seed(0)
    learner = make()
    strategy = LearnerStrategy(learner=learner, train_epochs=3, evaluator=quiet_evaluator())
    strategy.train(benchmark.train_stream[0])
    experience = stream[0]
    with torch.no_grad():
        correct = learner.predict(experience.x_test).argmax(1) == experience.y_test
    assert correct.float().mean() > 0.9  # chance: 1/6


@pytest.mark.parametrize("name", ["EWCPlugin", "SynapticIntelligencePlugin", "LwFPlugin"])
def test_loss_based_avalanche_plugins_are_refused(name):
    from avalanche.training import plugins

    from continual.avalanche import LearnerStrategy

    plugin = {
        "EWCPlugin": lambda: plugins.EWCPlugin(ewc_lambda=1.0),
        "SynapticIntelligencePlugin": lambda: plugins.SynapticIntelligencePlugin(si_lambda=1.0),
        "LwFPlugin": lambda: plugins.LwFPlugin(),
    }[name]()
    with pytest.raises(
        ContinualError, match=f"{name} acts in .*HebbianConsolidationPlugin"
    ) as error:
        LearnerStrategy(learner=ForwardForward(16, 6, hidden=(8,)), plugins=[plugin])
    statement = re.search(r"`(from continual\.\S+ import [^`]+)`", str(error.value))
    assert statement is not None, str(error.value)
    names: dict = {}
    exec(statement[1], names)  # the import the message suggests works as written
    assert {"EWC", "LwF", "SynapticIntelligence"} <= set(names)


def test_our_consolidation_runs_with_a_local_learner(benchmark):
    from continual.avalanche import ComponentPlugin, LearnerStrategy
    from continual.consolidation.si import SynapticIntelligence

    torch.manual_seed(0)
    learner = ForwardForward(16, 6, hidden=(16,), lr=0.01)
    plugin = ComponentPlugin(SynapticIntelligence(strength=1.0))
    strategy = LearnerStrategy(learner=learner, plugins=[plugin], evaluator=quiet_evaluator())
    for experience in list(benchmark.train_stream)[:2]:
        strategy.train(experience)
    # SI's path integral needs before_step (the learner's update in p.grad) and after_step
    # (the weight change) on every step: positive importances show both hooks ran.
    importance = plugin.component.anchor.importance
    assert set(importance) == {name for name, _ in learner.named_parameters()}
    assert sum(float(v.sum()) for v in importance.values()) > 0


def test_strategy_refuses_a_plain_module():
    from continual.avalanche import LearnerStrategy

    with pytest.raises(ContinualError, match="Naive and our plugins"):
        LearnerStrategy(learner=torch.nn.Linear(16, 6))


def test_our_lwf_joins_the_learners_loss_in_a_learner_strategy(benchmark):
    """LearnerStrategy never reaches Avalanche's before_backward: LwF's term reaches the learner
    as its objective, and from the second experience on it is added at every step."""
    from continual.avalanche import ComponentPlugin, LearnerStrategy
    from continual.consolidation.lwf import LwF
    from continual.learners.backprop import Backprop

    torch.manual_seed(0)
    learner = Backprop(16, 6, hidden=(16,), optimizer="sgd", lr=0.05)
    lwf = LwF(strength=1.0)
    added = []
    original = lwf.extra_loss
    lwf.extra_loss = lambda *args: added.append(term := original(*args)) or term
    strategy = LearnerStrategy(
        learner=learner, plugins=[ComponentPlugin(lwf)], evaluator=quiet_evaluator()
    )
    first, second = list(benchmark.train_stream)[:2]
    strategy.train(first)
    assert added and all(term is None for term in added)  # no teacher yet
    added.clear()
    strategy.train(second)
    assert added and all(term is not None and float(term) >= 0 for term in added)
    assert any(float(term) > 0 for term in added)


def test_construction_with_keywords_warns_nothing():
    """Avalanche warns about strategy constructors that take positional arguments (it wraps
    every subclass's __init__); ours takes keywords only, so a keyword call is silent."""
    import warnings

    from continual.avalanche import LearnerStrategy

    learner, evaluator = ForwardForward(16, 6, hidden=(8,)), quiet_evaluator()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LearnerStrategy(learner=learner, evaluator=evaluator)
    assert [str(w.message)[:80] for w in caught] == []
