"""End-to-end runs: forgetting is visible, joint is the upper bound, seeds are reproducible."""

import dataclasses
import json

import pytest

from continual import runner, specs
from continual.evaluation import metrics


@pytest.fixture(scope="module")
def split_digits_runs():
    scenario = specs.load_scenario("split-digits")
    return {
        name: runner.run(scenario, specs.load_strategy(name), seed=0)
        for name in ("finetune", "joint")
    }


def test_finetune_forgets_catastrophically(split_digits_runs):
    result = split_digits_runs["finetune"]
    R = result["accuracy_matrix"]
    T = 5
    assert len(R) == T + 1 and all(len(row) == T for row in R)
    # Each experience is learned, then lost once later classes arrive.
    assert all(R[j + 1][j] > 0.9 for j in range(T))
    assert all(R[T][j] < 0.05 for j in range(T - 1))
    joint = split_digits_runs["joint"]["metrics"]["average_accuracy"]
    assert result["metrics"]["average_accuracy"] == pytest.approx(joint / T, abs=0.05)
    assert result["metrics"]["forgetting"] > 0.9


def test_joint_is_the_upper_bound(split_digits_runs):
    result = split_digits_runs["joint"]
    assert result["metrics"]["average_accuracy"] >= 0.95
    assert result["metrics"]["forgetting"] is None
    assert len(result["accuracy_matrix"]) == 2


def test_result_carries_config_versions_curves_and_timings(split_digits_runs):
    result = split_digits_runs["finetune"]
    assert result["schema_version"] == 1
    assert result["strategy"]["learner"]["name"] == "backprop"
    assert result["scenario"]["generator"]["experiences"] == 5
    assert {"torch", "continual", "python", "numpy"} <= set(result["environment"])
    curves = result["curves"]
    assert curves["step"][0] == 0 and curves["step"] == sorted(curves["step"])
    # a point every anytime_period steps (ten per experience, fewer when that costs too much)
    every = runner.anytime_period(
        min(e["train_size"] for e in result["stream"]["experiences"]) * 10 // 32,  # 10 epochs
        10,
        sum(curves["anytime_test_samples"]),
        32,
    )
    assert curves["step"][1] == every
    assert len(curves["step"]) >= result["cost"]["train_steps"] // every
    assert curves["experience_end_steps"][-1] == result["cost"]["train_steps"]
    # the anytime curve at each experience end is the matrix row
    for i, end in enumerate(curves["experience_end_steps"]):
        assert curves["accuracy"][curves["step"].index(end)] == result["accuracy_matrix"][i + 1]
    assert result["cost"]["flops_per_train_sample"] > result["cost"]["flops_per_test_sample"] > 0
    assert (
        result["timings"]["train"] > 0 and result["timings"]["total"] >= result["timings"]["train"]
    )
    assert (
        metrics.average_accuracy(result["accuracy_matrix"]) == result["metrics"]["average_accuracy"]
    )
    json.dumps(result, allow_nan=False)


def test_same_seed_same_result_file(cli, tmp_path, synthetic_scenario):
    documents = []
    for folder in ("a", "b"):
        code, _, _ = cli(
            "run",
            "--scenario",
            str(synthetic_scenario),
            "--strategy",
            "finetune",
            "--seed",
            "3",
            "--out",
            str(tmp_path / folder),
            "--quiet",
        )
        assert code == 0
        (path,) = (tmp_path / folder).glob("*.json")
        document = json.loads(path.read_text())
        for volatile in ("timings", "memory", "created"):
            document.pop(volatile)
        documents.append(document)
    assert documents[0] == documents[1]


def test_different_seeds_differ(synthetic_scenario):
    scenario = specs.load_scenario(str(synthetic_scenario))
    strategy = specs.load_strategy("finetune")
    a = runner.run(scenario, strategy, seed=0)
    b = runner.run(scenario, strategy, seed=1)
    assert a["accuracy_matrix"] != b["accuracy_matrix"] and a["run_id"] != b["run_id"]


