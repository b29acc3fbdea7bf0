"""Checkpoints and --resume under hostile conditions: a checkpoint that does not fit the run
(another shape, an older format, a position out of range, a field of the wrong type), one that
is not a regular file, a checkpoints folder that cannot take files, temporary files of killed
writers and two processes resuming one run: each is one clear error or cleaned up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from continual import checkpoint, execution, runner, specs
from continual.checkpoint import Checkpointing
from continual.errors import ContinualError
from continual.results import _writer, clean_stale, write_atomic
from tests.conftest import SYNTHETIC_SCENARIO, write

SMALL = '[learner]\nname = "backprop"\nhidden = [8]\n[training]\nepochs = 2\n'


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory):
    """A run killed after its first experience, and its checkpoint's state."""
    folder = tmp_path_factory.mktemp("run")
    scenario = specs.load_scenario(str(write(folder, "s.toml", SYNTHETIC_SCENARIO)))
    strategy = specs.load_strategy(str(write(folder, "small.toml", SMALL)))
    path = folder / "run.pt"
    seen = [0]

    def die(n: int) -> None:
        seen[0] += n
        if seen[0] >= 20:  # in the second experience
            raise Interrupted

    with pytest.raises(Interrupted):
        runner.run(scenario, strategy, 0, progress=die, checkpoint=Checkpointing(path))
    return scenario, strategy, torch.load(path, weights_only=True)


def _set(state: dict, where: tuple, value) -> dict:
    target = state
    for key in where[:-1]:
        target = target[key]
    if value is KeyError:
        del target[where[-1]]
    else:
        target[where[-1]] = value
    return state


CORRUPT = {
    "another shape": (("strategy", "learner", "net.0.weight"), torch.zeros(3, 3)),
    "older format": (("recorder",), KeyError),
    "no position": (("position",), KeyError),
    "experience 99": (("position", "experience"), 99),
    "experience -1": (("position", "experience"), -1),
    "experience text": (("position", "experience"), "one"),
    "elapsed text": (("elapsed",), "1 s"),
    "step text": (("strategy", "step"), "ten"),
    "rows text": (("recorder", "matrix"), "x"),
}


@pytest.mark.parametrize("case", list(CORRUPT), ids=str)
def test_a_checkpoint_that_does_not_fit_the_run_is_refused(interrupted_run, tmp_path, case):
    scenario, strategy, state = interrupted_run
    import copy

    path = tmp_path / "run.pt"
    torch.save(_set(copy.deepcopy(state), *CORRUPT[case]), path)
    with pytest.raises(ContinualError) as error:
        runner.run(scenario, strategy, 0, checkpoint=Checkpointing(path, resume=True))
    message = str(error.value)
    assert f"checkpoint {path} does not match this run" in message
    assert message.endswith("delete it or do not resume")


