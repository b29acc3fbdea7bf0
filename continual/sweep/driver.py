"""Run a sweep: skip the cells whose result file exists (same run id), run the rest on a backend,
retry a failed cell up to ``retries`` more times (not when it failed with a
:class:`~continual.errors.ContinualError`: a bad value or a divergence fails the same way again),
and write each result file atomically the moment it arrives."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from continual.cell import Cell, finish
from continual.errors import ContinualError
from continual.results import finished as finished_result
from continual.results import result_path
from continual.sweep.job import Job

MAX_RETRIES = 100  # a cell that failed this often fails for a reason a retry does not change


class Backend(Protocol):
    def run(
        self, cells: Sequence[Cell], job: Job
    ) -> Iterator[tuple[int, dict[str, Any] | BaseException]]: ...


@dataclass
class SweepOutcome:
    """What a sweep did: results of every finished cell (skipped ones included), in plan order,
    and the cells that failed for good with their last error."""

    results: list[dict[str, Any]] = field(default_factory=list)
    ran: int = 0
    skipped: int = 0
    failed: list[tuple[Cell, BaseException]] = field(default_factory=list)


def finished(cell: Cell, out: Path) -> dict[str, Any] | None:
    """The cell's complete result if its file exists and holds this cell's run id."""
    path = result_path(out, cell.scenario.name, cell.strategy.name, cell.seed, cell.run_id)
    return finished_result(path, cell.run_id)


def run_sweep(
    plan: Sequence[Cell],
    backend: Backend,
    job: Job,
    *,
    retries: int = 2,
    on_done: Callable[[Cell, Path], None] | None = None,
) -> SweepOutcome:
    """Run every unfinished cell of ``plan`` on ``backend``; see the module docstring."""
    if not 0 <= retries <= MAX_RETRIES:
        raise ContinualError(f"--retries {retries}: must be between 0 and {MAX_RETRIES}")
    outcome = SweepOutcome()
    results: dict[int, dict[str, Any]] = {}
    pending = []
    for index, cell in enumerate(plan):
        existing = finished(cell, job.out)
        if existing is None:
            pending.append(index)
        else:
            results[index] = existing
            outcome.skipped += 1
    attempts = dict.fromkeys(pending, 0)
    while pending:
        again = []
        for position, result in backend.run([plan[i] for i in pending], job):
            index = pending[position]
            cell = plan[index]
            attempts[index] += 1
            if isinstance(result, BaseException):
                if not isinstance(result, ContinualError) and attempts[index] <= retries:
                    print(f"retrying {_label(cell)} after: {result!r}", file=sys.stderr)
                    again.append(index)
                else:
                    outcome.failed.append((cell, result))
                continue
            path = finish(cell, result, job.out)
            results[index] = result
            outcome.ran += 1
            if on_done is not None:
                on_done(cell, path)
        pending = sorted(again)
        if pending:
            time.sleep(1.0)  # let whatever failed (a node, the memory) settle before retrying
    outcome.results = [results[i] for i in sorted(results)]
    return outcome


def _label(cell: Cell) -> str:
    return f"{cell.scenario.name} / {cell.strategy.name} / seed {cell.seed}"