def test_task_free_run_takes_a_row_when_each_task_ends(tmp_path):
    from tests.conftest import write

    path = write(
        tmp_path,
        "free.toml",
        """
        [dataset]
        name = "digits"
        [generator]
        name = "task-free"
        experiences = 5
        blur = 0.5
    """,
    )
    online = write(
        tmp_path,
        "online.toml",
        """
        [learner]
        name = "backprop"
        lr = 0.003
        [training]
        epochs = 10
        batch_size = 4
        eval_every = 10  # denser than the default's cost budget allows at batch 4
    """,
    )
    scenario = specs.load_scenario(str(path))
    result = runner.run(scenario, specs.load_strategy(str(online)), seed=0)
    R = result["accuracy_matrix"]
    assert len(R) == 6 and len(R[0]) == 5
    assert result["stream"]["task_free"] and result["stream"]["task_ends"][-1] == 1437
    ends = result["curves"]["experience_end_steps"]
    # seen once (the spec's 10 epochs do not apply), in batches of 4
    assert ends == sorted(ends) and ends[-1] == result["cost"]["train_steps"] == -(-1437 // 4)
    curves_steps = result["curves"]["step"]
    assert all(end in curves_steps for end in ends)
    # one pass, no shuffling: the newest task is learned, earlier ones are forgotten
    assert R[5][4] > 0.8 and R[5][0] < 0.2
    assert result["metrics"]["forgetting"] > 0.5
    # accuracy over time: many anytime points
    assert len(curves_steps) > 20 and curves_steps[1] == 10


def test_task_free_tasks_ending_within_one_batch_each_get_their_row(tmp_path):
    """A batch longer than the tasks: all five end within the first (and only) step, and each
    still gets its matrix row (the same evaluation after that step), so the metrics hold."""
    from tests.conftest import write

    path = write(
        tmp_path,
        "free.toml",
        '[dataset]\nname = "digits"\n[generator]\nname = "task-free"\nexperiences = 5\n',
    )
    spec = specs.compose("backprop")
    spec = dataclasses.replace(spec, training=dataclasses.replace(spec.training, batch_size=2048))
    result = runner.run(specs.load_scenario(str(path)), spec, seed=0)
    R = result["accuracy_matrix"]
    assert len(R) == 6 and all(row == R[1] for row in R[1:])
    assert result["curves"]["experience_end_steps"] == [1] * 5
    assert result["metrics"]["forgetting"] == 0.0


def test_task_free_with_announced_boundaries_runs_hooks_at_each_task_end(tmp_path):
    from tests.conftest import write

    path = write(
        tmp_path,
        "told.toml",
        """
        [dataset]
        name = "digits"
        [generator]
        name = "task-free"
        experiences = 5
        boundaries = true
    """,
    )
    spec = specs.compose("backprop+replay")
    result = runner.run(specs.load_scenario(str(path)), spec, seed=0)
    assert len(result["accuracy_matrix"]) == 6
    assert result["components"]["replay"]["stored"] == 200  # filled at the task ends
    # still one pass: every sample once
    assert (
        result["cost"]["train_samples"] >= 1437
        and len(result["curves"]["experience_end_steps"]) == 5
    )


def test_a_shared_cache_changes_nothing_but_builds_set_up_once(synthetic_scenario):
    scenario = specs.load_scenario(str(synthetic_scenario))
    names = ("finetune", "ff+consolidation")
    cache: dict = {}
    shared = [runner.run(scenario, _short(name), seed=1, cache=cache) for name in names]
    alone = [runner.run(scenario, _short(name), seed=1) for name in names]
    for a, b in zip(shared, alone):
        for key in ("accuracy_matrix", "random_baseline", "curves", "cost", "metrics"):
            assert a[key] == b[key], key
    kinds = sorted(key[0] for key in cache)
    assert kinds == ["baseline", "baseline", "evaluator", "flops", "flops", "stream"]


def _short(name: str) -> specs.StrategySpec:
    from dataclasses import replace

    spec = specs.load_strategy(name)
    return replace(spec, training=replace(spec.training, epochs=1))


def test_anytime_period_keeps_ten_points_unless_they_cost_over_a_tenth_of_training():
    # 520 steps per experience: every 52 steps; 100 samples per point cost 100 forward passes,
    # a step of 32 costs ~96: a point every 52 steps is ~2 % of training, under the 10 % budget
    assert runner.anytime_period(520, 10, 100, 32) == 52
    # 52 steps per experience: every 5 steps would cost ~21 %; the budget needs ⌈100 / 9.6⌉ = 11
    assert runner.anytime_period(52, 10, 100, 32) == 11
    assert runner.anytime_period(52, 10, 90, 32) == 10  # 90 / 9.6 = 9.4: 9.4 % at 10 steps
    assert runner.anytime_period(3, 10, 1, 32) == 1  # never zero
    # batch 4: the budget asks for a point every ⌈100 / 1.2⌉ = 84 steps, more than a 73-step
    # experience; three points per experience at least: every 73 // 3 = 24 steps
    assert runner.anytime_period(73, 10, 100, 4) == 24
    # a task-free stream of 5 tasks (50 points over its 360 steps): at least 15 points
    assert runner.anytime_period(360, 50, 100, 4) == 360 // 16


def test_runs_on_worker_processes_equal_runs_in_this_process(tmp_path):
    """A local pool of 2 workers trains the cells at once in other processes, with the same
    results (every number of the matrix and curves) and the same files as one after the other
    in this process."""
    from continual import execution

    scenario = specs.load_scenario("split-digits")
    strategies = [specs.load_strategy(name) for name in ("finetune", "ewc")]
    strategies = [
        dataclasses.replace(s, training=dataclasses.replace(s.training, epochs=1))
        for s in strategies
    ]
    plan = execution.cells(scenario, strategies, [0])
    done: list[str] = []

    def wrote(event: execution.Event) -> None:
        if event.kind == "wrote":
            done.append(event.path.name)

    alone = execution.drive(plan, execution.local_backend(1), execution.Job(tmp_path / "alone"))
    together = execution.drive(
        plan, execution.local_backend(2), execution.Job(tmp_path / "together"), on_event=wrote
    )
    for a, b in zip(alone.results, together.results):
        assert a["run_id"] == b["run_id"]
        assert a["accuracy_matrix"] == b["accuracy_matrix"]
        assert a["curves"]["accuracy"] == b["curves"]["accuracy"]
    names = sorted(p.name for p in (tmp_path / "together").glob("*.json"))
    assert names == sorted(p.name for p in (tmp_path / "alone").glob("*.json")) == sorted(done)
