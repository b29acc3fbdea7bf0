"""Every preset spec loads, and every strategy preset runs end to end on a tiny stream (its
learner, components and training as written; sleep phases and iteration counts shortened)."""

import dataclasses
import json

import pytest

from continual import runner, specs
from continual.specs import Training

STRATEGIES = sorted(specs.presets("strategies"))
IMAGE_LEARNERS = {"softhebb-conv"}  # learners that read their input as a square image


def synthetic_images(scenario_path):
    """The synthetic scenario with 64 features: 8x8 images for convolutional learners."""
    path = scenario_path.with_name("synthetic-64.toml")
    path.write_text(scenario_path.read_text().replace("features = 16", "features = 64"))
    return path


def test_presets_exist_for_every_named_strategy():
    assert set(STRATEGIES) >= {
        "finetune",
        "joint",
        "ewc",
        "si",
        "lwf",
        "replay",
        "backprop+sleep",
        "ff",
        "pc",
        "hebbian",
        "ff+consolidation",
        "ff+consolidation+sleep",
        "pc+consolidation+sleep",
        "hebbian+consolidation+sleep",
        "ff+replay-sleep",
        # like-for-like controls with the batch-local option (docs/components.md: naming)
        "finetune-batch",
        "ewc-batch",
        "si-batch",
        "lwf-batch",
        "replay-batch",
        "backprop-batch+sleep",
        "hebbian-batch",
        "ff-batch",
        "pc-batch",
        # SRC's own protocol and its no-sleep control (docs/components.md)
        "src-paper",
        "src-paper-nosleep",
        # no-storage references (van de Ven, Li & Tolias 2021)
        "dgr",
        "generative-classifier",
    }


@pytest.mark.parametrize("name", sorted(specs.presets("scenarios")))
def test_scenario_presets_load(name):
    scenario = specs.load_scenario(name)
    assert scenario.description


@pytest.mark.parametrize("name", STRATEGIES)
def test_strategy_preset_runs_end_to_end(name, synthetic_scenario):
    spec = specs.load_strategy(name)
    assert spec.description
    components = tuple(
        dataclasses.replace(c, values={**c.values, "steps": 20, "steps_increment": 0})
        if c.name == "sleep"
        else c
        for c in spec.components
    )
    training = spec.training  # iterations capped at 100 (SRC's protocol takes 100) for speed
    if training.steps is not None:
        training = dataclasses.replace(training, steps=min(training.steps, 100))
    spec = dataclasses.replace(spec, components=components, training=training)
    scenario = specs.load_scenario(str(synthetic_scenario))
    if spec.learner.values["name"] in IMAGE_LEARNERS:  # 16 features are a 4x4 image: too small
        scenario = specs.load_scenario(str(synthetic_images(synthetic_scenario)))
    result = runner.run(scenario, spec, seed=0)
    if spec.training.mode == "joint":
        assert result["metrics"]["average_accuracy"] > 0.9
    else:  # every experience was learned (chance within an experience's 2 classes is 0.5)
        assert result["metrics"]["learning_accuracy"] > 0.7, result["accuracy_matrix"]
    json.dumps(result, allow_nan=False)


def test_composition_uses_the_learners_preset_training(cli, tmp_path, synthetic_scenario):
    spec = specs.load_strategy("ff+consolidation+replay")
    assert spec.training == specs.load_strategy("ff").training
    assert [c.name for c in spec.components] == ["consolidation", "replay"]
    code, out, err = cli(
        "run",
        "--scenario",
        str(synthetic_scenario),
        "--strategy",
        "backprop+replay+si",
        "--out",
        str(tmp_path),
        "--quiet",
    )
    assert code == 0, err
    document = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert [c["name"] for c in document["strategy"]["components"]] == ["replay", "si"]


def test_unknown_component_in_composition_suggests_the_closest(cli, tmp_path):
    code, _, err = cli("run", "--strategy", "ff+consolidaton", "--out", str(tmp_path))
    assert code == 2 and "unknown component 'consolidaton'" in err and "'consolidation'" in err


def test_training_spec_is_validated():
    with pytest.raises(Exception, match="epochs"):
        Training(epochs=0)
    assert runner  # the runner builds every preset above
