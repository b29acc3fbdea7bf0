"""A cell — one (scenario, strategy, seed) — how every cell of a command runs (:class:`Job`),
and the function that runs one: the leaf of the driver. The driver
(:mod:`continual.execution`) and the backends' workers (:mod:`continual.sweep.local`,
:mod:`continual.sweep.ray_backend`) all import this module and nothing of each other, so no
import cycle runs through the workers.

A run returns its result document with its ``status`` ("complete" or "diverged"): a diverged
run is a result like any other, not an exception carrying one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from continual.specs import ScenarioSpec, StrategySpec

CHECKPOINTS = "checkpoints"  # the folder inside ``out`` where unfinished runs keep their state
COMPLETE, DIVERGED = "complete", "diverged"  # a result document's ``status``


@dataclass(frozen=True)
class Cell:
    """One run: a scenario, a strategy and a seed (a run is a pure function of these)."""

    scenario: ScenarioSpec
    strategy: StrategySpec
    seed: int
    tags: dict[str, Any] = field(default_factory=dict, compare=False)  # e.g. the ablation rung

    @cached_property
    def config(self) -> dict[str, Any]:
        """The resolved scenario and strategy, as the result file holds them. Computed once per
        cell (describing a scenario hashes a user's data file) and handed to the run, so the
        cell's id and its result's id come from one description."""
        from continual.specs import scenario_to_dict

        return {"scenario": scenario_to_dict(self.scenario), "strategy": self.strategy.to_dict()}

    @cached_property
    def run_id(self) -> str:
        """The hash of :attr:`config` and the seed that names the result file."""
        from continual.runner import run_id

        return run_id(self.config, self.seed)

    def result_path(self, out: Path) -> Path:
        """Where this cell's result file lands in ``out`` (the one place that says so)."""
        from continual.results import result_path

        scenario, strategy = self.scenario.name, self.strategy.name
        return result_path(Path(out), scenario, strategy, self.seed, self.run_id)


def cells(
    scenario: ScenarioSpec, strategies: Sequence[StrategySpec], seeds: Iterable[int]
) -> list[Cell]:
    """Every strategy on every seed, strategy-major (the order a comparison table shows).
    Repeated seeds count once; two different strategies may not share a name (the table and
    the result files tell strategies apart by name)."""
    from continual.errors import ContinualError
    from continual.limits import check_cells

    seeds = list(dict.fromkeys(seeds))
    check_cells(len(strategies) * len(seeds))
    unique: dict[str, StrategySpec] = {}
    for strategy in strategies:
        other = unique.setdefault(strategy.name, strategy)
        if other.to_dict() != strategy.to_dict():
            raise ContinualError(
                f"two different strategies are both named {strategy.name!r} "
                f"({other.learner.origin} and {strategy.learner.origin}); rename one file"
            )
    return [Cell(scenario, s, seed) for s in unique.values() for seed in seeds]


@dataclass(frozen=True)
class Job:
    """How every cell of a command runs: where results and checkpoints go, on what device, with
    what data folder, how it checkpoints, and with how many torch threads (plain data: it travels
    to worker processes and Ray tasks)."""

    out: Path
    device: str = "cpu"
    data_dir: str | None = None
    checkpoint_every: int | None = None  # None: no checkpoints; 0: at experience boundaries
    resume: bool = False  # continue from the cell's checkpoint when one exists
    threads: int | None = None  # torch threads of the process that runs it; None: as it is

    def absolute(self) -> Job:
        """The job with absolute paths, for a worker that runs in another folder."""
        data_dir = None if self.data_dir is None else str(Path(self.data_dir).resolve())
        return replace(self, out=Path(self.out).resolve(), data_dir=data_dir)


def run_cell(
    cell: Cell,
    job: Job,
    progress: Callable[[int], None] | None = None,
    cache: dict[Any, Any] | None = None,
) -> dict[str, Any]:
    """Train one cell and return its result document, ``status`` "complete" or "diverged"
    (nothing is written but its checkpoint, kept under ``out/checkpoints`` unless
    ``job.checkpoint_every`` is None). ``progress(n)`` hears of every ``n`` steps taken;
    ``cache`` holds what the runs of one command share (see :func:`continual.runner.run`)."""
    from contextlib import nullcontext

    from continual import runner
    from continual.checkpoint import Checkpointing, checkpoint_path, locked, prepare_folder

    checkpoint, guard = None, nullcontext()
    if job.checkpoint_every is not None:
        prepare_folder(Path(job.out) / CHECKPOINTS)
        path = checkpoint_path(Path(job.out) / CHECKPOINTS, cell.run_id)
        checkpoint, guard = Checkpointing(path, job.checkpoint_every, job.resume), locked(path)
    with guard:
        result = runner.run(
            cell.scenario,
            cell.strategy,
            cell.seed,
            device=job.device,
            data_dir=job.data_dir,
            progress=progress,
            cache=cache,
            checkpoint=checkpoint,
            described=cell.config["scenario"],
        )
    if cell.tags:
        result["tags"] = dict(cell.tags)
    return result


def run_job(job: Job, cell: Cell) -> dict[str, Any]:
    """:func:`run_cell` in a worker process or Ray task: with ``job.threads`` torch threads."""
    if job.threads is not None:
        import torch

        torch.set_num_threads(job.threads)
    return run_cell(cell, job)


def finish(cell: Cell, result: dict[str, Any], out: Path) -> Path:
    """Write the cell's result file atomically, then drop its checkpoint; return the path."""
    from continual.checkpoint import checkpoint_path, remove
    from continual.results import write_json_atomic

    path = write_json_atomic(cell.result_path(out), result)
    remove(checkpoint_path(Path(out) / CHECKPOINTS, result["run_id"]))
    return path
