"""Running many runs: a command (``run``, ``ablate``, ``sweep``) expands into cells — one
(scenario, strategy, seed) each — :func:`prepare` builds every one before anything trains, and
:func:`drive` skips the finished ones, hands the rest to a backend (:class:`InProcess`, the local
process pool :class:`~continual.sweep.local.LocalPool` or
:class:`~continual.sweep.ray_backend.RayBackend`), retries what failed as :class:`Options` say
and writes each result file atomically as it arrives. Every command that trains goes through
here, so what a run is and where its result lands is decided in one place. Nothing here prints:
what happens is told to ``on_event`` (the command layer turns it into lines and progress bars)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal, Protocol

from continual.cell import (  # noqa: F401 - re-exported: what a caller of the driver needs
    CHECKPOINTS,
    COMPLETE,
    DIVERGED,
    Cell,
    Job,
    cells,
    finish,
    run_cell,
)
from continual.errors import ConfigError, ContinualError
from continual.limits import MAX_RETRIES
from continual.specs import StrategySpec

Progress = Callable[[int], None]
Outcome = dict[str, Any] | BaseException  # what a backend hands back for a cell


def prepare(
    plan: Sequence[Cell], data_dir: str | None = None, cache: dict[Any, Any] | None = None
) -> list[int]:
    """Build every stream and strategy of ``plan`` once, before anything trains, so a bad value
    fails fast; return each cell's number of training steps (for progress bars). Streams built
    here go into ``cache`` (pass the same one to the backend of :func:`drive`)."""
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
                runner.stream_key(cell.scenario, cell.seed, data_dir, cell.config["scenario"]),
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


class Backend(Protocol):
    """Runs cells somewhere. ``started(i)`` is called as cell ``i`` starts (or is queued, on a
    pool) and may return a per-step progress callback (used in this process only); the
    backend yields (index in ``plan``, result document or the exception that ended the run)
    as cells end, in any order."""

    def run(
        self,
        plan: Sequence[Cell],
        job: Job,
        started: Callable[[int], Progress | None] | None = None,
    ) -> Iterator[tuple[int, Outcome]]: ...


@dataclass
class InProcess:
    """The cells one after another in this process, sharing ``cache`` (streams, reference
    evaluations and FLOP counts: what does not change between the runs of one command)."""

    cache: dict[Any, Any] = field(default_factory=dict)

    def run(
        self,
        plan: Sequence[Cell],
        job: Job,
        started: Callable[[int], Progress | None] | None = None,
    ) -> Iterator[tuple[int, Outcome]]:
        for index, cell in enumerate(plan):
            progress = started(index) if started is not None else None
            try:
                result: Outcome = run_cell(cell, job, progress, self.cache)
            except Exception as error:  # the driver decides: retry, collect or raise
                result = error
            yield index, result


def local_backend(workers: int = 1, cache: dict[Any, Any] | None = None) -> Backend:
    """In this process (sharing ``cache``) for one worker, else a local pool of ``workers``."""
    if workers == 1:
        return InProcess({} if cache is None else cache)
    from continual.sweep.local import LocalPool

    return LocalPool(workers)


@dataclass(frozen=True)
class Options:
    """How the driver treats a plan: ``force`` trains cells whose result is already there;
    a cell that raised is tried ``retries`` more times (not for a
    :class:`~continual.errors.ContinualError`: a bad value fails the same way again); with
    ``keep_going`` cells that failed for good are collected in the :class:`Report`, else the
    first one's exception is raised."""

    force: bool = False
    retries: int = 0
    keep_going: bool = False
    pause: float = 1.0  # seconds before a round of retries (let a node or the memory settle)

    def __post_init__(self) -> None:
        if not 0 <= self.retries <= MAX_RETRIES:
            raise ConfigError(
                f"retries {self.retries}: must be between 0 and {MAX_RETRIES}", field="retries"
            )


def check_device(device: str) -> None:
    """Refuse, before anything is built, a device this machine cannot run on: ``"cpu"``,
    ``"cuda"`` or ``"cuda:N"``, the CUDA ones only where a CUDA device exists."""
    import re

    import torch

    if not isinstance(device, str) or not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise ConfigError(f"device {device!r}: must be 'cpu', 'cuda' or 'cuda:N'", field="device")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"device {device!r}: no CUDA device is available here; use 'cpu'", field="device"
        )


EventKind = Literal["kept", "started", "advanced", "wrote", "diverged", "retrying", "failed"]


