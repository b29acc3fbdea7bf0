"""Ray backend: one Ray task per cell, each requesting its CPUs (and GPUs), on a Ray instance
started here or on an existing cluster (``address``, e.g. ``ray://head:10001`` or ``auto``).
Ray is an optional dependency (``pip install 'continual[sweep]'``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from continual.errors import ContinualError
from continual.execution import Cell
from continual.sweep.job import Job, run_job

Outcome = dict[str, Any] | BaseException


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ContinualError(
            "--backend ray needs Ray: pip install 'continual[sweep]' (or 'ray>=2.9')"
        ) from None
    return ray


class RayBackend:
    """Submit every cell as a Ray task with ``cpus`` CPUs and ``gpus`` GPUs; the task runs with
    as many torch threads as CPUs it asked for."""

    def __init__(self, address: str | None = None, cpus: float = 1, gpus: float = 0):
        if cpus <= 0 or gpus < 0:
            raise ContinualError("--cpus-per-cell must be positive and --gpus-per-cell >= 0")
        self.address, self.cpus, self.gpus = address, cpus, gpus

    def run(self, cells: Sequence[Cell], job: Job) -> Iterator[tuple[int, Outcome]]:
        """Yield (index in ``cells``, result or exception) as tasks finish."""
        ray = _ray()
        started_here = not ray.is_initialized()
        if started_here:
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            except Exception as error:  # an unreachable cluster: say which address
                raise ContinualError(
                    f"cannot connect to Ray at {self.address or 'a new local instance'}: {error}"
                ) from None
        pending: dict[Any, int] = {}
        try:
            job = Job(
                job.out, job.device, job.data_dir, job.checkpoint_every, int(max(1, self.cpus))
            )
            task = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_retries=0)(run_job)
            pending = {task.remote(job, cell): i for i, cell in enumerate(cells)}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for reference in done:
                    index = pending.pop(reference)
                    try:
                        yield index, ray.get(reference)
                    except ray.exceptions.RayTaskError as error:  # the cell's own exception
                        cause = error.cause
                        yield index, cause if isinstance(cause, BaseException) else error
                    except ray.exceptions.RayError as error:  # a worker or node died
                        yield index, error
        finally:
            for reference in pending:  # interrupted: stop what has not finished
                ray.cancel(reference, force=True)
            if started_here:
                ray.shutdown()
