"""A report group is one strategy configuration on one scenario, and a run counts once."""

import json

from continual.report.aggregate import by_strategy
from continual.report.files import load_results
from tests.report.documents import document


def _result(run_id: str, scenario: str, lr: float, seed: int = 0) -> dict:
    result = document(run_id, seed=seed, scenario=scenario)
    result["strategy"]["learner"]["lr"] = lr
    return result


def test_one_name_over_scenarios_or_configs_is_never_averaged_together():
    results = [
        _result("a", "syn", 1e-3, 0),
        _result("b", "syn", 1e-3, 1),
        _result("c", "syn", 1e-2, 0),
        _result("d", "digits", 1e-3, 0),
    ]
    groups = by_strategy(results)
    assert sorted(len(g) for g in groups.values()) == [1, 1, 2]
    labels = sorted(groups)
    assert all(label.startswith("finetune @") for label in labels)
    assert sum("#" in label for label in labels) == 2  # two configs on syn
    # one scenario, one config: the plain name
    assert list(by_strategy(results[:2])) == ["finetune"]


def test_the_same_run_in_two_folders_counts_once(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "r.json").write_text(json.dumps(_result("same", "syn", 1e-3)))
    (tmp_path / "b" / "s.json").write_text(json.dumps(_result("other", "syn", 1e-3, 1)))
    results = load_results([tmp_path / "a", tmp_path / "b"])
    assert [r["run_id"] for r in results] == ["same", "other"]
