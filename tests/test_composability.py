"""Every learner × every component runs end to end on the synthetic stream, or is refused with a
clear message where the combination is meaningless."""

import pytest
import torch

from continual import registry, runner, specs
from continual.errors import ContinualError
from continual.specs import Section, StrategySpec, Training

SMALL = {
    "backprop": {"hidden": [32, 32], "lr": 0.005},
    "ff": {"hidden": [16, 16], "threshold": 5.0, "lr": 0.01},
    "pc": {"hidden": [16, 16], "lr": 0.01},
    "hebbian": {"hidden": [32]},
    "generative-classifier": {"hidden": [16], "latent": 2, "lr": 0.01, "importance_samples": 5},
    "random-features": {"hidden": [32]},
    "softhebb-conv": {"channels": 8, "kernel": 3},
}
FAST = {
    "sleep": {"steps": 30, "steps_increment": 10},
    "replay-sleep": {"steps": 5},
    "ewc": {"fisher_samples": 50},
    "replay": {"budget": 30},
    "generative-replay": {"hidden": [16], "latent": 4},
}
# refused combinations and what their message must say
REFUSED = {
    ("ff", "lwf"): "backprop",
    ("pc", "lwf"): "backprop",
    ("hebbian", "lwf"): "backprop",
    ("generative-classifier", "lwf"): "backprop",
    ("random-features", "lwf"): "backprop",
    ("random-features", "critical-period"): "never trains its features",
    ("generative-classifier", "sleep"): "Sleepable ability \\(a feed-forward chain",
    ("softhebb-conv", "lwf"): "backprop",
    ("softhebb-conv", "sleep"): "Sleepable ability \\(a feed-forward chain",
}


def _spec(learner: str, component: str | None) -> StrategySpec:
    parts = () if component is None else (component,)
    return StrategySpec(
        "+".join((learner, *parts)),
        "",
        Section({"name": learner, **SMALL[learner]}, "test", "", "learner"),
        Training(epochs=5, batch_size=16),
        tuple(Section({"name": c, **FAST.get(c, {})}, "test", "", "components") for c in parts),
    )


_ALONE: dict[str, list[torch.Tensor]] = {}


def _weights_after_two_experiences(scenario, learner: str, component: str | None):
    """Final weights after two experiences, same seed: a component that does nothing leaves
    them exactly as the learner alone does (training is deterministic)."""
    torch.manual_seed(0)
    stream = runner.build_stream(scenario, 0)
    strategy = runner.build_strategy(_spec(learner, component), stream, seed=0)
    for experience in list(stream)[:2]:
        strategy.train_experience(experience)
    return [p.detach().clone() for p in strategy.learner.parameters()]


def _alone(scenario, learner: str) -> list[torch.Tensor]:
    if learner not in _ALONE:
        _ALONE[learner] = _weights_after_two_experiences(scenario, learner, None)
    return _ALONE[learner]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    from tests.conftest import SYNTHETIC_SCENARIO, write

    return specs.load_scenario(
        str(write(tmp_path_factory.mktemp("s"), "syn.toml", SYNTHETIC_SCENARIO))
    )


@pytest.mark.parametrize("component", sorted(registry.COMPONENTS))
@pytest.mark.parametrize("learner", sorted(registry.LEARNERS))
def test_learner_with_component(scenario, learner, component):
    spec = _spec(learner, component)
    if (learner, component) in REFUSED:
        with pytest.raises(ContinualError, match=REFUSED[learner, component]):
            runner.run(scenario, spec, seed=0)
        return
    result = runner.run(scenario, spec, seed=0)
    R = result["accuracy_matrix"]
    assert len(R) == 4 and all(0.0 <= a <= 1.0 for row in R for a in row)
    # the first experience was learned (chance is 1/2 within an experience's 2 classes)
    assert R[1][0] > 0.7, R
    assert component in result["components"]
    assert result["timings"][component] >= 0.0


@pytest.mark.parametrize("component", sorted(registry.COMPONENTS))
@pytest.mark.parametrize("learner", sorted(registry.LEARNERS))
def test_the_component_changes_what_the_learner_ends_with(scenario, learner, component):
    if (learner, component) in REFUSED:
        return
    with_it = _weights_after_two_experiences(scenario, learner, component)
    alone = _alone(scenario, learner)
    assert any(not torch.equal(a, b) for a, b in zip(with_it, alone)), (
        f"{component} changed nothing for {learner}"
    )
