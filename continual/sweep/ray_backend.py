"""Ray backend: one Ray task per cell, each requesting its CPUs (and GPUs), on a Ray instance
started here or on an existing cluster (``address``, e.g. ``ray://head:10001`` or ``auto``).
Ray is an optional dependency (``pip install 'continual[sweep]'``)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from continual.cell import Cell, Job, run_job
from continual.errors import ConfigError, ContinualError
from continual.limits import MAX_PER_CELL

Outcome = dict[str, Any] | BaseException


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ContinualError(
            "the Ray backend needs Ray: pip install 'continual[sweep]' (or 'ray>=2.9')"
        ) from None
    return ray


class RayBackend:
    """Submit every cell as a Ray task with ``cpus`` CPUs and ``gpus`` GPUs; the task runs with
    as many torch threads as CPUs it asked for."""

    def __init__(self, address: str | None = None, cpus: float = 1, gpus: float = 0):
        if not (math.isfinite(cpus) and 0 < cpus <= MAX_PER_CELL):
            raise ConfigError(f"cpus {cpus}: must be in (0, {MAX_PER_CELL}]", field="cpus")
        if not (math.isfinite(gpus) and 0 <= gpus <= MAX_PER_CELL):
            raise ConfigError(f"gpus {gpus}: must be in [0, {MAX_PER_CELL}]", field="gpus")
        self.address, self.cpus, self.gpus = address, cpus, gpus

    def run(
        self, cells: Sequence[Cell], job: Job, started: Callable[[int], object] | None = None
    ) -> Iterator[tuple[int, Outcome]]:
        """Yield (index in ``cells``, result or exception) as tasks finish; ``started(i)`` is
        called as cell ``i`` is submitted. Ray started here is shut down however this ends
        (Ctrl-C during its start-up included)."""
        ray = _ray()
        started_here = not ray.is_initialized()
        pending: dict[Any, int] = {}
        try:
            if started_here:
                try:
                    ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
                except Exception as error:  # an unreachable cluster: say which address
                    where = self.address or "a new local instance"
                    raise ContinualError(f"cannot connect to Ray at {where}: {error}") from None
            self._check_resources(ray.cluster_resources())
            # a task runs in its own folder, with as many torch threads as CPUs it asked for
            job = dataclasses.replace(job.absolute(), threads=int(max(1, self.cpus)))
            task = ray.remote(num_cpus=self.cpus, num_gpus=self.gpus, max_retries=0)(run_job)
            for i, cell in enumerate(cells):
                pending[task.remote(job, cell)] = i
                if started is not None:
                    started(i)
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

    def _check_resources(self, resources: dict[str, float]) -> None:
        """Refuse a cell that asks for more CPUs or GPUs than the whole cluster has: Ray would
        queue it forever."""
        for kind, wanted, option in (("CPU", self.cpus, "cpus"), ("GPU", self.gpus, "gpus")):
            have = float(resources.get(kind, 0.0))
            if wanted > have:
                raise ConfigError(
                    f"{option} {wanted:g}: the Ray cluster has {have:g} {kind}s in all, so no "
                    f"cell could ever start; ask for at most {have:g}",
                    field=option,
                )
