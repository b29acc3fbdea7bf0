"""Ablation ladders: rung expansion per learner (hand-checked), the cells of a ladder, and the
command end to end (the ladder summary's statistics and renderers: tests/report/test_ladder.py)."""

from __future__ import annotations

import json

import pytest

from continual import ablation, specs
from continual.errors import ContinualError
from tests.conftest import write

SLEEP = '[[components]]\nname = "sleep"\nsteps = 40\n'
CONSOLIDATION = '[[components]]\nname = "consolidation"\nstrength = 0.01\n'


def strategy(tmp_path, name: str, learner: str, *components: str) -> specs.StrategySpec:
    text = f"[learner]\n{learner}\n[training]\nepochs = 1\nbatch_size = 16\n" + "".join(components)
    return specs.load_strategy(str(write(tmp_path, f"{name}.toml", text)))


def ladder(spec: specs.StrategySpec) -> list[tuple[str, str, str | None]]:
    return [(r.name, r.role, r.baseline) for r in ablation.rungs(spec)]


def test_hebbian_ladder_has_option_components_full_and_untrained_control(tmp_path):
    learner = 'name = "hebbian"\nhidden = [8]\nreadout_competition = "batch"'
    spec = strategy(tmp_path, "h", learner, CONSOLIDATION, SLEEP)
    assert ladder(spec) == [
        ("hebbian", "learner", None),
        ("hebbian[batch]", "option", "hebbian"),
        ("hebbian[batch]+consolidation", "component", "hebbian[batch]"),
        ("hebbian[batch]+sleep", "component", "hebbian[batch]"),
        ("hebbian[batch]+consolidation+sleep", "full", "hebbian[batch]+sleep"),
        (
            "hebbian[batch,untrained]+consolidation+sleep",
            "control",
            "hebbian[batch]+consolidation+sleep",
        ),
    ]
    rungs = ablation.rungs(spec)
    learners = [r.strategy.learner.values for r in rungs]
    assert [v["readout_competition"] for v in learners] == ["all"] + ["batch"] * 5
    # the control: the same learner settings, [readout] features = "untrained"
    assert learners[5] == learners[4]
    assert [r.strategy.readout for r in rungs[:5]] == [None] * 5
    assert rungs[5].strategy.readout.values == {"name": "trained", "features": "untrained"}
    assert all(v["hidden"] == [8] for v in learners)  # other settings kept on every rung
    names = [[c.name for c in r.strategy.components] for r in rungs]
    assert names == [[], [], ["consolidation"], ["sleep"], ["consolidation", "sleep"]] * 1 + [
        ["consolidation", "sleep"]
    ]
    assert rungs[4].strategy.components == spec.components  # the full strategy, as given
    assert rungs[2].strategy.components[0].values["strength"] == 0.01
    assert {r.strategy.name for r in rungs} == {f"h~{r.name}" for r in rungs}


@pytest.mark.parametrize(
    ("learner", "field", "plain"),
    [
        ('name = "ff"\nhidden = [8]\nnegatives = "batch"', "negatives", "random"),
        ('name = "pc"\nhidden = [8]\noutput_clamp = "batch"', "output_clamp", "all"),
        ('name = "backprop"\nhidden = [8]\nloss_classes = "batch"', "loss_classes", "all"),
    ],
)
def test_learner_alone_takes_the_plain_default_of_its_batch_option(tmp_path, learner, field, plain):
    spec = strategy(tmp_path, "s", learner, CONSOLIDATION, SLEEP)
    short = learner.split('"')[1]
    assert ladder(spec) == [
        (short, "learner", None),
        (f"{short}[batch]", "option", short),
        (f"{short}[batch]+consolidation", "component", f"{short}[batch]"),
        (f"{short}[batch]+sleep", "component", f"{short}[batch]"),
        (f"{short}[batch]+consolidation+sleep", "full", f"{short}[batch]+sleep"),
        (
            f"{short}[batch,untrained]+consolidation+sleep",
            "control",
            f"{short}[batch]+consolidation+sleep",
        ),
    ]
    values = [r.strategy.learner.values[field] for r in ablation.rungs(spec)]
    assert values == [plain, "batch", "batch", "batch", "batch", "batch"]


def test_one_component_and_no_option_gives_learner_then_full(tmp_path):
    spec = strategy(tmp_path, "bs", 'name = "backprop"\nhidden = [8]\nbias = false', SLEEP)
    assert ladder(spec) == [
        ("backprop", "learner", None),
        ("backprop+sleep", "full", "backprop"),
        ("backprop[untrained]+sleep", "control", "backprop+sleep"),
    ]
    assert ablation.rungs(spec)[0].strategy.learner.values["bias"] is False


def test_option_only_strategy_and_repeated_components(tmp_path):
    spec = strategy(tmp_path, "fb", 'name = "ff"\nhidden = [8]\nnegatives = "batch"')
    assert ladder(spec) == [
        ("ff", "learner", None),
        ("ff[batch]", "full", "ff"),
        ("ff[batch,untrained]", "control", "ff[batch]"),
    ]
    with pytest.raises(ContinualError, match="appears twice"):  # refused when the spec loads
        strategy(tmp_path, "t", 'name = "pc"\nhidden = [8]', SLEEP, SLEEP)


