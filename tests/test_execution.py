"""The one driver (:func:`continual.execution.drive`) on the local process pool and in this
process: every cell once, finished cells skipped, failed ones retried a bounded number of times,
events in order, and a SIGKILLed sweep rerun loses and repeats no cell."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from continual import runner
from continual.cell import Job, run_job
from continual.errors import ContinualError
from continual.execution import Event, InProcess, Options, drive
from continual.sweep.grid import load_grid
from continual.sweep.local import LocalPool
from tests.conftest import write
from tests.sweep.helpers import MLP, tiny_grid


def run_sweep(plan, backend, out: Path, retries: int = 2, on_event=None):
    """As ``continual sweep`` drives: checkpoints at boundaries, resumed; failures collected."""
    job = Job(out, checkpoint_every=0, resume=True)
    options = Options(retries=retries, keep_going=True, pause=0.0)
    return drive(plan, backend, job, options, on_event=on_event)


def _stamps(out: Path) -> dict[str, tuple[str, int]]:
    """Result file name -> (run id, mtime in ns)."""
    return {
        p.name: (json.loads(p.read_text())["run_id"], p.stat().st_mtime_ns)
        for p in out.glob("*.json")
    }


def test_local_pool_runs_each_cell_once_and_a_rerun_skips_them(tmp_path):
    plan = load_grid(tiny_grid(tmp_path, seeds="[0]")).cells()  # 4 cells
    out = tmp_path / "out"
    outcome = run_sweep(plan, LocalPool(workers=2), out)
    assert (outcome.ran, outcome.kept, outcome.failed) == (4, 0, [])
    stamps = _stamps(out)
    assert len(stamps) == 4 and len({run_id for run_id, _ in stamps.values()}) == 4
    # a worker computes exactly what a run in this process computes
    cell = plan[1]
    direct = runner.run(cell.scenario, cell.strategy, cell.seed)
    swept = next(r for r in outcome.results if r["run_id"] == direct["run_id"])
    assert swept["accuracy_matrix"] == direct["accuracy_matrix"]
    assert swept["tags"] == {"parameters": {"learner.lr": 0.01}}
    assert swept["accuracy_matrix"][1][0] > 0.6  # it learned experience 0: chance is 1/6

    again = run_sweep(plan, LocalPool(workers=2), out)
    assert (again.ran, again.kept) == (0, 4)
    assert _stamps(out) == stamps  # nothing rewritten
    assert [r["run_id"] for r in again.results] == [r["run_id"] for r in outcome.results]


class Flaky:
    """Runs cells in this process; the listed cells fail their first ``failures`` attempts."""

    def __init__(self, failing: set[str], failures: int, error: type[Exception] = RuntimeError):
        self.failing, self.failures, self.error = failing, failures, error
        self.attempts: dict[str, int] = {}

    def run(self, cells, job, started=None):
        for index, cell in enumerate(cells):
            if started is not None:
                started(index)
            name = cell.strategy.name
            self.attempts[name] = self.attempts.get(name, 0) + 1
            if name in self.failing and self.attempts[name] <= self.failures:
                yield index, self.error(f"worker lost ({name})")
            else:
                yield index, run_job(job, cell)


@pytest.fixture
def two_cells(tmp_path):
    return load_grid(tiny_grid(tmp_path, parameters="", seeds="[0]")).cells()


def test_a_failed_cell_is_retried_until_it_succeeds(two_cells, tmp_path):
    backend = Flaky({"mlp"}, failures=2)
    outcome = run_sweep(two_cells, backend, tmp_path / "out", retries=2)
    assert (outcome.ran, outcome.failed) == (2, [])
    assert backend.attempts == {"mlp": 3, "mlp-ewc": 1}


def test_retries_are_bounded(two_cells, tmp_path):
    backend = Flaky({"mlp"}, failures=5)
    outcome = run_sweep(two_cells, backend, tmp_path / "out", retries=1)
    assert outcome.ran == 1 and backend.attempts["mlp"] == 2
    [(cell, error)] = outcome.failed
    assert cell.strategy.name == "mlp" and "worker lost" in str(error)
    assert len(list((tmp_path / "out").glob("*.json"))) == 1


def test_a_clear_error_is_not_retried(two_cells, tmp_path):
    backend = Flaky({"mlp"}, failures=5, error=ContinualError)
    outcome = run_sweep(two_cells, backend, tmp_path / "out", retries=3)
    assert backend.attempts["mlp"] == 1 and len(outcome.failed) == 1


def test_events_say_what_happened_in_order(two_cells, tmp_path):
    """In this process: started, the steps as they are taken, wrote; a rerun keeps both; a
    retry is told before the cell runs again."""
    out = tmp_path / "out"
    events: list[Event] = []
    report = drive(two_cells, InProcess(), Job(out), steps=[7, 9], on_event=events.append)
    first = [e for e in events if e.cell is two_cells[0]]
    assert first[0].kind == "started" and first[0].steps == 7
    assert {e.kind for e in first[1:-1]} == {"advanced"} and first[-1].kind == "wrote"
    assert sum(e.steps for e in first[1:-1]) == report.results[0]["cost"]["train_steps"]
    assert first[-1].path == two_cells[0].result_path(out) and first[-1].path.is_file()
    assert first[-1].result is report.results[0] and report.ran == 2

    events.clear()
    again = drive(two_cells, InProcess(), Job(out), on_event=events.append)
    assert [e.kind for e in events] == ["kept", "kept"] and (again.ran, again.kept) == (0, 2)
    assert [e.result for e in events] == again.results
    events.clear()
    forced = drive(two_cells, InProcess(), Job(out), Options(force=True), on_event=events.append)
    assert forced.ran == 2 and [e.kind for e in events if e.kind != "advanced"] == [
        "started", "wrote", "started", "wrote",
    ]  # fmt: skip

    events.clear()
    run_sweep(two_cells, Flaky({"mlp"}, failures=1), tmp_path / "flaky", on_event=events.append)
    kinds = [(e.kind, e.cell.strategy.name) for e in events if e.kind != "advanced"]
    assert kinds[:3] == [("started", "mlp"), ("retrying", "mlp"), ("started", "mlp-ewc")]
    assert kinds[-2:] == [("started", "mlp"), ("wrote", "mlp")]
    assert "worker lost (mlp)" in str(events[1].error)


def test_a_failure_is_raised_unless_told_to_keep_going(two_cells, tmp_path):
    """``run`` and ``ablate`` stop at the first cell that fails for good; ``sweep`` goes on."""
    with pytest.raises(RuntimeError, match="worker lost"):
        drive(two_cells, Flaky({"mlp"}, failures=1), Job(tmp_path / "out"))
    events: list[Event] = []
    options = Options(keep_going=True)
    report = drive(
        two_cells, Flaky({"mlp"}, 1), Job(tmp_path / "out"), options, on_event=events.append
    )
    assert [c.strategy.name for c, _ in report.failed] == ["mlp"] and report.ran == 1
    assert [e.kind for e in events if e.kind in ("failed", "wrote")] == ["failed", "wrote"]


def test_retries_are_a_bounded_option_named_as_a_parameter():
    with pytest.raises(ContinualError, match=r"^retries 101: must be between 0 and 100"):
        Options(retries=101)
    with pytest.raises(ContinualError, match=r"^retries -1"):
        Options(retries=-1)


def test_a_cell_hashes_its_data_file_once(tmp_path, monkeypatch):
    """A user's data file is hashed once per cell — for its id, the pre-flight build, its run
    and its result's path alike (it was hashed four times per cell) — and the result's run id
    is the cell's."""
    from continual import execution, specs

    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (80, 6, 6), dtype=np.uint8),
        "y_train": np.repeat(np.arange(4), 20),
        "x_test": rng.integers(0, 256, (40, 6, 6), dtype=np.uint8),
        "y_test": np.repeat(np.arange(4), 10),
    }
    np.savez(tmp_path / "mine.npz", **arrays)
    scenario = specs.with_overrides(
        specs.load_scenario("split-digits"), str(tmp_path / "mine.npz"), 2
    )
    strategy = specs.load_strategy(str(write(tmp_path, "mlp.toml", MLP)))
    hashes: list[Path] = []
    original = specs._sha256
    monkeypatch.setattr(specs, "_sha256", lambda path: hashes.append(path) or original(path))
    plan = execution.cells(scenario, [strategy], [0, 1])
    cache: dict = {}
    execution.prepare(plan, None, cache)
    report = drive(plan, InProcess(cache), Job(tmp_path / "out"))
    assert len(hashes) == len(plan) == 2
    assert [r["run_id"] for r in report.results] == [c.run_id for c in plan]
    assert [c.result_path(tmp_path / "out").is_file() for c in plan] == [True, True]


