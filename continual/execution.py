"""Running many runs: a command (``run``, ``ablate``, ``sweep``) expands into cells — one
(scenario, strategy, seed) each — and :func:`execute` trains them one after another, writing each
result file atomically as soon as it is finished. Every command that trains goes through here, so
what a run is (and where its result lands) is decided in one place."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from continual.cell import (  # noqa: F401 - the cell and its runner, re-exported here
    CHECKPOINTS,
    Cell,
    DoneHook,
    StartHook,
    cell_id,
    cells,
    finish,
    run_cell,
)
from continual.specs import StrategySpec


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
