"""Sweeps under hostile input: grids too large to run are refused before they are expanded, a
deeply nested grid or a seed past 2^32 is a clear error, options are bounded (retries, threads,
CPUs and GPUs per cell, --out checked up front), and the Ray backend refuses resources the
cluster cannot give and shuts Ray down however it is stopped (a fake ``ray``: no cluster)."""

from __future__ import annotations

import time
import types

import pytest

from continual.cell import Job
from continual.errors import ContinualError
from continual.specs import SpecError
from continual.sweep import ray_backend
from continual.sweep.grid import load_grid
from continual.sweep.ray_backend import RayBackend
from tests.conftest import write
from tests.sweep.helpers import tiny_grid

HEAD = 'scenarios = ["tiny.toml"]\nstrategies = ["mlp.toml", "mlp-ewc.toml"]\n'


@pytest.mark.parametrize(
    "body",
    [
        "seeds = [" + ", ".join(map(str, range(20_000))) + "]",  # many seeds
        '[parameters]\n"learner.lr" = [' + ", ".join(f"{i}e-5" for i in range(1, 6000)) + "]",
        "[parameters]\n"  # many parameters: 10^6 cells from 6 short lists
        + "\n".join(
            f'"{k}" = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]'
            for k in (
                "learner.lr",
                "learner.momentum",
                "training.epochs",
                "training.batch_size",
                "ewc.strength",
                "ewc.fisher_samples",
            )
        ),  # fmt: skip
    ],
    ids=["seeds", "values", "parameters"],
)
def test_a_grid_too_large_is_refused_before_it_is_expanded(tmp_path, body):
    tiny_grid(tmp_path)
    grid = write(tmp_path, "huge.toml", HEAD + body)
    started = time.perf_counter()
    with pytest.raises(ContinualError, match="more than"):
        load_grid(grid)
    assert time.perf_counter() - started < 20  # counted, not expanded (10^6 cells took minutes)


def test_the_count_is_the_number_of_cells(tmp_path):
    parameters = '"learner.lr" = [0.1, 0.2, 0.3]\n"ewc.strength" = [1.0, 2.0]'
    grid = load_grid(tiny_grid(tmp_path, parameters, seeds="[0, 1]"))
    assert grid.count() == len(grid.cells()) == (3 + 3 * 2) * 2  # ewc only in mlp-ewc


@pytest.mark.parametrize(
    "body, message",
    [
        ('description = "x"\nextra = ' + "[" * 5000 + "]" * 5000, "nested more than"),
        ("seeds = [4294967296]", "integers in"),
        ("seeds = [18446744073709551616]", "malformed TOML|integers in"),
    ],
    ids=["nested", "seed 2^32", "seed 2^64"],
)
def test_a_hostile_grid_is_one_clear_error(tmp_path, body, message):
    tiny_grid(tmp_path)
    with pytest.raises(SpecError, match=message):
        load_grid(write(tmp_path, "bad.toml", HEAD + body))


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--retries", "100000"], "--retries 100000: must be in [0, 100]"),
        (["--threads", "100000"], "--threads 100000: must be in [1, 1024]"),
        (["--backend", "ray", "--cpus-per-cell", "nan"], "--cpus-per-cell nan"),
        (["--backend", "ray", "--cpus-per-cell", "inf"], "--cpus-per-cell inf"),
        (["--backend", "ray", "--gpus-per-cell", "-1"], "--gpus-per-cell -1"),
    ],
)
def test_sweep_options_are_bounded(tmp_path, cli, arguments, message):
    grid = tiny_grid(tmp_path, parameters="", seeds="[0]")
    code, _, err = cli("sweep", str(grid), "--out", str(tmp_path / "out"), *arguments)
    assert code == 2 and message in err and "Traceback" not in err, err


@pytest.mark.parametrize("out", ["file", "/dev/full", "/proc/sweep"])
def test_an_out_that_cannot_take_results_is_refused_at_once(tmp_path, cli, monkeypatch, out):
    from continual import execution

    def expanded(*args, **kwargs):
        raise AssertionError("the sweep got past its --out check")

    monkeypatch.setattr(execution, "prepare", expanded)
    grid = tiny_grid(tmp_path, parameters="", seeds="[0]")
    target = str(write(tmp_path, "file", "x")) if out == "file" else out
    code, _, err = cli("sweep", str(grid), "--out", target, "--retries", "100")
    assert code == 2 and f"--out {target}" in err, err


class FakeRay(types.SimpleNamespace):
    """What the backend uses of ``ray``, on a cluster of ``resources``."""

    def __init__(self, resources, fail_init=None):
        super().__init__(calls=[], resources=resources, fail_init=fail_init, live=False)

    def is_initialized(self):
        return self.live

    def init(self, **kwargs):
        self.calls.append("init")
        self.live = True  # the processes have started when the interrupt comes
        if self.fail_init is not None:
            raise self.fail_init

    def cluster_resources(self):
        return self.resources

    def shutdown(self):
        self.calls.append("shutdown")
        self.live = False

    def remote(self, **kwargs):
        raise AssertionError("a task was submitted")


@pytest.mark.parametrize(
    "cpus, gpus, message",
    [(1000, 0, "cpus 1000: the Ray cluster has 2 CPUs"), (1, 1, "has 0 GPUs")],
)
def test_ray_refuses_what_the_cluster_cannot_give_and_shuts_down(monkeypatch, tmp_path, cpus,
                                                                 gpus, message):  # fmt: skip
    fake = FakeRay({"CPU": 2.0})
    monkeypatch.setattr(ray_backend, "_ray", lambda: fake)
    with pytest.raises(ContinualError, match=message):
        list(RayBackend(cpus=cpus, gpus=gpus).run([], Job(tmp_path)))
    assert fake.calls == ["init", "shutdown"]


def test_ctrl_c_during_ray_start_up_shuts_it_down(monkeypatch, tmp_path):
    fake = FakeRay({"CPU": 2.0}, fail_init=KeyboardInterrupt())
    monkeypatch.setattr(ray_backend, "_ray", lambda: fake)
    with pytest.raises(KeyboardInterrupt):
        list(RayBackend().run([], Job(tmp_path)))
    assert fake.calls == ["init", "shutdown"]
