"""The Python API (continual.api): the README's example runs as written, results carry what a
notebook needs, specs come from names and dicts, bad input ends in a clear error."""

import re
from pathlib import Path

import pytest

import continual
from continual.errors import ContinualError

README = Path(__file__).resolve().parent.parent / "README.md"
TINY = {
    "name": "tiny",
    "dataset": {"name": "synthetic", "samples": 300, "features": 12, "classes": 4},
    "generator": {"name": "class-incremental", "experiences": 2},
}
SMALL = {
    "name": "small",
    "learner": {"name": "backprop", "hidden": [32]},
    "training": {"epochs": 3},
}


def test_readme_python_example_runs(tmp_path, monkeypatch):
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## From Python.*?```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    results = namespace["results"]
    assert results.strategies == ["finetune", "replay"] and len(results) == 4
    assert namespace["gain"].difference.mean > 0.3  # replay keeps old classes, finetune cannot
    assert namespace["matrix"].shape == (6, 5)
    assert len(namespace["frame"]) == 4
    assert (tmp_path / "results" / "notebook" / "report.html").is_file()


def test_results_tables_agree_with_the_result_files(tmp_path):
    results = continual.run(TINY, [SMALL, "finetune"], seeds=[3, 4], out=tmp_path)
    assert results.strategies == ["small", "finetune"]
    rows = {row["strategy"]: row for row in results.table()}
    accuracies = [d["metrics"]["average_accuracy"] for d in results.of("small")]
    assert rows["small"]["seeds"] == 2
    assert rows["small"]["average_accuracy"] == pytest.approx(sum(accuracies) / 2)
    assert rows["small"]["average_accuracy_low"] <= rows["small"]["average_accuracy"]
    paired = results.paired("small", "finetune")
    assert paired.seeds == (3, 4)
    runs = {(r["strategy"], r["seed"]): r for r in results.runs()}
    difference = [
        runs[("small", s)]["average_accuracy"] - runs[("finetune", s)]["average_accuracy"]
        for s in (3, 4)
    ]
    assert paired.difference.mean == pytest.approx(sum(difference) / 2)
    last_row = results.matrix("small", seed=3)[-1]
    assert last_row.mean() == pytest.approx(runs[("small", 3)]["average_accuracy"])
    again = continual.run(TINY, [SMALL], seeds=[3], out=tmp_path)  # reused, not retrained
    assert again[0]["created"] == results.of("small")[0]["created"]


def test_bad_input_is_refused_clearly(tmp_path):
    with pytest.raises(ContinualError, match="needs a 'name'"):
        continual.run(TINY, [{"learner": {"name": "backprop"}}], out=tmp_path)
    with pytest.raises(ContinualError, match="seeds"):
        continual.run(TINY, [SMALL], seeds=0, out=tmp_path)
    with pytest.raises(ContinualError, match="hiden"):
        continual.run(
            TINY, [{**SMALL, "learner": {"name": "backprop", "hiden": [3]}}], out=tmp_path
        )
    results = continual.run(TINY, [SMALL], out=tmp_path)
    with pytest.raises(ContinualError, match="no strategy 'nope'"):
        results.matrix("nope")


def test_ablate_returns_the_ladder(tmp_path):
    ladder = continual.ablate(
        {**SMALL, "components": [{"name": "replay", "budget": 50}]}, TINY, seeds=2, out=tmp_path
    )
    rows = ladder.table()
    assert rows[0]["rung"] == ladder.summary["comparisons"][0]["rung"] == "backprop+replay"
    assert rows[0]["mean"] == pytest.approx(
        100 * ladder.summary["comparisons"][0]["difference"]["average_accuracy"]["mean"]
    )
    assert len(ladder.results) == 2 * len(ladder.summary["rungs"])


def test_a_device_this_machine_lacks_is_refused_clearly(tmp_path):
    import torch

    from continual.errors import ConfigError

    with pytest.raises(ConfigError, match="device 'gpu': must be 'cpu', 'cuda' or 'cuda:N'"):
        continual.run("split-digits", "finetune", out=tmp_path, device="gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device is available here"):
            continual.ablate("finetune", out=tmp_path, device="cuda")
