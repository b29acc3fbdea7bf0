"""Running many runs: a command (``run``, ``ablate``, ``sweep``) expands into cells — one
(scenario, strategy, seed) each — and :func:`execute` trains them one after another, writing each
result file atomically as soon as it is finished. Every command that trains goes through here, so
what a run is (and where its result lands) is decided in one place."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from continual.specs import ScenarioSpec, StrategySpec


@dataclass(frozen=True)
class Cell:
    """One run: a scenario, a strategy and a seed (a run is a pure function of these)."""

    scenario: ScenarioSpec
    strategy: StrategySpec
    seed: int
    tags: dict[str, Any] = field(default_factory=dict, compare=False)  # e.g. the ablation rung

    @property
    def run_id(self) -> str:
        """The hash of the resolved configuration and seed that names the result file."""
        from continual.runner import run_id
        from continual.specs import scenario_to_dict

        config = {"scenario": scenario_to_dict(self.scenario), "strategy": self.strategy.to_dict()}
        return run_id(config, self.seed)


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


StartHook = Callable[[Cell, int], Callable[[int], None] | None]
CHECKPOINTS = "checkpoints"  # the folder inside ``out`` where unfinished runs keep their state
DoneHook = Callable[[Cell, dict[str, Any], Path], None]


def cell_id(cell: Cell) -> str:
    """The cell's run id: a hash of its resolved config and seed (equal ids, equal runs)."""
    return cell.run_id


def run_cell(
    cell: Cell,
    out: Path,
    *,
    device: str = "cpu",
    data_dir: str | None = None,
    progress: Callable[[int], None] | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    cache: dict[Any, Any] | None = None,
) -> dict[str, Any]:
    """Train one cell and return its result document (nothing written but its checkpoint,
    kept under ``out/checkpoints`` unless ``checkpoint_every`` is None). A run that diverges
    raises :class:`~continual.errors.Diverged` carrying its partial result, tagged."""
    from contextlib import nullcontext

    from continual import runner
    from continual.checkpoint import Checkpointing, checkpoint_path, locked, prepare_folder
    from continual.errors import Diverged

    checkpoint, guard = None, nullcontext()
    if checkpoint_every is not None:
        prepare_folder(Path(out) / CHECKPOINTS)
        path = checkpoint_path(Path(out) / CHECKPOINTS, cell_id(cell))
        checkpoint, guard = Checkpointing(path, checkpoint_every, resume), locked(path)
    try:
        with guard:
            result = runner.run(
                cell.scenario,
                cell.strategy,
                cell.seed,
                device=device,
                data_dir=data_dir,
                progress=progress,
                cache=cache,
                checkpoint=checkpoint,
            )
    except Diverged as error:
        if cell.tags and error.result is not None:
            error.result["tags"] = dict(cell.tags)
        raise
    if cell.tags:
        result["tags"] = dict(cell.tags)
    return result


def finish(cell: Cell, result: dict[str, Any], out: Path) -> Path:
    """Write the cell's result file atomically, then drop its checkpoint; return the path."""
    from continual.checkpoint import checkpoint_path, remove
    from continual.results import result_path, write_json_atomic

    path = write_json_atomic(
        result_path(out, cell.scenario.name, cell.strategy.name, cell.seed, cell.run_id), result
    )
    remove(checkpoint_path(Path(out) / CHECKPOINTS, result["run_id"]))
    return path