def test_untrained_hebbian_alone_gets_only_its_control_and_nothing_to_ablate_is_an_error(tmp_path):
    hebbian = strategy(tmp_path, "h", 'name = "hebbian"\nhidden = [8]')
    assert ladder(hebbian) == [
        ("hebbian", "full", None),
        ("hebbian[untrained]", "control", "hebbian"),
    ]
    plain = strategy(tmp_path, "b", 'name = "random-features"\nhidden = [8]')
    with pytest.raises(ContinualError, match="nothing to ablate"):
        ablation.rungs(plain)  # fixed random features: no control to run
    untrained = strategy(tmp_path, "u", 'name = "hebbian"\nhidden = [8]\ntrain_features = false')
    with pytest.raises(ContinualError, match="nothing to ablate"):
        ablation.rungs(untrained)
    text = '[readout]\nname = "slda"\nfeatures = "untrained"\n'
    already = strategy(tmp_path, "v", 'name = "backprop"\nhidden = [8]', text)
    with pytest.raises(ContinualError, match="nothing to ablate"):
        ablation.rungs(already)


def test_control_keeps_a_statistics_readout(tmp_path):
    readout = '[readout]\nname = "slda"\nshrinkage = 0.01\n'
    spec = strategy(tmp_path, "hs", 'name = "hebbian"\nhidden = [8]', readout)
    rungs = ablation.rungs(spec)
    assert [r.role for r in rungs] == ["full", "control"]
    assert rungs[0].strategy.readout is spec.readout
    assert rungs[1].strategy.readout.values == {
        "name": "slda",
        "shrinkage": 0.01,
        "features": "untrained",
    }


def test_plan_tags_every_cell_and_pairs_seeds(tmp_path, synthetic_scenario):
    spec = strategy(tmp_path, "bs", 'name = "backprop"\nhidden = [8]', SLEEP)
    scenario = specs.load_scenario(str(synthetic_scenario))
    cells = ablation.plan(scenario, spec, [3, 7])
    assert [(c.tags["rung"], c.seed) for c in cells] == [
        ("backprop", 3),
        ("backprop", 7),
        ("backprop+sleep", 3),
        ("backprop+sleep", 7),
        ("backprop[untrained]+sleep", 3),
        ("backprop[untrained]+sleep", 7),
    ]
    assert cells[2].tags == {
        "ablation": "bs",
        "rung": "backprop+sleep",
        "rung_index": 1,
        "baseline": "backprop",
        "role": "full",
    }
    with pytest.raises(ContinualError, match="each seed once"):
        ablation.plan(scenario, spec, [1, 1])
    with pytest.raises(ContinualError, match="at least one seed"):
        ablation.plan(scenario, spec, [])


# -- the command, end to end --------------------------------------------------------------------


def test_ablate_command_end_to_end(cli, tmp_path, synthetic_scenario):
    learner = 'name = "hebbian"\nhidden = [16]\nreadout_competition = "batch"'
    path = write(
        tmp_path,
        "tiny.toml",
        f"[learner]\n{learner}\n[training]\nepochs = 2\nbatch_size = 32\n{CONSOLIDATION}{SLEEP}",
    )
    out = tmp_path / "out"
    code, stdout, stderr = cli(
        "ablate",
        str(path),
        "--scenario",
        str(synthetic_scenario),
        "--seeds",
        "2",
        "--out",
        str(out),
        "--quiet",
    )
    assert code == 0, stderr
    runs = sorted(out.glob("*seed*.json"))
    assert len(runs) == 6 * 2
    summary = json.loads((out / "synthetic__tiny__ablation.json").read_text())
    assert summary["seeds"] == [0, 1] and len(summary["rungs"]) == 6
    assert len(summary["comparisons"]) == 5 + 2  # each rung vs below + full vs learner, options
    option = summary["comparisons"][0]
    assert option["rung"] == "hebbian[batch]" and option["baseline"] == "hebbian"
    # the labels trick removes most class-incremental forgetting: clearly positive accuracy gain
    assert option["difference"]["average_accuracy"]["mean"] > 0.1
    tags = json.loads(runs[0].read_text())["tags"]
    assert tags["ablation"] == "tiny" and set(tags) >= {"rung", "rung_index", "baseline"}
    assert "untrained control" in stdout and "ablation of tiny" in stdout
    assert max(len(line) for line in stdout.splitlines()) <= 80
    # the report renders the ladder's runs; the summary beside them is not mistaken for a run
    code, _, stderr = cli("report", str(out))
    assert code == 0, stderr
    assert "ablation" in (out / "report.md").read_text(encoding="utf-8").lower()


def test_ablate_command_bad_input_is_one_clear_message(cli, tmp_path, synthetic_scenario):
    code, _, err = cli("ablate", "hebian+consolidation", "--seeds", "2", "--out", str(tmp_path))
    assert code == 2 and "did you mean 'hebbian'" in err and "Traceback" not in err
    code, _, err = cli("ablate", "hebbian+sleep", "--seeds", "0")
    assert code == 2 and "--seeds 0" in err
    plain = write(tmp_path, "plain.toml", '[learner]\nname = "random-features"\nhidden = [4]\n')
    code, _, err = cli(
        "ablate", str(plain), "--scenario", str(synthetic_scenario), "--out", str(tmp_path / "o")
    )
    assert code == 2 and "nothing to ablate" in err
    assert not (tmp_path / "o").exists()  # nothing half-written
