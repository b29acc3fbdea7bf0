"""Robustness: noise and FGSM accuracies per experience, for learners with and without autograd."""

import torch

from continual import runner, specs
from continual.evaluation.evaluator import Evaluator
from continual.evaluation.robustness import robustness


def trained(scenario_path, strategy):
    scenario = specs.load_scenario(str(scenario_path))
    spec = specs.load_strategy(strategy)
    stream = runner.build_stream(scenario, 0)
    strategy = runner.build_strategy(spec, stream, 0)
    for experience in stream:
        strategy.train_experience(experience)
    return Evaluator(stream), strategy.learner


def test_fgsm_hurts_more_than_noise_and_leaves_the_learner_alone(synthetic_scenario):
    evaluator, learner = trained(synthetic_scenario, "finetune")
    before = {k: p.detach().clone() for k, p in learner.named_parameters()}
    clean = evaluator(learner)
    result = robustness(evaluator, learner, noise=[0.0, 0.5], fgsm=[0.0, 0.5])
    assert result["noise"][0]["accuracy"] == clean  # σ = 0 is the clean accuracy
    assert result["fgsm"][0]["accuracy"] == clean
    assert len(result["fgsm"][1]["accuracy"]) == len(clean)
    attacked, noisy = (sum(result[k][1]["accuracy"]) for k in ("fgsm", "noise"))
    assert attacked < noisy <= sum(clean) + 0.1  # the gradient direction hurts most
    assert attacked < 0.5 * sum(clean)
    assert all(torch.equal(before[k], p) for k, p in learner.named_parameters())


def test_fgsm_reaches_local_learners_through_predict(synthetic_scenario):
    for name in ("pc", "hebbian"):
        evaluator, learner = trained(synthetic_scenario, name)
        clean = sum(evaluator(learner))
        (entry,) = robustness(evaluator, learner, fgsm=[1.0])["fgsm"]
        assert entry["gradient"] and sum(entry["accuracy"]) < clean, name


def test_fgsm_says_when_predict_has_no_input_gradient(synthetic_scenario):
    evaluator, learner = trained(synthetic_scenario, "ff")  # layers see detached inputs
    (entry,) = robustness(evaluator, learner, fgsm=[1.0])["fgsm"]
    assert not entry["gradient"] and entry["accuracy"] == evaluator(learner)