@dataclass(frozen=True)
class Event:
    """What the driver did with a cell: ``kept`` (its finished result was already there;
    ``path``, ``result``), ``started`` (``steps``: its planned training steps), ``advanced``
    (``steps`` more were taken, in this process only), ``diverged`` (``message`` says where,
    before its partial result is written), ``wrote`` (``path``, ``result``), ``retrying`` and
    ``failed`` (``error``)."""

    kind: EventKind
    cell: Cell
    path: Path | None = None
    result: dict[str, Any] | None = None
    steps: int = 0
    error: BaseException | None = None
    message: str = ""


@dataclass
class Report:
    """What :func:`drive` did: the result of every cell that has one (kept or trained, diverged
    ones included) in plan order, how many ran and were kept, and the cells that failed for good
    with their last error."""

    results: list[dict[str, Any]] = field(default_factory=list)
    ran: int = 0
    kept: int = 0
    failed: list[tuple[Cell, BaseException]] = field(default_factory=list)


def drive(
    plan: Sequence[Cell],
    backend: Backend,
    job: Job,
    options: Options = Options(),
    *,
    steps: Sequence[int] | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> Report:
    """Run every cell of ``plan`` whose complete result is not in ``job.out`` (same run id; all
    of them with ``options.force``) on ``backend``, writing each result file atomically (and
    dropping its checkpoint) the moment it arrives; a diverged run is written as a partial result
    (``"status": "diverged"``) and the others still run. ``steps``: each cell's training steps
    (:func:`prepare`), for progress. See :class:`Options` for failures, :class:`Event` for what
    ``on_event`` hears."""
    from continual.results import finished, prepare_out

    tell = on_event or _ignore
    prepare_out(job.out)
    counts = list(steps) if steps is not None else [0] * len(plan)
    # before anything trains: results to reuse, and names taken by folders (an error)
    kept = [finished(cell.result_path(job.out), cell.run_id) for cell in plan]
    report, results = Report(), {}
    pending = []
    for index, (cell, existing) in enumerate(zip(plan, kept)):
        if existing is None or options.force:
            pending.append(index)
        else:
            results[index] = existing
            report.kept += 1
            tell(Event("kept", cell, cell.result_path(job.out), existing))
    attempts = dict.fromkeys(pending, 0)
    while pending:
        again = []
        for index, outcome in _dispatch(plan, pending, backend, job, counts, on_event):
            cell = plan[index]
            attempts[index] += 1
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, ContinualError) and attempts[index] <= options.retries:
                    tell(Event("retrying", cell, error=outcome))
                    again.append(index)
                elif options.keep_going:
                    report.failed.append((cell, outcome))
                    tell(Event("failed", cell, error=outcome))
                else:
                    raise outcome
                continue
            if outcome.get("status") == DIVERGED:
                tell(Event("diverged", cell, message=divergence_message(cell, outcome)))
            path = finish(cell, outcome, job.out)
            results[index] = outcome
            report.ran += 1
            tell(Event("wrote", cell, path, outcome))
        pending = sorted(again)
        if pending:
            time.sleep(options.pause)
    report.results = [results[i] for i in sorted(results)]
    return report


def _dispatch(
    plan: Sequence[Cell],
    pending: list[int],
    backend: Backend,
    job: Job,
    counts: list[int],
    on_event: Callable[[Event], None] | None,
) -> Iterator[tuple[int, Outcome]]:
    """Hand the cells ``pending`` (indices into ``plan``) to ``backend``; yield (index into
    ``plan``, outcome) as they end, telling ``on_event`` as each starts and advances."""
    tell = on_event or _ignore

    def started(position: int) -> Progress | None:
        cell = plan[pending[position]]
        tell(Event("started", cell, steps=counts[pending[position]]))
        return None if on_event is None else partial(_advanced, on_event, cell)

    for position, outcome in backend.run([plan[i] for i in pending], job, started):
        yield pending[position], outcome


def _advanced(tell: Callable[[Event], None], cell: Cell, steps: int) -> None:
    tell(Event("advanced", cell, steps=steps))


def _ignore(event: Event) -> None:
    """No one listens."""


def divergence_message(cell: Cell, result: dict[str, Any]) -> str:
    """How a diverged run is reported: the strategy and seed, then where and what diverged."""
    from continual.runner import divergence_message as message

    return message(cell.strategy.name, cell.seed, result["divergence"]["message"])
