"""The command line: listing, running, and one clear message for each kind of bad input."""

import json
import subprocess
import sys
import time

import pytest

from tests.conftest import SYNTHETIC_SCENARIO, write

GOOD_STRATEGY = """
description = "small backprop"
[learner]
name = "backprop"
hidden = [16]
lr = 0.01
[training]
epochs = 1
"""


def test_list_shows_presets_without_importing_torch():
    code = (
        "import sys; from continual.cli import main; rc = main(['list']); "
        "assert 'torch' not in sys.modules, 'torch imported'; raise SystemExit(rc)"
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    for name in ("split-digits", "finetune", "joint", "backprop"):
        assert name in done.stdout
    assert elapsed < 5  # generous for a loaded CI machine; ~0.3 s when idle


def test_help_answers(cli):
    with pytest.raises(SystemExit) as exit_info:
        cli("--help")
    assert exit_info.value.code == 0


def test_run_writes_one_result_per_strategy_and_seed(cli, tmp_path, synthetic_scenario):
    strategy = write(tmp_path, "small.toml", GOOD_STRATEGY)
    code, out, err = cli(
        "run",
        "--scenario",
        str(synthetic_scenario),
        "--strategy",
        str(strategy),
        "--strategy",
        "joint",
        "--seed",
        "0",
        "--seed",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--quiet",
    )
    assert code == 0, err
    files = sorted(p.name for p in (tmp_path / "out").glob("*.json"))
    # SCENARIO__STRATEGY__seedN__RUNID.json: the run id (config hash) keeps configs apart
    assert [f.rsplit("__", 1)[0] for f in files] == [
        "synthetic__joint__seed0",
        "synthetic__joint__seed1",
        "synthetic__small__seed0",
        "synthetic__small__seed1",
    ]
    for name in files:
        document = json.loads((tmp_path / "out" / name).read_text())
        assert name.endswith(f"__{document['run_id'][:8]}.json")
    assert "small" in out and "joint" in out and "±" in out
    assert not list((tmp_path / "out").glob(".*tmp"))  # no temporary files left behind
    assert json.loads((tmp_path / "out" / files[0]).read_text())["seed"] == 0


def test_a_rerun_says_which_results_it_kept(cli, tmp_path, synthetic_scenario):
    strategy = write(tmp_path, "small.toml", GOOD_STRATEGY)
    args = ["run", "--scenario", str(synthetic_scenario), "--strategy", str(strategy)]
    args += ["--out", str(tmp_path / "out"), "--no-report"]
    assert cli(*args)[0] == 0
    code, _, err = cli(*args)  # not --quiet: no bar for a kept result, so a line says it
    assert code == 0 and "small (seed 0): kept, already computed (--force recomputes)" in err


def _bad(cli, tmp_path, *args):
    code, out, err = cli("run", "--out", str(tmp_path / "out"), "--quiet", *args)
    assert code == 2
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing half-written
    return err


def test_unknown_strategy_suggests_the_closest(cli, tmp_path):
    err = _bad(cli, tmp_path, "--strategy", "finetun")
    assert "unknown strategy 'finetun'" in err and "did you mean 'finetune'" in err


def test_unknown_learner_in_composition_suggests_the_closest(cli, tmp_path):
    err = _bad(cli, tmp_path, "--strategy", "backprp+replay")
    assert "unknown learner 'backprp'" in err and "'backprop'" in err


def test_malformed_toml_names_the_file_and_line(cli, tmp_path):
    path = write(tmp_path, "broken.toml", "[learner\nname = 'backprop'\n")
    err = _bad(cli, tmp_path, "--strategy", str(path))
    assert "broken.toml" in err and "malformed TOML" in err and "line 1" in err


def test_wrong_field_type_names_file_line_and_field(cli, tmp_path):
    path = write(tmp_path, "typed.toml", GOOD_STRATEGY.replace("lr = 0.01", 'lr = "fast"'))
    err = _bad(cli, tmp_path, "--strategy", str(path))
    assert "typed.toml:5" in err and "[learner] lr" in err and "expected float" in err


def test_unknown_field_suggests_the_closest(cli, tmp_path):
    path = write(tmp_path, "typo.toml", GOOD_STRATEGY.replace("lr = 0.01", "lrr = 0.01"))
    err = _bad(cli, tmp_path, "--strategy", str(path))
    assert "typo.toml:5" in err and "unknown field 'lrr'" in err and "did you mean 'lr'" in err


def test_negative_learning_rate_is_refused_before_training(cli, tmp_path):
    path = write(tmp_path, "negative.toml", GOOD_STRATEGY.replace("lr = 0.01", "lr = -0.1"))
    err = _bad(cli, tmp_path, "--strategy", "finetune", "--strategy", str(path))
    assert "negative.toml:5" in err and "[learner] lr" in err and "positive" in err


def test_scenario_with_zero_experiences(cli, tmp_path):
    path = write(
        tmp_path, "empty.toml", SYNTHETIC_SCENARIO.replace("experiences = 3", "experiences = 0")
    )
    err = _bad(cli, tmp_path, "--scenario", str(path), "--strategy", "finetune")
    assert "empty.toml:9" in err and "[generator] experiences" in err and "at least 1" in err


def test_too_many_experiences_for_the_classes(cli, tmp_path):
    path = write(
        tmp_path, "many.toml", SYNTHETIC_SCENARIO.replace("experiences = 3", "experiences = 7")
    )
    err = _bad(cli, tmp_path, "--scenario", str(path), "--strategy", "finetune")
    assert "has 6" in err


def test_missing_file_and_missing_table(cli, tmp_path):
    assert "no such file" in _bad(cli, tmp_path, "--strategy", str(tmp_path / "nope.toml"))
    path = write(tmp_path, "nolearner.toml", "[training]\nepochs = 1\n")
    assert "missing table [learner]" in _bad(cli, tmp_path, "--strategy", str(path))


def test_unknown_top_level_field(cli, tmp_path):
    path = write(tmp_path, "top.toml", "descripton = 'x'\n" + GOOD_STRATEGY)
    err = _bad(cli, tmp_path, "--strategy", str(path))
    assert "top.toml:1" in err and "did you mean 'description'" in err


def test_cuda_without_a_gpu_is_a_clear_error(cli, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    err = _bad(cli, tmp_path, "--device", "cuda", "--strategy", "finetune")
    assert "no CUDA device" in err


def test_errors_reach_the_shell_without_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "continual", "run", "--strategy", "nope", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert (
        done.stderr.startswith("error: unknown strategy 'nope'") and "Traceback" not in done.stderr
    )


def test_runs_use_one_torch_thread_unless_asked(cli, tmp_path):
    """torch's default (a thread per core) lets a run's threads spin waiting for each other
    when another process holds a core; run and ablate train with --threads (default 1)."""
    import torch

    before = torch.get_num_threads()
    scenario = write(tmp_path, "synthetic.toml", SYNTHETIC_SCENARIO)
    strategy = write(tmp_path, "small.toml", GOOD_STRATEGY)
    try:
        torch.set_num_threads(2)
        args = ["run", "--scenario", str(scenario), "--strategy", str(strategy), "--quiet"]
        assert cli(*args, "--out", str(tmp_path / "a"))[0] == 0
        result = json.loads(next((tmp_path / "a").glob("*.json")).read_text())
        assert result["environment"]["threads"] == 1
        assert cli(*args, "--out", str(tmp_path / "b"), "--threads", "2", "--force")[0] == 0
        result = json.loads(next((tmp_path / "b").glob("*.json")).read_text())
        assert result["environment"]["threads"] == 2
        code, _, err = cli(*args, "--threads", "0")
        assert code == 2 and "--threads 0" in err
    finally:
        torch.set_num_threads(before)
