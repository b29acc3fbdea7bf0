"""The run's named steps, each alone: prepare builds without training, train fills the matrix,
measure scores a hand-made matrix, document assembles what it is given, and a run's checkpoint
(an object, not closures) saves and restores; run = the four steps in order."""

from __future__ import annotations

import pytest
import torch

from continual import runner, specs
from continual.checkpoint import Checkpointing, Position, RunCheckpoint
from continual.errors import Diverged
from tests.conftest import write

SMALL = """
[learner]
name = "backprop"
hidden = [32]
lr = 0.01
[training]
epochs = 4
batch_size = 32
"""


@pytest.fixture
def specs_pair(tmp_path, synthetic_scenario):
    scenario = specs.load_scenario(str(synthetic_scenario))
    return scenario, specs.load_strategy(str(write(tmp_path, "small.toml", SMALL)))


def test_prepare_builds_everything_and_trains_nothing(specs_pair):
    scenario, strategy = specs_pair
    cache: dict = {}
    run = runner.prepare(scenario, strategy, 4, cache=cache)
    assert run.strategy.step == 0 and run.recorder.matrix == [] and len(run.plan) == 3
    assert (
        run.identity == runner.run_id(run.config, 4) and run.config["strategy"]["name"] == "small"
    )
    # the reference evaluation: an independent untrained learner, drawn off the run's random state
    reference = runner.reference_accuracy(strategy, run.stream, run.evaluator, 4, "cpu")
    assert run.baseline == reference and len(reference) == 3
    again = runner.prepare(scenario, strategy, 4, cache=cache)
    assert again.stream is run.stream and again.baseline is run.baseline  # shared in a command
    same = [torch.equal(a, b) for a, b in zip(run.learner.parameters(), again.learner.parameters())]
    assert all(same)  # seeded: the same initial weights


def test_train_takes_a_row_per_experience_and_returns_no_divergence(specs_pair):
    scenario, strategy = specs_pair
    run = runner.prepare(scenario, strategy, 0)
    assert runner.train(run) is None
    assert len(run.recorder.matrix) == 4  # the row before training, then one per experience
    # every experience: 4 epochs of ⌈train size / 32⌉ batches
    assert run.strategy.step == sum(4 * -(-e.train_size // 32) for e in run.plan)
    assert run.recorder.matrix[1][0] > 0.6  # experience 0 learned (chance: 1/6)


def test_measure_scores_the_matrix_it_is_given(specs_pair):
    scenario, strategy = specs_pair
    run = runner.prepare(scenario, strategy, 0)
    run.baseline = [0.1, 0.2, 0.3]
    run.recorder.matrix = [
        [0.1, 0.2, 0.3],
        [0.9, 0.2, 0.1],
        [0.5, 0.8, 0.3],
        [0.3, 0.4, 0.9],
    ]
    measures = runner.measure(run)
    assert measures.scores["average_accuracy"] == pytest.approx((0.3 + 0.4 + 0.9) / 3)
    assert measures.scores["learning_accuracy"] == pytest.approx((0.9 + 0.8 + 0.9) / 3)
    # forgetting: best before the end minus final, over the first two: (0.9−0.3 + 0.8−0.4) / 2
    assert measures.scores["forgetting"] == pytest.approx(0.5)
    assert {"eval", "cost_accounting", "robustness", "total"} <= set(measures.timings)
    assert measures.cost["train_steps"] == 0  # nothing trained: the cost says so
    diverged = runner.measure(run, Diverged("boom", 1, 5))
    assert diverged.scores == {}  # the metrics need every row


def test_document_assembles_what_it_is_given(specs_pair):
    scenario, strategy = specs_pair
    run = runner.prepare(scenario, strategy, 2)
    measures = runner.Measures({"average_accuracy": 0.5}, {"flops_total": 1.0}, {}, {"total": 2.0})
    document = runner.document(run, measures)
    assert document["status"] == "complete" and "divergence" not in document
    assert document["run_id"] == run.identity and document["seed"] == 2
    assert document["metrics"] == {"average_accuracy": 0.5} and document["timings"]["total"] == 2
    assert document["strategy"] == strategy.to_dict()
    diverged = runner.document(run, measures, Diverged("experience 1, step 5: NaN", 1, 5))
    assert diverged["status"] == "diverged"
    assert diverged["divergence"] == {
        "experience": 1,
        "step": 5,
        "message": "experience 1, step 5: NaN",
    }


def test_run_is_the_four_steps_in_order(specs_pair):
    scenario, strategy = specs_pair
    whole = runner.run(scenario, strategy, 1)
    run = runner.prepare(scenario, strategy, 1)
    steps = runner.document(run, runner.measure(run, runner.train(run)), None)
    for key in ("accuracy_matrix", "curves", "metrics", "random_baseline", "cost", "run_id"):
        assert steps[key] == whole[key], key


def test_a_run_checkpoint_saves_and_restores_the_run(specs_pair, tmp_path):
    scenario, strategy = specs_pair
    path = tmp_path / "run.pt"
    run = runner.prepare(scenario, strategy, 0)
    assert RunCheckpoint(Checkpointing(path, resume=True), run).restore() is None  # no file yet
    run.strategy.train_experience(run.plan[0], run.recorder.on_step)
    run.recorder.end_experience(run.strategy.step)
    RunCheckpoint(Checkpointing(path), run).save(Position(1))

    fresh = runner.prepare(scenario, strategy, 0)
    assert RunCheckpoint(Checkpointing(path), fresh).restore() is None  # resume off: start over
    position = RunCheckpoint(Checkpointing(path, resume=True), fresh).restore()
    assert position == Position(1) and fresh.strategy.step == run.strategy.step
    assert fresh.recorder.matrix == run.recorder.matrix and fresh.elapsed > 0
    for a, b in zip(run.learner.parameters(), fresh.learner.parameters()):
        assert torch.equal(a, b)


def test_the_step_callback_saves_every_n_steps_only_when_asked(specs_pair, tmp_path):
    scenario, strategy = specs_pair
    run = runner.prepare(scenario, strategy, 0)
    steps: list[int] = []
    record = steps.append
    boundaries_only = RunCheckpoint(Checkpointing(tmp_path / "a.pt"), run)
    assert boundaries_only.on_step(0, record) is record  # no wrapper, no cost
    every_three = RunCheckpoint(Checkpointing(tmp_path / "b.pt", every=3), run)
    saved: list[Position] = []
    every_three.save = saved.append  # type: ignore[method-assign]
    callback = every_three.on_step(2, record)
    for step in range(1, 8):
        callback(step)
    assert steps == [1, 2, 3, 4, 5, 6, 7]
    assert saved == [Position(2, started=True)] * 2  # at steps 3 and 6
