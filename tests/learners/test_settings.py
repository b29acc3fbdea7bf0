"""The learners' documented defaults and settings' bounds, tested where mutation testing showed a
changed default or bound went unnoticed (docs/mutation-testing.md). The defaults are part of the
science: the docstrings report accuracies measured with them (FF θ = 50 summed goodness, SoftHebb
τ = 0.02 with anti-Hebbian losers and the reference's radius 25 and rate 0.08 · |‖w‖ − 1|^0.5, PC
with 5 inference steps), and presets rely on them."""

import inspect

import pytest
import torch

from continual.errors import ConfigError
from continual.learners.backprop import Backprop
from continual.learners.forward_forward import ForwardForward
from continual.learners.hebbian import Hebbian
from continual.learners.predictive_coding import PredictiveCoding

DEFAULTS = {
    ForwardForward: {
        "hidden": (500, 500),
        "threshold": 50.0,
        "goodness": "sum",
        "negatives": "random",
        "classify": "goodness",
        "goodness_from_layer": 0,
        "label_scale": 1.0,
        "optimizer": "adam",
        "lr": 0.002,
        "layer_lrs": None,
        "readout_lr": 0.002,
        "momentum": 0.0,
    },
    Hebbian: {
        "hidden": (300,),
        "rule": "softhebb",
        "temperature": 0.02,
        "anti_hebbian": True,
        "hebbian_lr": 0.08,
        "rate_power": 0.5,
        "init_radius": 25.0,
        "anti_hebbian_strength": 0.4,
        "rank": 2,
        "lebesgue_p": 2.0,
        "feature_power": 3.0,
        "readout_lr": 5.0,
        "momentum": 0.9,
        "train_features": True,
        "center": True,
        "readout_competition": "all",
    },
    PredictiveCoding: {
        "hidden": (256, 256),
        "activation": "gelu",
        "mode": "standard",
        "inference_steps": 5,
        "inference_rate": 0.1,
        "optimizer": "adam",
        "lr": 0.001,
        "momentum": 0.0,
        "weight_decay": 0.0,
        "output_clamp": "all",
    },
    Backprop: {
        "hidden": (400, 400),
        "activation": "relu",
        "bias": True,
        "optimizer": "adam",
        "lr": 1e-3,
        "momentum": 0.0,
        "weight_decay": 0.0,
        "init_scale": None,
        "loss_classes": "all",
        "loss": "cross-entropy",
        "output_activation": "none",
        "dropout": 0.0,
    },
}


@pytest.mark.parametrize("learner", list(DEFAULTS), ids=lambda c: c.__name__)
def test_documented_defaults(learner):
    parameters = inspect.signature(learner.__init__).parameters
    defaults = {name: p.default for name, p in parameters.items() if p.kind is p.KEYWORD_ONLY}
    assert defaults == DEFAULTS[learner]


@pytest.mark.parametrize("learner", list(DEFAULTS), ids=lambda c: c.__name__)
def test_the_defaults_reach_the_learner(learner):
    built = learner(6, 4)
    assert (built.input_dim, built.num_classes) == (6, 4)
    group = built.optimizer.param_groups[0]
    if learner is ForwardForward:
        assert (built.threshold, built.goodness_kind, built.classify) == (50.0, "sum", "goodness")
        assert [g["lr"] for g in built.optimizer.param_groups] == [0.002, 0.002, 0.002]
        assert group["betas"] == (0.9, 0.999)  # Adam
    elif learner is Hebbian:
        assert (built.rule, built.temperature, built.anti_hebbian) == ("softhebb", 0.02, True)
        assert (built.rate_power, built.power) == (0.5, 3.0)
        assert (built.strength, built.rank, built.p) == (0.4, 2, 2.0)  # Krotov's notebook
        assert built.competition == "all" and built.center and built.train_features
        readout = built.optimizer.param_groups[1]
        assert (readout["lr"], readout["momentum"]) == (5.0, 0.9)
        assert (group["lr"], group["momentum"]) == (0.08, 0.0)
        norms = built.layers[0].weight.norm(dim=1)
        torch.testing.assert_close(norms, torch.full((300,), 25.0))  # init_radius
    elif learner is PredictiveCoding:
        assert (built.mode, built.steps, built.rate, built.output_clamp) == (
            "standard",
            5,
            0.1,
            "all",
        )
        assert built.last_errors == [] and built.last_presynaptic == []


