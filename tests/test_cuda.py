"""On a machine with a GPU: every learner and component runs with --device cuda and learns as on
the CPU. Skipped where no GPU exists (CI has none)."""

import json

import pytest
import torch

from continual.commands import DEFAULT_STRATEGIES

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

STRATEGIES = [*DEFAULT_STRATEGIES, "ff+replay-sleep"]


@pytest.mark.parametrize("scenario", ["split-digits", "task-free-digits"])
def test_every_strategy_runs_on_cuda_and_learns(cli, tmp_path, scenario):
    args = ["run", "--device", "cuda", "--scenario", scenario, "--out", str(tmp_path), "--quiet"]
    for name in STRATEGIES:
        args += ["--strategy", name]
    code, out, err = cli(*args)
    assert code == 0, err
    for path in tmp_path.glob("*.json"):
        result = json.loads(path.read_text())
        assert result["environment"]["device"] == "cuda"
        R = result["accuracy_matrix"]
        if len(R) > 2 and scenario != "task-free-digits":
            assert result["metrics"]["learning_accuracy"] > 0.8, path.name


def test_cuda_and_cpu_agree_on_what_is_learned(tmp_path):
    from continual import runner, specs

    scenario, strategy = specs.load_scenario("split-digits"), specs.load_strategy("replay")
    cpu = runner.run(scenario, strategy, seed=0, device="cpu")["metrics"]["average_accuracy"]
    gpu = runner.run(scenario, strategy, seed=0, device="cuda")["metrics"]["average_accuracy"]
    assert abs(cpu - gpu) < 0.05