def test_sigkilled_sweep_rerun_loses_and_repeats_no_cell(tmp_path, cli):
    grid = tiny_grid(tmp_path, '"learner.lr" = [0.001, 0.003, 0.01]', "[0]")  # 6 cells
    out = tmp_path / "out"
    environment = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    command = [sys.executable, "-m", "continual", "sweep", str(grid), "--out", str(out)]
    sweep = subprocess.Popen(
        command, env=environment, start_new_session=True, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while len(list(out.glob("*.json"))) < 2:
        assert sweep.poll() is None, "the sweep ended before it could be killed"
        assert time.monotonic() < deadline, "no result within 120 s"
        time.sleep(0.05)
    os.killpg(sweep.pid, signal.SIGKILL)  # the driver and its workers
    sweep.wait()
    before = _stamps(out)
    assert 2 <= len(before) < 6

    code, _, err = cli("sweep", str(grid), "--out", str(out))
    assert code == 0, err
    after = _stamps(out)
    assert len(after) == 6 and len({run_id for run_id, _ in after.values()}) == 6
    assert {name: after[name] for name in before} == before  # finished cells not repeated
    assert f"ran {6 - len(before)}, skipped {len(before)} finished, failed 0" in err
    assert not list(out.glob(".*.tmp"))


def test_a_worker_exits_when_its_driver_is_killed():
    """A pool worker follows its driver: killed driver (SIGKILL, no clean-up), worker gone
    within a second instead of training on as an orphan."""
    driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\n"
            "from continual.sweep.local import _follow\n"
            f"_follow({driver.pid}, interval=0.05)\n"
            "time.sleep(60)\n",
        ],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        time.sleep(1.0)
        assert worker.poll() is None  # alive while the driver is
        driver.kill()
        driver.wait()
        assert worker.wait(timeout=5) == 1
    finally:
        for process in (driver, worker):
            if process.poll() is None:
                process.kill()
