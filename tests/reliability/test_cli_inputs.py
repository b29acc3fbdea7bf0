"""Bad input at the command line: one clear line, exit 2, no traceback, nothing written; and
Ctrl-C in the first moments ends in 'interrupted', exit 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import write

SMALL = '[learner]\nname = "backprop"\nhidden = [8]\n[training]\nepochs = 1\n'


def _refused(cli, tmp_path, *args, out=None):
    out = out if out is not None else tmp_path / "out"
    code, stdout, err = cli("run", "--out", str(out), "--quiet", *args)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not list(tmp_path.glob("**/*.json"))
    return err


def test_network_that_cannot_fit_is_refused_before_training(cli, tmp_path, synthetic_scenario):
    wide = write(
        tmp_path, "wide.toml", '[learner]\nname = "backprop"\nhidden = [1000000, 1000000]\n'
    )
    err = _refused(cli, tmp_path, "--scenario", str(synthetic_scenario), "--strategy", str(wide))
    assert "the backprop learner (1,000,0" in err and "of memory" in err


def test_buffer_that_cannot_fit_is_refused_before_training(cli, tmp_path):
    big = write(
        tmp_path, "big.toml", SMALL + '[[components]]\nname = "replay"\nbudget = 1000000000\n'
    )
    err = _refused(cli, tmp_path, "--strategy", str(big))  # digits: 64 features
    assert "the replay buffer (1,000,000,000 samples)" in err


@pytest.mark.parametrize(
    "args",
    [("--experiences", "1000000"), ("--seed", "-1"), ("--experiences", "0")],
    ids=str,
)
def test_command_line_values_are_bounded(cli, tmp_path, args):
    assert args[0] in _refused(cli, tmp_path, "--strategy", "finetune", *args)


def test_out_is_checked_before_training(cli, tmp_path, synthetic_scenario):
    small = write(tmp_path, "small.toml", SMALL)
    afile = write(tmp_path, "afile", "x")
    for out in (afile, afile / "below", "/dev/null", "/proc/continual"):
        err = _refused(
            cli, tmp_path, "--scenario", str(synthetic_scenario), "--strategy", str(small), out=out
        )
        assert f"--out {out}" in err


def test_too_much_work_is_refused(cli, tmp_path):
    long = write(tmp_path, "long.toml", SMALL.replace("epochs = 1", "steps = 999999999"))
    err = _refused(cli, tmp_path, "--strategy", str(long))
    assert "training steps is more than one run may take" in err


def test_ctrl_c_at_start_is_interrupted_without_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    command = [sys.executable, "-m", "continual", "run", "--out", str(tmp_path), "--quiet"]
    process = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # A terminal's Ctrl-C: a test runner started in the background (nohup, `&`) passes
        # SIGINT on as ignored, and Python then never raises KeyboardInterrupt at all.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(0.3)  # inside the imports
    # Press Ctrl-C until it exits, as a user would: a library that swallows one interrupt
    # during its import (timing-dependent on a loaded machine) must not make the test hang.
    for _ in range(20):
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=3)  # time to print "interrupted" and exit
            break
        except subprocess.TimeoutExpired:
            continue
    else:  # pragma: no cover - the test's premise
        process.kill()
        raise AssertionError("continual run did not stop on Ctrl-C")
    assert process.returncode == 130, err
    assert err.strip() == "interrupted"