@pytest.mark.parametrize("learner", [PredictiveCoding, Backprop], ids=lambda c: c.__name__)
def test_optimiser_settings_are_passed_on(learner):
    sgd = learner(6, 4, hidden=(3,), optimizer="sgd", lr=0.3, momentum=0.7, weight_decay=0.01)
    group = sgd.optimizer.param_groups[0]
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.3, 0.7, 0.01)
    adam = learner(6, 4, hidden=(3,), weight_decay=0.02)
    assert adam.optimizer.param_groups[0]["weight_decay"] == 0.02


def test_forward_forward_momentum_and_readout_rate_are_passed_on():
    ff = ForwardForward(6, 4, hidden=(3, 3), optimizer="sgd", momentum=0.5, readout_lr=0.07)
    assert [g["momentum"] for g in ff.optimizer.param_groups] == [0.5, 0.5, 0.5]
    assert ff.optimizer.param_groups[-1]["lr"] == 0.07


REFUSED = [  # the annotations' ranges, and a rule between fields (goodness_from_layer)
    (ForwardForward, "threshold", 0.0, r"must be positive \(allowed: > 0\), got 0.0"),
    (ForwardForward, "goodness_from_layer", 2, "must index one of the 2 layers"),
    (
        PredictiveCoding,
        "inference_steps",
        -1,
        r"must be at least 0 \(allowed: in \[0, 10000\]\), got -1",
    ),
    (PredictiveCoding, "inference_rate", 0.0, r"must be positive \(allowed: > 0\), got 0.0"),
]


@pytest.mark.parametrize(("learner", "field", "value", "message"), REFUSED)
def test_bounds_refuse_naming_the_field(learner, field, value, message):
    with pytest.raises(ConfigError, match=f"^{field}: {message}$") as caught:
        learner(6, 4, hidden=(3, 3), **{field: value})
    assert caught.value.field == field


def test_bounds_accept_their_edge_values():
    x = torch.rand(5, 6)
    ff = ForwardForward(6, 4, hidden=(3, 3), threshold=1e-9, goodness_from_layer=1)
    assert (ff.threshold, ff.first_scored) == (1e-9, 1)
    pc = PredictiveCoding(6, 4, hidden=(3,), inference_steps=0, inference_rate=1e-9)
    assert (pc.steps, pc.rate) == (0, 1e-9)
    for learner in (ff, pc):  # and they work at the edge
        assert learner.predict(x).shape == (5, 4) and torch.isfinite(learner.predict(x)).all()


def test_an_unknown_negative_generator_is_named_with_a_suggestion():
    with pytest.raises(
        ConfigError, match=r"^negatives: 'hardset' is not one of .*\(did you mean 'hardest'"
    ):
        ForwardForward(6, 4, hidden=(3,), negatives="hardset")


def test_forward_forward_per_layer_learning_rates():
    ff = ForwardForward(6, 4, hidden=(3, 3), layer_lrs=(0.1, 0.2), readout_lr=0.05)
    assert [g["lr"] for g in ff.optimizer.param_groups] == [0.1, 0.2, 0.05]
    with pytest.raises(ConfigError, match="^layer_lrs: needs one learning rate per layer$") as e:
        ForwardForward(6, 4, hidden=(3, 3), layer_lrs=(0.1,))
    assert e.value.field == "layer_lrs"


@pytest.mark.parametrize("learner", [ForwardForward, PredictiveCoding], ids=lambda c: c.__name__)
def test_sgd_without_a_momentum_setting_has_none(learner):
    built = learner(6, 4, hidden=(3,), optimizer="sgd")
    assert all(group["momentum"] == 0.0 for group in built.optimizer.param_groups)
