"""Metrics both ways: the accuracy matrix our plugin records in an Avalanche run equals the one
Avalanche logs, our metrics on it equal Avalanche's forgetting and BWT where the definitions
match, Avalanche ``Naive`` and our ``finetune`` give the same matrix on the same stream, model,
seed and hyperparameters, and the result file is one our report tools read."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from continual.errors import ContinualError
from continual.evaluation import metrics
from continual.evaluation.evaluator import Evaluator
from continual.learners.backprop import Backprop
from continual.report import aggregate
from continual.report.terminal import comparison_table
from continual.results import read_result
from continual.strategy import Strategy
from tests.avalanche.conftest import quiet_evaluator

EPOCHS, BATCH, LR = 10, 32, 0.01


@pytest.fixture(scope="module")
def runs(stream, benchmark, tmp_path_factory):
    """Our finetune (backprop, nothing against forgetting) and Avalanche Naive on copies of the
    same initial network, both without shuffling so that they see the same batches."""
    from avalanche.evaluation.metrics import accuracy_metrics, bwt_metrics, forgetting_metrics
    from avalanche.training import Naive

    from continual.avalanche import ResultsPlugin

    torch.manual_seed(0)
    learner = Backprop(16, 6, hidden=(32,), lr=LR)  # finetune's learner: Adam, cross-entropy
    model = copy.deepcopy(learner.net)

    ours = Strategy(learner, epochs=EPOCHS, batch_size=BATCH, shuffle=False)
    evaluate = Evaluator(stream)
    matrix = [evaluate(learner)]
    for experience in stream:
        ours.train_experience(experience)
        matrix.append(evaluate(learner))

    path = tmp_path_factory.mktemp("results") / "naive.json"
    recorder = ResultsPlugin(benchmark, path, scenario="tiny", strategy="naive", every=5)
    logged = quiet_evaluator(
        accuracy_metrics(experience=True),
        forgetting_metrics(stream=True),
        bwt_metrics(stream=True),
    )
    naive = Naive(
        model=model,
        optimizer=torch.optim.Adam(model.parameters(), lr=LR),
        train_mb_size=BATCH,
        train_epochs=EPOCHS,
        eval_mb_size=256,
        plugins=[recorder],
        evaluator=logged,
    )
    last = {}
    for experience in benchmark.train_stream:
        naive.train(experience, shuffle=False)
        last = naive.eval(benchmark.test_stream)
    return {
        "ours": np.array(matrix),
        "recorder": recorder,
        "logged": logged.get_all_metrics(),
        "last": last,
        "path": path,
    }


def test_naive_and_our_finetune_agree(runs):
    theirs = np.array(runs["recorder"].accuracy_matrix)
    assert theirs.shape == (4, 3)
    # Same batches, same initial weights, same Adam: equal up to float rounding (stated
    # tolerance 1e-6; one test sample is 0.02).
    np.testing.assert_allclose(theirs, runs["ours"], atol=1e-6)
    assert theirs[1, 0] > 0.9 and theirs[2, 1] > 0.9  # it learned
    assert theirs[3, 0] < 0.2  # and forgot, as finetuning does in class-incremental learning


def test_our_matrix_is_avalanches_and_metrics_agree_where_defined_alike(runs):
    from continual.avalanche import matrix_from_avalanche

    logged = matrix_from_avalanche(runs["logged"], 3)
    recorded = runs["recorder"].accuracy_matrix
    np.testing.assert_allclose(np.array(logged)[1:], np.array(recorded)[1:], atol=1e-12)
    assert np.isnan(logged[0]).all()  # Avalanche was not asked to evaluate before training
    avalanche_forgetting = runs["last"]["StreamForgetting/eval_phase/test_stream"]
    avalanche_bwt = runs["last"]["StreamBWT/eval_phase/test_stream"]
    assert metrics.forgetting_since_learned(logged) == pytest.approx(avalanche_forgetting)
    assert metrics.backward_transfer(logged) == pytest.approx(avalanche_bwt)
    assert avalanche_forgetting > 0.5
    # Chaudhry's forgetting (best − final) is never below Avalanche's (just learned − final).
    assert metrics.forgetting(logged) >= avalanche_forgetting - 1e-12


def test_result_file_reads_like_any_run(runs):
    document = read_result(runs["path"])
    recorder = runs["recorder"]
    assert document["accuracy_matrix"] == recorder.accuracy_matrix
    assert document["strategy"]["name"] == "naive"
    assert document["strategy"]["plugins"][0] == "ResultsPlugin"
    assert document["metrics"]["average_accuracy"] == pytest.approx(
        np.mean(recorder.accuracy_matrix[-1])
    )
    assert len(document["random_baseline"]) == 3
    curves = document["curves"]
    first_size = document["stream"]["experiences"][0]["train_size"]
    steps_per_experience = EPOCHS * -(-first_size // BATCH)
    assert curves["experience_end_steps"][0] == steps_per_experience
    assert len(curves["experience_end_steps"]) == 3
    assert curves["step"][0] == 0 and curves["step"] == sorted(curves["step"])
    assert document["cost"]["train_steps"] == curves["experience_end_steps"][-1]
    groups = aggregate.by_strategy([document])
    assert aggregate.metric(groups["naive"], "forgetting_since_learned").mean == pytest.approx(
        document["metrics"]["forgetting_since_learned"]
    )
    assert comparison_table([document]).row_count == 1


def test_rows_include_plugins_listed_after_the_recorder(stream, benchmark):
    """Replay sleep, listed after the recorder, changes the weights after the last anytime
    point; the matrix row must show the weights after it."""
    from avalanche.training import Naive

    from continual.avalanche import ReplaySleepPlugin, ResultsPlugin

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 6))
    recorder = ResultsPlugin(benchmark, every=1)
    naive = Naive(
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        train_mb_size=32,
        train_epochs=2,
        plugins=[recorder, ReplaySleepPlugin(steps=30)],
        evaluator=quiet_evaluator(),
    )
    naive.train(benchmark.train_stream[0])
    naive.train(benchmark.train_stream[1])
    with torch.no_grad():
        now = [float((model(e.x_test).argmax(1) == e.y_test).float().mean()) for e in stream]
    assert recorder.accuracy_matrix[-1] == pytest.approx(now)
    before_sleep = recorder.document()["curves"]["accuracy"][-2]  # the anytime point
    assert before_sleep != pytest.approx(now)  # sleep did change something


def test_the_seed_is_the_runs_not_a_silent_zero(benchmark):
    """Three seeds of one pipeline are three runs: the seed torch was seeded with becomes the
    run's seed (and run id); an explicit seed wins; an unseeded torch is refused."""
    from continual.avalanche import ResultsPlugin

    made = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        made.append(ResultsPlugin(benchmark, strategy="naive"))
    assert [plugin.seed for plugin in made] == [0, 1, 2]
    torch.manual_seed(5)
    assert ResultsPlugin(benchmark, seed=3).seed == 3
    torch.seed()  # what an unseeded process has: a random 64-bit seed
    with pytest.raises(ContinualError, match=r"torch.manual_seed\(seed\).*or pass seed="):
        ResultsPlugin(benchmark)
    with pytest.raises(ContinualError, match="seed"):
        ResultsPlugin(benchmark, seed=-1)
    torch.manual_seed(0)


