"""Checkpoints of an Avalanche run with our plugins: a run resumed at an experience boundary gives
bit-identical weights and the same result file as the uninterrupted run."""

from __future__ import annotations

import json

import pytest
import torch

from continual.errors import ContinualError
from tests.avalanche.conftest import mlp, quiet_evaluator

VOLATILE = ("timings", "created", "memory", "environment")


def pipeline(benchmark, path):
    """Naive with Adam (its moments are state), consolidation, sleep and our recorder."""
    from avalanche.training import Naive

    from continual.avalanche import HebbianConsolidationPlugin, ResultsPlugin, SpikingSleepPlugin

    model = mlp(bias=False)
    plugins = [
        ResultsPlugin(benchmark, path, seed=0, every=3),
        HebbianConsolidationPlugin(strength=1.0),
        SpikingSleepPlugin(steps=100, steps_increment=50),
    ]
    strategy = Naive(
        model=model,
        optimizer=torch.optim.Adam(model.parameters(), lr=0.01),
        train_mb_size=32,
        train_epochs=2,
        plugins=plugins,
        evaluator=quiet_evaluator(),
    )
    return strategy


def document(path) -> dict:
    found = json.loads(path.read_text())
    return {k: v for k, v in found.items() if k not in VOLATILE}


def test_a_run_resumed_mid_stream_equals_the_uninterrupted_run(benchmark, tmp_path):
    from continual.avalanche import load_checkpoint, save_checkpoint

    torch.manual_seed(7)
    whole = pipeline(benchmark, tmp_path / "whole.json")
    for experience in benchmark.train_stream:
        whole.train(experience)

    saved = tmp_path / "run.pt"
    torch.manual_seed(7)
    first = pipeline(benchmark, tmp_path / "resumed.json")
    assert load_checkpoint(saved, first) == 0  # no checkpoint yet: start from the beginning
    first.train(benchmark.train_stream[0])
    save_checkpoint(saved, first, 1)
    del first  # the process that wrote it is gone

    torch.manual_seed(123)  # whatever happened since: the checkpoint restores the generators
    resumed = pipeline(benchmark, tmp_path / "resumed.json")
    with pytest.warns(UserWarning, match="without the state of EvaluationPlugin"):
        done = load_checkpoint(saved, resumed)
    assert done == 1
    for experience in list(benchmark.train_stream)[done:]:
        resumed.train(experience)

    expected, found = whole.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(expected[k], found[k]) for k in expected)  # bit-identical weights
    assert document(tmp_path / "resumed.json") == document(tmp_path / "whole.json")
    assert len(document(tmp_path / "whole.json")["accuracy_matrix"]) == 4
    sleeps = document(tmp_path / "whole.json")["components"]["sleep"]["sleeps"]
    assert sleeps == 3  # the sleep counters went through the checkpoint too


def test_a_checkpoint_of_other_plugins_or_seed_is_refused(benchmark, tmp_path):
    from avalanche.training import Naive

    from continual.avalanche import ResultsPlugin, load_checkpoint, save_checkpoint

    torch.manual_seed(0)
    strategy = pipeline(benchmark, None)
    strategy.train(benchmark.train_stream[0])
    save_checkpoint(tmp_path / "run.pt", strategy, 1)
    model = mlp(bias=False)
    other = Naive(
        model=model,
        optimizer=torch.optim.Adam(model.parameters()),
        plugins=[ResultsPlugin(benchmark, seed=0)],
        evaluator=quiet_evaluator(),
    )
    with pytest.raises(ContinualError, match="saved with our plugins .*build the strategy"):
        load_checkpoint(tmp_path / "run.pt", other)
    with pytest.raises(ContinualError, match="save after an experience"):
        save_checkpoint(tmp_path / "run.pt", strategy, 0)
    state = strategy.plugins[0].state_dict()
    with pytest.raises(ContinualError, match="checkpoint is of seed 0, this plugin's seed is 1"):
        ResultsPlugin(benchmark, seed=1).load_state_dict(state)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ContinualError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "bad.pt", strategy)
