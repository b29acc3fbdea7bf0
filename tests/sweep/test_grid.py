"""Grid expansion: every combination once, parameters only where they apply, deterministic ids,
one clear error for each bad grid."""

from __future__ import annotations

import pytest

from continual.specs import SpecError
from continual.sweep.grid import load_grid
from tests.conftest import write
from tests.sweep.helpers import tiny_grid


def test_grid_expands_strategies_parameters_and_seeds(tmp_path):
    grid = tiny_grid(
        tmp_path, '"learner.lr" = [0.001, 0.01]\n"ewc.strength" = [10.0, 100.0, 1000.0]'
    )
    plan = load_grid(grid).cells()
    # mlp: 2 lr x 2 seeds; mlp-ewc: 2 lr x 3 strengths x 2 seeds
    assert len(plan) == 4 + 12
    names = [c.strategy.name for c in plan]
    assert names[:2] == ["mlp(learner.lr=0.001)"] * 2
    assert "mlp-ewc(learner.lr=0.01,ewc.strength=1000.0)" in names
    ewc = next(c for c in plan if c.strategy.name == "mlp-ewc(learner.lr=0.01,ewc.strength=10.0)")
    assert ewc.strategy.learner.values["lr"] == 0.01
    assert ewc.strategy.components[0].values["strength"] == 10.0
    assert ewc.tags == {"parameters": {"learner.lr": 0.01, "ewc.strength": 10.0}}
    assert [c.seed for c in plan[:4]] == [0, 1, 0, 1]


def test_cell_ids_are_unique_and_the_same_on_every_expansion(tmp_path):
    grid = tiny_grid(tmp_path)
    first = [c.run_id for c in load_grid(grid).cells()]
    again = [c.run_id for c in load_grid(grid).cells()]
    assert first == again
    assert len(set(first)) == len(first) == 8
    assert all(len(i) == 16 for i in first)


def test_scenario_and_training_parameters(tmp_path):
    grid = tiny_grid(
        tmp_path, '"generator.experiences" = [2, 3]\n"training.epochs" = [1, 2]', "[0]"
    )
    plan = load_grid(grid).cells()
    assert len(plan) == 2 * 2 * 2
    assert {c.scenario.generator.values["experiences"] for c in plan} == {2, 3}
    assert {c.strategy.training.epochs for c in plan} == {1, 2}
    assert plan[0].scenario.name == "tiny(generator.experiences=2)"


@pytest.mark.parametrize(
    "parameters, message",
    [
        ('"lerner.lr" = [0.1]', "did you mean 'learner'"),
        ('"learner" = [0.1]', "SECTION.FIELD"),
        ('"learner.lr" = []', "non-empty list"),
        ('"learner.rate" = [0.1]', "rate"),
        ('"learner.lr" = ["fast"]', "lr"),
        ('"training.epochs" = [0]', "epochs"),
    ],
)
def test_bad_parameters_are_clear_errors(tmp_path, parameters, message):
    with pytest.raises(SpecError, match=message):
        load_grid(tiny_grid(tmp_path, parameters)).cells()


@pytest.mark.parametrize(
    "text, message",
    [
        (
            'scenarios = ["tiny.toml"]\nstrategies = ["mlp.toml"]\nseed = [0]',
            "did you mean 'seeds'",
        ),
        ('scenarios = ["tiny.toml"]\nstrategies = []', "non-empty list"),
        ('scenarios = ["tiny.toml"]\nstrategies = ["mlp.toml"]\nseeds = [0, 0]', "repeat"),
        (
            'scenarios = ["tiny.toml"]\nstrategies = ["mlp.toml"]\nseeds = [-1]',
            "integers in \\[0, 4294967295\\]",
        ),
        ('scenarios = ["tiny.toml"]\nstrategies = ["nope.toml"]', "no such file"),
        ('scenarios = ["tiny.toml"]\nstrategies = ["finetun"]', "did you mean 'finetune'"),
        ("scenarios = [", "malformed TOML"),
    ],
)
def test_bad_grids_are_clear_errors(tmp_path, text, message):
    tiny_grid(tmp_path)
    with pytest.raises(SpecError, match=message):
        load_grid(write(tmp_path, "bad.toml", text))


def test_two_strategies_with_one_name_are_refused(tmp_path):
    tiny_grid(tmp_path)
    (tmp_path / "alt").mkdir()
    write(tmp_path / "alt", "mlp.toml", (tmp_path / "mlp.toml").read_text())
    grid = write(
        tmp_path,
        "clash.toml",
        'scenarios = ["tiny.toml"]\nstrategies = ["mlp.toml", "alt/mlp.toml"]',
    )
    with pytest.raises(SpecError, match="share the name"):
        load_grid(grid)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--workers", "0"], "--workers 0: must be in [1, 1024]"),
        (["--retries", "-1"], "--retries -1"),
        (["--checkpoint-every", "-5"], "--checkpoint-every -5"),
        (["--address", "auto"], "--address is for --backend ray"),
        (["--device", "tpu"], "expected cpu or cuda"),
        (["--threads", "0"], "--threads 0: must be in [1, 1024]"),
    ],
)
def test_bad_sweep_options_end_in_one_clear_message(tmp_path, cli, arguments, message):
    grid = tiny_grid(tmp_path, parameters="", seeds="[0]")
    code, _, err = cli("sweep", str(grid), "--out", str(tmp_path / "out"), *arguments)
    assert code == 2 and message in err and "Traceback" not in err
    assert not list((tmp_path / "out").glob("*.json"))


def test_a_bad_grid_ends_in_one_clear_message(tmp_path, cli):
    tiny_grid(tmp_path)
    grid = write(
        tmp_path, "bad.toml", 'scenarios = ["tiny.toml"]\nstrategies = ["mlp.toml"]\nx = 1'
    )
    code, _, err = cli("sweep", str(grid))
    assert code == 2 and "unknown field 'x'" in err
