"""The Ray backend on a real local Ray instance (2 CPUs) started by the test: a 4-cell sweep, and
a sweep interrupted mid-way then rerun loses and repeats no cell."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'continual[sweep]')")

from continual.cell import Job  # noqa: E402
from continual.execution import Options, drive  # noqa: E402
from continual.sweep.grid import load_grid  # noqa: E402
from continual.sweep.ray_backend import RayBackend  # noqa: E402
from tests.sweep.helpers import tiny_grid  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    os.environ.setdefault("PYTHONPATH", str(Path.cwd()))  # workers import continual and tests
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _wait_for_locks(folder: Path, seconds: float) -> None:
    """Until no process holds a run's advisory lock in ``folder`` (or ``seconds`` pass)."""
    import fcntl
    import time

    deadline = time.time() + seconds
    while time.time() < deadline:
        held = False
        for lock in folder.glob("*.lock"):
            try:
                handle = os.open(lock, os.O_RDWR)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(handle, fcntl.LOCK_UN)
            except BlockingIOError:
                held = True
            finally:
                os.close(handle)
        if not held:
            return
        time.sleep(0.2)


def _stamps(out: Path) -> dict[str, tuple[str, int]]:
    return {
        p.name: (json.loads(p.read_text())["run_id"], p.stat().st_mtime_ns)
        for p in out.glob("*.json")
    }


class Interrupted(Exception):
    pass


def test_ray_runs_a_four_cell_sweep_and_a_rerun_after_an_interruption_repeats_nothing(
    local_ray, tmp_path
):
    plan = load_grid(tiny_grid(tmp_path, parameters="")).cells()  # 2 strategies x 2 seeds
    assert len(plan) == 4
    out = tmp_path / "out"

    def stop_after_one(event):
        if event.kind == "wrote":
            raise Interrupted  # the driver dies after the first result, tasks still in flight

    job, options = Job(out, checkpoint_every=0, resume=True), Options(retries=2, keep_going=True)
    with pytest.raises(Interrupted):
        drive(plan, RayBackend(cpus=1), job, options, on_event=stop_after_one)
    # tasks still in flight hold their run's lock (a second process is refused it) until they
    # end: wait for them, as a person rerunning a sweep would find them finished or gone
    _wait_for_locks(out / "checkpoints", seconds=180)
    before = _stamps(out)
    assert len(before) >= 1

    outcome = drive(plan, RayBackend(cpus=1), job, options)
    assert outcome.failed == [] and outcome.kept == len(before)
    assert outcome.ran + outcome.kept == 4
    after = _stamps(out)
    assert len(after) == 4 and len({run_id for run_id, _ in after.values()}) == 4
    assert {name: after[name] for name in before} == before
    finished_before = {run_id for run_id, _ in before.values()}
    fresh = [r for r in outcome.results if r["run_id"] not in finished_before]
    assert all(r["environment"]["threads"] == 1 for r in fresh)  # the task's CPU share
    assert all(r["accuracy_matrix"][1][0] > 0.6 for r in outcome.results)  # they learned
