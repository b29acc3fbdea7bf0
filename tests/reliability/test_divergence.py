"""Divergence is caught within a few steps, named (strategy, seed, experience, step), written
as a partial result, and the other strategies of the command still run."""

from __future__ import annotations

import json

import pytest
import torch

from continual import execution, runner, specs
from continual.errors import Diverged
from continual.strategy import CHECK_EVERY
from tests.conftest import write

EXPLODING = """
[learner]
name = "backprop"
hidden = [8, 8]
optimizer = "adam"
lr = 1e15
[training]
epochs = 3
"""
SMALL = '[learner]\nname = "backprop"\nhidden = [8]\n[training]\nepochs = 1\n'


def test_divergence_is_caught_at_the_step_it_happens(tmp_path, synthetic_scenario):
    """A diverged run is a result with its status, not an exception; the driver names it."""
    scenario = specs.load_scenario(str(synthetic_scenario))
    strategy = specs.load_strategy(str(write(tmp_path, "boom.toml", EXPLODING)))
    result = runner.run(scenario, strategy, seed=3)
    assert result["status"] == "diverged" and result["metrics"] == {}
    assert len(result["accuracy_matrix"]) == 1  # the row before training; none after
    step = result["divergence"]["step"]
    assert result["divergence"]["experience"] == 0 and 1 <= step < CHECK_EVERY

    events: list[execution.Event] = []
    plan = execution.cells(scenario, [strategy], [3])
    report = execution.drive(
        plan, execution.InProcess(), execution.Job(tmp_path / "out"), on_event=events.append
    )
    [message] = [e.message for e in events if e.kind == "diverged"]
    assert "strategy boom" in message and "seed 3" in message
    assert f"step {step}" in message and "experience 0" in message
    assert [e.kind for e in events if e.kind != "advanced"] == ["started", "diverged", "wrote"]
    assert report.results[0]["status"] == "diverged" and report.ran == 1
    assert json.loads(plan[0].result_path(tmp_path / "out").read_text())["status"] == "diverged"


def test_the_training_loop_raises_and_the_runner_returns(tmp_path, synthetic_scenario):
    """``Diverged`` stays inside a run: the loop raises it, :func:`runner.train` returns it."""
    scenario = specs.load_scenario(str(synthetic_scenario))
    strategy = specs.load_strategy(str(write(tmp_path, "boom.toml", EXPLODING)))
    prepared = runner.prepare(scenario, strategy, 3)
    with pytest.raises(Diverged):
        prepared.strategy.train_experience(prepared.plan[0])
    prepared = runner.prepare(scenario, strategy, 3)
    diverged = runner.train(prepared)
    assert isinstance(diverged, Diverged) and diverged.experience == 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_diverged_strategy_is_kept_and_the_others_still_run(
    cli, tmp_path, synthetic_scenario, workers
):
    boom = write(tmp_path, "boom.toml", EXPLODING)
    small = write(tmp_path, "small.toml", SMALL)
    out = tmp_path / "out"
    code, table, err = cli(
        "run",
        "--scenario",
        str(synthetic_scenario),
        "--strategy",
        str(boom),
        "--strategy",
        str(small),
        "--out",
        str(out),
        "--quiet",
        "--workers",
        workers,
    )
    assert code == 1
    assert "training diverged: strategy boom, seed 0, experience 0, step" in err
    assert "Traceback" not in err and "small" in table and "boom" not in table
    statuses = {
        json.loads(p.read_text())["strategy"]["name"]: json.loads(p.read_text())["status"]
        for p in out.glob("*.json")
    }
    assert statuses == {"boom": "diverged", "small": "complete"}


def test_the_check_costs_no_sync_between_checks(monkeypatch, tmp_path, synthetic_scenario):
    """The flag lives on the device; reading it (a sync) happens every CHECK_EVERY steps."""
    reads = []
    original = torch.Tensor.__int__

    def counting(self):
        reads.append(1)
        return original(self)

    monkeypatch.setattr(torch.Tensor, "__int__", counting)
    scenario = specs.load_scenario(str(synthetic_scenario))
    strategy = specs.load_strategy(str(write(tmp_path, "small.toml", SMALL)))
    result = runner.run(scenario, strategy, seed=0)
    steps = result["cost"]["train_steps"]
    assert len(reads) <= steps // CHECK_EVERY + 2 * len(result["stream"]["experiences"]) + 2


EXPLODING_HEBBIAN_SLDA = """
[learner]
name = "hebbian"
hidden = [16]
hebbian_lr = 1e15
[readout]
name = "slda"
[training]
epochs = 2
"""


@pytest.mark.parametrize("eval_every", [None, 1_000_000])
def test_a_diverged_run_with_a_statistics_readout_is_a_result(
    tmp_path, synthetic_scenario, eval_every
):
    """A learner whose features become non-finite fills SLDA's statistics with NaN: the anytime
    evaluation and the cost's FLOP count then score with them, and must neither raise a
    linear-algebra error nor keep the run from being written as diverged."""
    scenario = specs.load_scenario(str(synthetic_scenario))
    text = EXPLODING_HEBBIAN_SLDA
    if eval_every is not None:
        text += f"eval_every = {eval_every}\n"
    strategy = specs.load_strategy(str(write(tmp_path, "hebb.toml", text)))
    result = runner.run(scenario, strategy, seed=0)
    assert result["status"] == "diverged" and result["metrics"] == {}