def test_result_file_counts_flops_like_our_runs(stream, benchmark, tmp_path):
    """The cost table reads FLOPs from the result file: per trained sample of an MLP
    16-32-6 with SGD, a step costs 2·(16·32 + 32·6) FLOPs forward and twice that backward
    (input gradient of the second layer, weight gradients of both: 2·(16·32 + 2·32·6)), and a
    prediction 2·(16·32 + 32·6)."""
    from avalanche.training import Naive

    from continual.avalanche import HebbianConsolidationPlugin, ResultsPlugin

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 6))
    path = tmp_path / "run.json"
    recorder = ResultsPlugin(benchmark, path, every=1000)
    naive = Naive(
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        train_mb_size=32,
        plugins=[recorder, HebbianConsolidationPlugin(strength=1.0)],
        evaluator=quiet_evaluator(),
    )
    for experience in list(benchmark.train_stream)[:2]:
        naive.train(experience)
    cost = read_result(path)["cost"]
    forward = 2 * (16 * 32 + 32 * 6)
    assert cost["flops_per_test_sample"] == forward
    assert cost["flops_per_train_sample"] == forward + 2 * (16 * 32 + 2 * 32 * 6)
    trained = sum(e.train_size for e in list(stream)[:2])
    assert cost["train_samples"] == trained
    assert cost["flops"]["train"] >= cost["flops_per_train_sample"] * trained  # + the pull
    tests = sum(len(e.y_test) for e in stream)
    assert cost["flops"]["eval"] == forward * tests * 4  # baseline, row 0, a row per experience
    assert cost["flops"]["consolidation"] > 0  # the importances, after each experience
    row = aggregate.over_seeds([read_result(path)], "cost.flops.train")
    assert row is not None and row.mean == cost["flops"]["train"]