@pytest.mark.parametrize("kind", ["fifo", "link loop", "dangling link", "/dev/zero link", "folder"])
def test_a_checkpoint_that_is_not_a_regular_file_is_an_error_not_a_hang(tmp_path, kind):
    path = tmp_path / "run.pt"
    {
        "fifo": lambda: os.mkfifo(path),
        "link loop": lambda: path.symlink_to(path),
        "dangling link": lambda: path.symlink_to(tmp_path / "gone"),
        "/dev/zero link": lambda: path.symlink_to("/dev/zero"),
        "folder": lambda: path.mkdir(),
    }[kind]()
    outcome: list = []

    def attempt() -> None:
        try:
            outcome.append(checkpoint.load(path, "x"))
        except Exception as error:  # the test checks which
            outcome.append(error)

    reader = threading.Thread(target=attempt, daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert outcome, "loading the checkpoint hung"
    assert isinstance(outcome[0], ContinualError) and str(path) in str(outcome[0])


@pytest.mark.parametrize("kind", ["file", "dangling link", "read-only"])
def test_a_checkpoints_folder_that_cannot_take_files_is_refused_before_training(
    cli, tmp_path, synthetic_scenario, monkeypatch, kind
):
    out = tmp_path / "out"
    out.mkdir()
    folder = out / execution.CHECKPOINTS
    if kind == "file":
        folder.write_text("x")
    elif kind == "dangling link":
        folder.symlink_to(tmp_path / "gone")
    else:  # as root nothing is read-only: the file system's answer, simulated

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        folder.mkdir()
        monkeypatch.setattr(checkpoint, "probe_writable", refuse)
    small = write(tmp_path, "small.toml", SMALL)
    args = ("--scenario", str(synthetic_scenario), "--strategy", str(small), "--out", str(out))
    code, _, err = cli("run", *args, "--checkpoint-every", "5", "--resume", "--quiet")
    assert code == 2 and "Traceback" not in err, err
    assert err.splitlines()[-1].startswith(f"error: {folder}")
    assert not list(out.glob("*.json"))


def test_temporary_files_of_dead_writers_are_cleaned_at_once(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True)  # fmt: skip
    dead = int(finished.stdout)
    host = _writer().rpartition("-")[0]
    (tmp_path / "checkpoints").mkdir()
    names = {
        "dead": f"checkpoints/.abc.pt.{host}-{dead}.x1y2z3.tmp",
        "alive": f".r.json.{_writer()}.a1b2c3.tmp",
        "other host": f".r.json.elsewhere-{dead}.d4e5f6.tmp",
        "dead result": f".r.json.{host}-{dead}.g7h8i9.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"half")
    removed = {p.relative_to(tmp_path).as_posix() for p in clean_stale(tmp_path)}
    assert removed == {names["dead"], names["dead result"]}


def test_a_write_names_its_writer_and_leaves_nothing_when_it_fails(tmp_path):
    def fail(stream):
        names.extend(p.name for p in tmp_path.iterdir())
        raise OSError(27, "File too large")

    names: list[str] = []
    with pytest.raises(OSError):
        write_atomic(tmp_path / "r.json", fail)
    assert len(names) == 1 and f".{_writer()}." in names[0]
    assert not list(tmp_path.iterdir())


def test_two_processes_resuming_one_run_do_not_race(tmp_path, synthetic_scenario):
    scenario = specs.load_scenario(str(synthetic_scenario))
    strategy = specs.load_strategy(str(write(tmp_path, "small.toml", SMALL)))
    cell = execution.Cell(scenario, strategy, 0)
    path = checkpoint.checkpoint_path(tmp_path / execution.CHECKPOINTS, cell.run_id)
    path.parent.mkdir()
    with checkpoint.locked(path):  # as another process holding the run would
        with pytest.raises(ContinualError, match="is running in another process"):
            execution.run_cell(cell, execution.Job(tmp_path, checkpoint_every=0, resume=True))
    assert not Path(f"{path}.lock").exists()  # released and removed
    with checkpoint.locked(path):
        pass


def test_sigterm_during_frequent_checkpoints_leaves_no_temporary_file(tmp_path):
    long = SMALL.replace("epochs = 2", "epochs = 200").replace("[8]", "[64]")
    write(tmp_path, "long.toml", long)
    write(tmp_path, "s.toml", SYNTHETIC_SCENARIO)
    command = [sys.executable, "-m", "continual", "run", "--scenario", "s.toml", "--strategy",
               "long.toml", "--out", "out", "--checkpoint-every", "1", "--quiet"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300  # a loaded machine starts python slowly
    while not list((tmp_path / "out" / "checkpoints").glob("*.pt")) and time.time() < deadline:
        time.sleep(0.05)
    assert list((tmp_path / "out" / "checkpoints").glob("*.pt")), "no checkpoint was written"
    time.sleep(0.3)  # well inside the checkpoint writes
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143 and err.strip().endswith("terminated"), err
    assert "Traceback" not in err
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.endswith(".tmp")]
