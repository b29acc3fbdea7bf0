"""The command layer under hostile conditions: unbounded requests refused up front, the file
system saying no (a name too long, a folder where a report goes, a full disk, stdout on
/dev/full), an ASCII terminal, memory the process may not have, SIGTERM and a second Ctrl-C:
each ends in one line and an exit status, never a traceback or a temporary file."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from continual import cli as cli_module
from continual import commands
from tests.report.documents import document, save


def _one_error(code: int, err: str, status: int = 2) -> str:
    assert code == status, err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("error: "), err
    return err


@pytest.fixture
def never_expanded(monkeypatch):
    """A command that gets as far as building its runs fails the test (instead of hanging)."""
    from continual import execution

    def expanded(*args, **kwargs):
        raise AssertionError("the request was expanded into runs before the refusal")

    monkeypatch.setattr(execution, "prepare", expanded)


@pytest.mark.parametrize("count", ["100000", "1000000"])
@pytest.mark.usefixtures("never_expanded")
def test_too_many_seeds_are_refused_at_once(cli, tmp_path, count):
    code, _, err = cli("run", "--strategy", "finetune", "--seeds", count, "--out", str(tmp_path))
    assert "at most 10,000 seeds" in _one_error(code, err)
    code, _, err = cli("ablate", "finetune", "--seeds", count, "--out", str(tmp_path))
    assert "at most 10,000 seeds" in _one_error(code, err)
    assert not list(tmp_path.iterdir())


@pytest.mark.usefixtures("never_expanded")
def test_too_many_runs_are_refused_before_any_is_built(cli, tmp_path):
    code, _, err = cli(
        "run", *("--strategy", "finetune", "--strategy", "ewc"), "--seeds", "6000",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert "12,000 runs, more than one command may take (10,000)" in _one_error(code, err)


def test_an_out_path_too_long_for_the_file_system_is_one_error(cli, tmp_path):
    code, _, err = cli("run", "--strategy", "finetune", "--out", str(tmp_path / ("x" * 300)))
    assert "File name too long" in _one_error(code, err)


@pytest.mark.parametrize("name", ["report.html", "metrics.csv"])
def test_a_folder_where_a_report_goes_is_refused_before_training(
    cli, tmp_path, synthetic_scenario, name
):
    out = tmp_path / "out"
    (out / name).mkdir(parents=True)
    code, _, err = cli("run", "--scenario", str(synthetic_scenario), "--strategy", "finetune",
                       "--out", str(out), "--quiet")  # fmt: skip
    assert f"{out / name}: is a folder" in _one_error(code, err)
    assert not list(out.glob("*.json"))
    save(tmp_path / "runs", document())
    code, _, err = cli("report", str(tmp_path / "runs"), "--out", str(out))
    assert "is a folder" in err.splitlines()[-1] and code == 2


@pytest.mark.parametrize(
    "failure",
    [
        MemoryError(),
        RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: not enough memory"),
        RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB"),
    ],
    ids=["MemoryError", "cpu allocator", "cuda"],
)
def test_an_allocation_the_process_may_not_make_is_one_error(cli, monkeypatch, failure):
    def fail(args):
        raise failure

    monkeypatch.setattr(commands, "run_command", fail)
    code, _, err = cli("run")
    assert "out of memory" in _one_error(code, err)


def test_a_bug_keeps_its_traceback(cli, monkeypatch):
    def fail(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(commands, "run_command", fail)
    with pytest.raises(RuntimeError, match="a bug"):
        cli("run")


def test_sigterm_unwinds_like_ctrl_c_and_removes_the_temporary_file(cli, monkeypatch, tmp_path):
    from continual.results import write_atomic

    def killed_while_writing(args):
        def write(stream):
            stream.write("half")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler interrupts this

        write_atomic(tmp_path / "r.json", write)

    monkeypatch.setattr(commands, "run_command", killed_while_writing)
    before = signal.getsignal(signal.SIGTERM)
    code, _, err = cli("run")
    assert code == 143 and err == "terminated\n"
    assert not list(tmp_path.iterdir())
    assert signal.getsignal(signal.SIGTERM) is before  # handlers restored


def test_a_second_interrupt_during_shutdown_exits_at_once(cli, monkeypatch):
    exits = []

    def fake_exit(status):
        exits.append(status)
        raise SystemExit(status)

    def interrupted_twice(args):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        finally:  # a slow shutdown, interrupted again
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)

    monkeypatch.setattr(cli_module.os, "_exit", fake_exit)
    monkeypatch.setattr(commands, "run_command", interrupted_twice)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        pytest.skip("Ctrl-C is ignored in this process (a background job)")
    with pytest.raises(SystemExit):
        cli("run")
    assert exits == [130]


def test_list_survives_a_data_dir_under_an_unreadable_folder(cli, monkeypatch, tmp_path):
    unreadable = tmp_path / "locked"
    real_exists = Path.exists

    def exists(path):  # as root, chmod 000 does not lock anything: simulate what a user sees
        if str(path).startswith(str(unreadable)):
            raise PermissionError(13, "Permission denied", str(path))
        return real_exists(path)

    monkeypatch.setattr(Path, "exists", exists)
    code, out, err = cli("list", "--data-dir", str(unreadable / "data"))
    assert code == 0, err
    assert "data folder unreadable" in out


def _cli(args, tmp_path, env=None, **options):
    environment = {**os.environ, "PYTHONPATH": os.getcwd(), "OMP_NUM_THREADS": "1", **(env or {})}
    options.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(
        [sys.executable, "-m", "continual", *args],
        stderr=subprocess.PIPE,
        env=environment,
        cwd=tmp_path,
        timeout=120,
        **options,
    )


def test_an_ascii_terminal_and_a_file_name_that_is_not_utf8(tmp_path):
    runs = Path(os.fsdecode(bytes(tmp_path) + b"/runs-\xff"))
    save(runs, document(strategy="größe ± α"))
    done = _cli(["report", os.fsdecode(bytes(runs))], tmp_path,
                env={"LC_ALL": "C", "PYTHONIOENCODING": "ascii"})  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert b"Traceback" not in done.stderr and b"gr??e ? ?" in done.stdout


def test_a_full_disk_and_stdout_on_dev_full(tmp_path):
    save(tmp_path / "runs", document())

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))

    done = _cli(["report", "runs", "--out", "out"], tmp_path, preexec_fn=small_files)
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err, err
    assert "File too large" in err.splitlines()[-1]
    assert not [p for p in (tmp_path / "out").iterdir() if p.suffix == ".tmp"]
    with open("/dev/full", "w") as full:
        done = _cli(["report", "runs"], tmp_path, stdout=full)
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err and "Exception ignored" not in err
    assert err.splitlines()[-1] == "error: output: No space left on device"
