"""The reproduction suite (scripts/reproduce.py, reproductions/suite.toml): every row's protocol
loads as a strategy spec, verdicts follow the stated rule, the table shows each row."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from continual import specs

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("reproduce", ROOT / "scripts" / "reproduce.py")
reproduce = importlib.util.module_from_spec(_spec)
sys.modules["reproduce"] = reproduce  # dataclasses look their module up
_spec.loader.exec_module(reproduce)


def test_every_row_names_a_protocol_that_loads():
    scenario, rows = reproduce.load_suite()
    specs.load_scenario(scenario)
    assert {"src", "finetune", "slda", "pc-exactness"} <= {r.name for r in rows}
    for row in rows:
        for reference in (row.strategy, row.control):
            if reference is not None:
                specs.load_strategy(row.strategy_path(reference))


def test_src_protocol_is_the_papers():
    spec = specs.load_strategy("src-paper").to_dict()
    nosleep = specs.load_strategy("src-paper-nosleep").to_dict()
    assert spec["learner"] == nosleep["learner"] and spec["training"] == nosleep["training"]
    assert [c["name"] for c in spec["components"]] == ["sleep"] and nosleep["components"] == []
    assert list(spec["learner"]["hidden"]) == [1200, 1200]


@pytest.mark.parametrize(
    "mean, published, tolerance, expected",
    [
        (19.0, 19.92, 3.0, "reproduced"),
        (24.5, 19.92, 3.0, "missed"),
        (22.92, 19.92, 3.0, "reproduced"),  # the boundary counts as within
        (None, 19.92, 3.0, "not run"),
        (50.0, None, 3.0, "reference"),
    ],
)
def test_verdict_rule(mean, published, tolerance, expected):
    assert reproduce.verdict(mean, published, tolerance) == expected


def test_bad_suites_are_refused_with_the_row_named(tmp_path):
    good = 'scenario = "split-mnist"\n[[row]]\nname = "a"\npaper = "p"\nprotocol = "q"\n'
    cases = {
        'kind = "accuracy"\nstrategy = "finetune"\nwhat = 1\n': "unknown field",
        'kind = "magic"\n': "kind must be one of",
        'kind = "gain"\nstrategy = "finetune"\npublished = 1.0\n': "needs 'control'",
        'kind = "accuracy"\nstrategy = "finetune"\ntolerance = -1\n': "non-negative",
    }
    for body, message in cases.items():
        path = tmp_path / "suite.toml"
        path.write_text(good + body)
        with pytest.raises(reproduce.SuiteError, match=message):
            reproduce.load_suite(path)


def test_predictive_coding_exactness_check_measures_a_difference():
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(8, 784, generator=generator, dtype=torch.float64)
    y = torch.randint(0, 10, (8,), generator=generator)
    assert reproduce.pc_exact(x, y) < 1e-12


def test_table_shows_each_row_with_its_numbers_and_verdict():
    _, rows = reproduce.load_suite()
    numbers = {
        "finetune": {"value": 19.0, "low": 18.0, "high": 20.0, "n": 10},
        "src": {
            "value": 25.0,
            "low": 20.0,
            "high": 30.0,
            "n": 10,
            "strategy_mean": 44.0,
            "control_mean": 19.0,
        },  # fmt: skip
    }
    text = reproduce.render(rows, numbers, "test data", "python scripts/reproduce.py")
    lines = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()}
    assert "19.0 [18.0, 20.0]" in lines["finetune"] and lines["finetune"].endswith("reproduced |")
    assert "+25.0 [+20.0, +30.0] (19.0 → 44.0 %)" in lines["src"]
    assert lines["src"].endswith("reproduced |")
    assert lines["joint"].endswith("not run |")
    assert "Data: test data" in text
