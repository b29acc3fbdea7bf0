"""The default backend: a pool of worker processes on this machine, each pinned to its share of
the CPU threads (``torch.set_num_threads``), so N workers do not fight over the cores."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from continual.cell import Cell, Job, run_job

Outcome = dict[str, Any] | BaseException


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class LocalPool:
    """Run cells on ``workers`` processes; each gets ``threads`` torch threads (by default an equal
    share of this machine's CPUs)."""

    def __init__(self, workers: int = 1, threads: int | None = None):
        self.workers, self.threads = workers, threads

    def run(
        self, cells: Sequence[Cell], job: Job, started: Callable[[int], object] | None = None
    ) -> Iterator[tuple[int, Outcome]]:
        """Yield (index in ``cells``, result or exception) as cells finish, in any order;
        ``started(i)`` is called as cell ``i`` is queued (its progress callback is not used:
        the steps are taken in another process)."""
        # forkserver: workers start from a clean process (no torch threads inherited by fork)
        method = (
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
        context = multiprocessing.get_context(method)
        workers = max(1, min(self.workers, len(cells)))  # no idle worker processes
        threads = self.threads or max(1, available_cpus() // workers)
        job = dataclasses.replace(job.absolute(), threads=threads)  # workers: other folders
        pool = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_follow, initargs=(os.getpid(),)
        )
        futures: dict[Future, int] = {}
        try:
            for i, cell in enumerate(cells):
                futures[pool.submit(run_job, job, cell)] = i
                if started is not None:
                    started(i)
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    index = futures.pop(future)
                    error = future.exception()
                    yield index, error if error is not None else future.result()
        finally:  # interrupted: queued cells never start (running ones keep their checkpoints)
            pool.shutdown(wait=not futures, cancel_futures=True)


def _follow(driver: int, interval: float = 0.5) -> None:
    """In each worker: exit as soon as the driver process is gone (killed, not interrupted),
    instead of training on as an orphan; the cell's checkpoint stays for ``--resume``."""

    def watch() -> None:
        while True:
            time.sleep(interval)
            try:
                os.kill(driver, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # the pid was reused by another user's process
                os._exit(1)

    threading.Thread(target=watch, name="follow-driver", daemon=True).start()