def prepare(
    plan: Sequence[Cell], data_dir: str | None = None, cache: dict[Any, Any] | None = None
) -> list[int]:
    """Build every stream and strategy of ``plan`` once, before anything trains, so a bad value
    fails fast; return each cell's number of training steps (for progress bars). Streams built
    here go into ``cache`` (pass the same one to :func:`execute`)."""
    from continual import runner
    from continual.errors import ContinualError
    from continual.limits import MAX_STEPS_PER_COMMAND, MAX_STEPS_PER_RUN, check_cells

    check_cells(len(plan))
    streams: dict[int, Any] = {}
    steps: dict[tuple[int, int], int] = {}
    planned = []
    for cell in plan:
        key = id(cell.scenario)
        if key not in streams:
            stream = streams[key] = runner.cached(
                cache,
                runner.stream_key(cell.scenario, cell.seed, data_dir),
                partial(runner.build_stream, cell.scenario, cell.seed, data_dir),
            )
            if len(stream) == 0:
                raise ContinualError(f"scenario {cell.scenario.name!r} has no experiences")
        stream = streams[key]
        pair = (key, id(cell.strategy))
        if pair not in steps:
            _check_memory(cell.strategy, stream)
            strategy = runner.build_strategy(cell.strategy, stream, cell.seed)
            steps[pair] = runner.total_steps(cell.strategy, stream, strategy)
            if steps[pair] > MAX_STEPS_PER_RUN:
                raise ContinualError(
                    f"{cell.strategy.name} on {cell.scenario.name}: {steps[pair]:,} training "
                    f"steps is more than one run may take ({MAX_STEPS_PER_RUN:,}); "
                    "lower epochs, steps or experiences"
                )
        planned.append(steps[pair])
    if sum(planned) > MAX_STEPS_PER_COMMAND:
        raise ContinualError(
            f"{len(plan):,} runs of {sum(planned):,} training steps in all is more than one "
            f"command may take ({MAX_STEPS_PER_COMMAND:,}); lower epochs, steps, seeds or cells"
        )
    return planned


def _check_memory(spec: StrategySpec, stream: Any) -> None:
    """Refuse, before allocating, a network or a sample buffer that cannot fit in memory."""
    from continual import limits, registry

    def resolved(kind: str, values: dict[str, Any]) -> dict[str, Any]:
        factory = registry.lookup(kind, values["name"]).load()
        defaults = {k: p.default for k, p in registry.options(factory).items()}
        return {**defaults, **values}

    learner = resolved("learner", spec.learner.values)
    if "hidden" in learner:
        limits.check_learner(
            learner["name"], learner["hidden"], stream.input_shape, stream.num_classes
        )
    for section in spec.components:
        component = resolved("component", section.values)
        if isinstance(component.get("budget"), int):
            limits.check_buffer(component["name"], component["budget"], stream.input_shape)


def execute(
    plan: Sequence[Cell],
    out: Path,
    *,
    device: str = "cpu",
    data_dir: str | None = None,
    steps: Sequence[int] | None = None,
    on_start: StartHook | None = None,
    on_done: DoneHook | None = None,
    quiet: bool = False,
    force: bool = False,
    cache: dict[Any, Any] | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    workers: int = 1,
) -> list[dict[str, Any]]:
    """Train every cell of ``plan`` in order and write its result into ``out``; return the result
    documents. ``steps`` are :func:`prepare`'s counts; ``on_start(cell, steps)`` may return a
    per-step progress callback. What does not change between cells (streams, reference
    evaluations) is computed once, in ``cache`` (a fresh one when not given).

    A cell whose complete result is already in ``out`` (same run id) is not trained again: its
    file is read and returned, unless ``force``. A cell that diverges is written as a partial
    result (``"status": "diverged"``), reported on stderr, and the remaining cells still run;
    check each document's ``status``. With ``checkpoint_every`` (0: at experience boundaries
    only) each run keeps a checkpoint until its result is written; ``resume`` continues from one.

    With ``workers > 1`` the cells to train run at once on that many worker processes (the
    sweep's :class:`~continual.sweep.local.LocalPool`, each with its share of the CPU threads);
    every cell's result is the same as when run alone. ``on_start`` is then called as a cell is
    queued (its per-step callback is not used) and ``on_done`` as each finishes."""
    from continual.errors import Diverged
    from continual.results import finished, prepare_out, result_path

    prepare_out(out)
    cache = {} if cache is None else cache
    identities = [cell.run_id for cell in plan]
    paths = [
        result_path(out, c.scenario.name, c.strategy.name, c.seed, i)
        for c, i in zip(plan, identities)
    ]
    # before anything trains: results to reuse, and names taken by folders (an error)
    kept = [finished(p, i) for p, i in zip(paths, identities)]
    kept = [None] * len(plan) if force else kept
    results = []
    counts = list(steps) if steps is not None else [0] * len(plan)
    if workers > 1 and sum(k is None for k in kept) > 1:
        return _execute_parallel(
            plan, out, paths, kept, counts, workers, device, data_dir, checkpoint_every,
            resume, on_start, on_done, quiet,
        )  # fmt: skip
    for cell, count, path, existing in zip(plan, counts, paths, kept):
        if existing is not None:
            result = _reused(path, existing, quiet)
        else:
            progress = on_start(cell, count) if on_start is not None else None
            try:
                result = run_cell(
                    cell,
                    out,
                    device=device,
                    data_dir=data_dir,
                    progress=progress,
                    checkpoint_every=checkpoint_every,
                    resume=resume,
                    cache=cache,
                )
            except Diverged as error:
                if error.result is None:
                    raise
                print(f"error: {error}", file=sys.stderr)
                result = error.result
            _written(cell, result, out, path, quiet)
        results.append(result)
        if on_done is not None:
            on_done(cell, result, path)
    return results


