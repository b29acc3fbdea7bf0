"""What a backend runs for one cell, in a worker: plain data in (the job and the cell), the result
document out. The driver, not the worker, writes result files, so a cluster needs no shared
folder for results (checkpoints are kept in the worker's ``out/checkpoints``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from continual.cell import Cell, run_cell


@dataclass(frozen=True)
class Job:
    """How every cell of a sweep runs: where, on what device, with how many threads."""

    out: Path
    device: str = "cpu"
    data_dir: str | None = None
    checkpoint_every: int | None = 0  # None: no checkpoints; 0: at experience boundaries
    threads: int = 1
    resume: bool = True  # continue from the cell's checkpoint when one exists
    keep_diverged: bool = False  # return a diverged run's partial result instead of raising


def run_job(job: Job, cell: Cell) -> dict[str, Any]:
    """Train ``cell`` with ``job.threads`` threads, resuming from its checkpoint if one exists
    (unless ``job.resume`` is off)."""
    import torch

    from continual.errors import Diverged

    torch.set_num_threads(job.threads)
    try:
        return run_cell(
            cell,
            job.out,
            device=job.device,
            data_dir=job.data_dir,
            checkpoint_every=job.checkpoint_every,
            resume=job.resume,
        )
    except Diverged as error:
        if job.keep_diverged and error.result is not None:
            return error.result
        raise
