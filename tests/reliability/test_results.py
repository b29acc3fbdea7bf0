"""Result identity: names carry the run id, finished runs are reused (not recomputed), stale
temporary files are cleaned, files honour the umask, and --out is checked before training."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from continual import execution, specs
from continual.errors import ContinualError
from continual.results import clean_stale, finished, prepare_out, result_path, write_json_atomic
from tests.conftest import SYNTHETIC_SCENARIO, write
from tests.report.documents import document

SMALL = '[learner]\nname = "backprop"\nhidden = [8]\n[training]\nepochs = 1\n'


def test_different_configs_never_share_a_file(tmp_path):
    (tmp_path / "alt").mkdir()
    scenario = specs.load_scenario(str(write(tmp_path, "sc.toml", SYNTHETIC_SCENARIO)))
    alt = specs.load_strategy(str(write(tmp_path / "alt", "finetune.toml", SMALL)))
    preset = specs.load_strategy("finetune")
    u = specs.load_strategy(str(write(tmp_path, "s_ü.toml", SMALL)))
    e = specs.load_strategy(str(write(tmp_path, "s_é.toml", SMALL)))
    paths = set()
    for strategy in (alt, preset, u, e):
        cell = execution.Cell(scenario, strategy, 0)
        paths.add(result_path(tmp_path, scenario.name, strategy.name, 0, cell.run_id))
    assert len(paths) == 4


def test_same_name_different_configs_refused_and_repeats_deduplicated(tmp_path):
    (tmp_path / "alt").mkdir()
    scenario = specs.load_scenario(str(write(tmp_path, "sc.toml", SYNTHETIC_SCENARIO)))
    alt = specs.load_strategy(str(write(tmp_path / "alt", "finetune.toml", SMALL)))
    with pytest.raises(ContinualError, match="both named 'finetune'"):
        execution.cells(scenario, [alt, specs.load_strategy("finetune")], [0])
    plan = execution.cells(scenario, [alt, alt], [0, 0, 1])
    assert [(c.strategy.name, c.seed) for c in plan] == [("finetune", 0), ("finetune", 1)]


def test_write_honours_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        path = write_json_atomic(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o640


def test_non_finite_numbers_are_written_as_null(tmp_path):
    path = write_json_atomic(tmp_path / "r.json", {"a": [float("nan"), 1.0, float("inf")]})
    assert json.loads(path.read_text()) == {"a": [None, 1.0, None]}


def test_stale_temporary_files_are_cleaned_and_fresh_ones_kept(tmp_path):
    stale = tmp_path / ".x.json.abcd.tmp"
    fresh = tmp_path / ".y.json.efgh.tmp"
    stale.write_text("{")
    fresh.write_text("{")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    assert clean_stale(tmp_path) == [stale]
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize(
    "where", ["file", "/dev/null", "under-file", "/proc/continual-out"], ids=str
)
def test_out_that_cannot_take_results_is_refused(tmp_path, where):
    afile = tmp_path / "file"
    afile.write_text("x")
    out = {"file": afile, "under-file": afile / "out"}.get(where, Path(where))
    with pytest.raises(ContinualError, match=f"^out {out}: "):  # the CLI says --out
        prepare_out(out)
    assert not list(tmp_path.glob("**/.probe*"))


def test_finished_reads_only_complete_results_of_the_same_run(tmp_path):
    path = tmp_path / "r.json"
    assert finished(path, "abc") is None
    write_json_atomic(path, document("abc"))
    assert finished(path, "abc")["run_id"] == "abc"
    assert finished(path, "other") is None
    write_json_atomic(path, document("abc", status="diverged"))
    assert finished(path, "abc") is None
    path.unlink()
    path.mkdir()
    with pytest.raises(ContinualError, match="a folder has the name"):
        finished(path, "abc")


def test_rerun_skips_finished_runs_and_force_recomputes(cli, tmp_path, synthetic_scenario):
    strategy = write(tmp_path, "small.toml", SMALL)
    out = tmp_path / "out"
    args = ("run", "--scenario", str(synthetic_scenario), "--strategy", str(strategy))
    code, _, err = cli(*args, "--seed", "0", "--seed", "0", "--out", str(out), "--quiet")
    assert code == 0, err
    (first,) = out.glob("*.json")
    created = json.loads(first.read_text())["created"]
    stamp = first.stat().st_mtime_ns
    code, table, err = cli(*args, "--out", str(out), "--quiet")
    assert code == 0 and "kept" in err and "small" in table
    assert first.stat().st_mtime_ns == stamp  # read, not rewritten
    time.sleep(1.1)
    code, _, err = cli(*args, "--out", str(out), "--quiet", "--force")
    assert code == 0 and "wrote" in err
    assert json.loads(first.read_text())["created"] != created


def test_checking_out_leaves_no_folder_behind_when_asked(tmp_path):
    out = tmp_path / "a" / "b"
    prepare_out(out, keep=False)
    assert not (tmp_path / "a").exists()
    prepare_out(out)
    assert out.is_dir()


def test_changed_data_in_the_same_file_gets_a_new_run_id(tmp_path):
    import numpy as np

    from continual import specs
    from continual.execution import Cell

    def save(scale: float) -> None:
        x = (np.arange(64, dtype=np.float32).reshape(16, 4) % 7) * scale
        y = np.arange(16) % 4
        np.savez(tmp_path / "mine.npz", x_train=x, y_train=y, x_test=x, y_test=y)

    save(0.1)
    scenario = specs.with_overrides(specs.load_scenario("split-digits"), str(tmp_path / "mine.npz"))
    strategy = specs.load_strategy("finetune")
    first = Cell(scenario, strategy, 0).run_id
    assert Cell(scenario, strategy, 0).run_id == first  # same data, same id
    save(0.2)
    assert Cell(scenario, strategy, 0).run_id != first
    recorded = specs.scenario_to_dict(scenario)["data_file"]
    assert (
        recorded["path"] == str((tmp_path / "mine.npz").resolve()) and len(recorded["sha256"]) == 64
    )