def _execute_parallel(
    plan: Sequence[Cell],
    out: Path,
    paths: list[Path],
    kept: list[dict[str, Any] | None],
    counts: list[int],
    workers: int,
    device: str,
    data_dir: str | None,
    checkpoint_every: int | None,
    resume: bool,
    on_start: StartHook | None,
    on_done: DoneHook | None,
    quiet: bool,
) -> list[dict[str, Any]]:
    """:func:`execute` on ``workers`` processes: what is kept is reused, the rest runs at once."""
    from continual import runner
    from continual.sweep.job import Job
    from continual.sweep.local import LocalPool

    pending = [i for i, existing in enumerate(kept) if existing is None]
    results: dict[int, dict[str, Any]] = {i: r for i, r in enumerate(kept) if r is not None}
    for i, existing in results.items():
        _reused(paths[i], existing, quiet)
        if on_done is not None:
            on_done(plan[i], existing, paths[i])
    for i in pending:
        if on_start is not None:
            on_start(plan[i], counts[i])
    job = Job(
        out.resolve(),
        device,
        None if data_dir is None else str(Path(data_dir).resolve()),
        checkpoint_every,
        resume=resume,
        keep_diverged=True,
    )
    pool = LocalPool(min(workers, len(pending)))
    for position, outcome in pool.run([plan[i] for i in pending], job):
        if isinstance(outcome, BaseException):
            raise outcome
        index = pending[position]
        if outcome.get("status") == "diverged":
            cell, detail = plan[index], outcome["divergence"]["message"]
            message = runner.divergence_message(cell.strategy.name, cell.seed, detail)
            print(f"error: {message}", file=sys.stderr)
        _written(plan[index], outcome, out, paths[index], quiet)
        results[index] = outcome
        if on_done is not None:
            on_done(plan[index], outcome, paths[index])
    return [results[i] for i in range(len(plan))]


def _reused(path: Path, result: dict[str, Any], quiet: bool) -> dict[str, Any]:
    """A finished result kept from an earlier run (said so on a quiet log)."""
    if quiet:
        print(f"kept {path} (already computed; --force recomputes)", file=sys.stderr)
    return result


def _written(cell: Cell, result: dict[str, Any], out: Path, path: Path, quiet: bool) -> None:
    """A trained cell's result file written and its checkpoint dropped (said so on a quiet log)."""
    finish(cell, result, out)
    if quiet:
        print(f"wrote {path}", file=sys.stderr)
