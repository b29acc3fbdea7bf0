"""Checkpoints of a run, so that a killed run continues where it stopped.

A checkpoint is state dicts and plain data only, never pickled objects: the strategy's state
(learner with its optimiser, every component, the batch generator, the position inside the
current experience, step counters, timings), the recorder's rows and curves, the global torch
random states, and which experience of the training plan is under way. It is written atomically
(a temporary file, fsync, rename) at each experience boundary and every ``every`` training steps,
and read with ``torch.load(weights_only=True)``: a checkpoint file cannot run code.

A run resumed from a checkpoint rebuilds stream and strategy from the same specs and seed, loads
the state and takes exactly the batches and random draws the uninterrupted run takes, so the
result file is the same except for timings and creation time.

A checkpoint is data from disk, so it is checked before use: only a regular file is read (a
FIFO, device or link loop is an error, not a hang or "no checkpoint"), at most as large as the
memory available, and one of another shape, an older format or with out-of-range fields is
refused with what to do. While a run checkpoints it holds an advisory lock (``RUNID.pt.lock``,
``fcntl.flock``), so a second process resuming the same run is refused instead of racing it.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import torch

from continual.errors import ContinualError
from continual.limits import MAX_COUNT, available_memory
from continual.ranges import Range, check_dataclass
from continual.results import probe_writable, write_atomic
from continual.safe_io import read_regular, regular

FORMAT = 1


@dataclass(frozen=True)
class Checkpointing:
    """Where a run keeps its checkpoint, how often (``every`` training steps, 0: only at
    experience boundaries), and whether to continue from one that exists (``resume``)."""

    path: Path
    every: Annotated[int, Range(0, MAX_COUNT, note="0: at experience boundaries only")] = 0
    resume: bool = False

    def __post_init__(self) -> None:
        check_dataclass(self)


class RunCheckpoint:
    """One run's checkpoints: where and how often (:class:`Checkpointing`), whose (the run's id)
    and of what — the run's strategy, recorder and probe, and its clock (``run`` is the
    runner's :class:`~continual.runner.Run`)."""

    def __init__(self, settings: Checkpointing, run: Any):
        self.path, self.every, self.resume = settings.path, settings.every, settings.resume
        self.run = run

    def restore(self) -> Position | None:
        """With ``resume`` and a checkpoint of this run on disk: load it into the run (its
        strategy, recorder, probe, random states and the seconds already spent) and return
        where to continue; else None (the run starts from the beginning)."""
        state = load(self.path, self.run.identity) if self.resume else None
        if state is None:
            return None
        run = self.run
        position, run.elapsed = restore(state, run.strategy, run.recorder, len(run.plan), self.path)
        if run.probe is not None:  # the run id names the probe: its checkpoints carry its state
            run.probe.load_state_dict(state["probe"])
        return position

    def save(self, position: Position) -> None:
        """Write the run's state at ``position`` (atomically)."""
        run = self.run
        state = capture(run.identity, position, run.strategy, run.recorder, run.seconds())
        if run.probe is not None:
            state["probe"] = run.probe.state_dict()
        save(self.path, state)

    def on_step(self, number: int, then: Callable[[int], None]) -> Callable[[int], None]:
        """The per-step callback while experience ``number`` trains: ``then(step)``, and a save
        every ``every`` steps (just ``then`` when ``every`` is 0)."""
        return then if not self.every else partial(self._step, number, then)

    def _step(self, number: int, then: Callable[[int], None], step: int) -> None:
        then(step)
        if step % self.every == 0:
            self.save(Position(number, started=True))


def checkpoint_path(folder: Path, run_id: str) -> Path:
    """The checkpoint file of the run with ``run_id`` (a hash of its config and seed)."""
    return Path(folder) / f"{run_id}.pt"


@dataclass(frozen=True)
class Position:
    """Where a run is in its training plan: the experience under way (or next) and whether its
    batches have started (then the strategy's own ``batch`` says how many were taken)."""

    experience: int = 0
    started: bool = False


def random_states() -> dict[str, Any]:
    """The global random states a run may draw from (torch's CPU and CUDA generators)."""
    states: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_random_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def capture(
    run_id: str, position: Position, strategy: Any, recorder: Any, elapsed: float
) -> dict[str, Any]:
    """Everything a resumed run needs, as tensors and plain data."""
    return {
        "format": FORMAT,
        "run_id": run_id,
        "position": {"experience": position.experience, "started": position.started},
        "strategy": strategy.state_dict(),
        "recorder": recorder.state_dict(),
        "random": random_states(),
        "elapsed": elapsed,
    }


def restore(
    state: dict[str, Any], strategy: Any, recorder: Any, experiences: int, path: Path | str = ""
) -> tuple[Position, float]:
    """Load ``state`` (from :func:`load`) into a freshly built strategy and recorder of a run
    of ``experiences`` training phases; return where to continue and the seconds the
    interrupted run had already taken. A state that does not fit (another network shape, an
    older format, a position out of range, a field of the wrong type) is a
    :class:`ContinualError` naming the checkpoint ``path``."""
    try:
        position, elapsed = _checked(state, experiences)
        strategy.load_state_dict(state["strategy"])
        recorder.load_state_dict(state["recorder"])
        restore_random_states(state["random"])
    except ContinualError as error:
        raise _mismatch(path, str(error)) from None
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError, AttributeError) as error:
        detail = f"missing {error}" if isinstance(error, KeyError) else str(error).split("\n")[0]
        raise _mismatch(path, f"{type(error).__name__}: {detail[:300]}") from None
    return position, elapsed


def _mismatch(path: Path | str, detail: str) -> ContinualError:
    return ContinualError(
        f"checkpoint {path} does not match this run: {detail}; delete it or do not resume"
    )


def _checked(state: dict[str, Any], experiences: int) -> tuple[Position, float]:
    """The position and elapsed seconds of ``state``, after checking its plain fields."""
    position = state["position"]
    experience, started, elapsed = position["experience"], position["started"], state["elapsed"]
    if not _whole(experience) or not 0 <= experience <= experiences:
        raise ContinualError(f"experience {experience!r} is not in [0, {experiences}]")
    if not isinstance(started, bool):
        raise ContinualError(f"position.started {started!r} is not true or false")
    if not isinstance(elapsed, (int, float)) or not (math.isfinite(elapsed) and elapsed >= 0):
        raise ContinualError(f"elapsed {elapsed!r} is not a number of seconds")
    for key in ("batch", "step", "samples_seen"):
        value = state["strategy"][key]
        if not _whole(value) or value < 0:
            raise ContinualError(f"strategy.{key} {value!r} is not a count")
    if not isinstance(state["random"]["torch"], torch.Tensor):
        raise ContinualError("random.torch is not a random state")
    recorder = state["recorder"]
    for key, depth in (("matrix", 2), ("points", 2), ("steps", 1), ("end_steps", 1)):
        if not _numbers(recorder[key], depth):
            raise ContinualError(f"recorder.{key} is not a list of numbers")
    return Position(experience, started), float(elapsed)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _numbers(value: Any, depth: int) -> bool:
    """Whether ``value`` is a list (of lists, ``depth`` deep) of numbers."""
    if not isinstance(value, list):
        return False
    if depth == 1:
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    return all(_numbers(v, depth - 1) for v in value)


def save(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically: a reader sees the old checkpoint or the new one."""
    write_atomic(path, lambda stream: torch.save(state, stream), binary=True)


def load(path: Path, run_id: str) -> dict[str, Any] | None:
    """The checkpoint at ``path`` for the run ``run_id``, or ``None`` if there is none. Only a
    regular file is read (see :mod:`continual.safe_io`), and loaded with
    ``weights_only=True``: only tensors and plain containers are accepted."""
    path = Path(path)
    if regular(path, "checkpoint") is None:
        return None
    data = read_regular(path, available_memory(), "checkpoint")
    try:
        state = torch.load(io.BytesIO(data), weights_only=True)
    except Exception as error:  # a truncated or foreign file: say which and what to do
        raise ContinualError(
            f"{path}: not a readable checkpoint ({type(error).__name__}: {error}); delete it to "
            "start this run from the beginning"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ContinualError(f"{path}: not a checkpoint of format {FORMAT}; delete it to restart")
    if state.get("run_id") != run_id:
        raise ContinualError(
            f"{path}: checkpoint of run {state.get('run_id')!r}, not of {run_id!r}; delete it"
        )
    return state


def remove(path: Path) -> None:
    """Delete a finished run's checkpoint (once its result file is written)."""
    Path(path).unlink(missing_ok=True)


def prepare_folder(folder: Path) -> None:
    """Make sure checkpoints can be written into ``folder`` (created if needed), before a run
    trains: a file, a dangling link or a read-only folder in its place is refused."""
    folder = Path(folder)
    if folder.is_symlink() and not folder.exists():
        raise ContinualError(f"{folder}: a link to nothing stands where checkpoints go; remove it")
    if folder.exists() and not folder.is_dir():
        raise ContinualError(f"{folder}: is not a folder, but checkpoints go there; move it")
    try:
        probe_writable(folder)
    except OSError as error:
        raise ContinualError(
            f"{folder}: cannot write checkpoints there ({error.strerror or error}); "
            "make it writable or run without checkpoints"
        ) from None


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the advisory lock of the run whose checkpoint is ``path`` while the run trains; a
    run already locked by another process is refused (two processes resuming one run would
    write the same checkpoint). The lock file goes when the run ends; a killed process's lock
    is released by the kernel."""
    import fcntl

    lock = Path(f"{path}.lock")
    while True:
        handle = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise ContinualError(
                f"run {Path(path).stem} is running in another process (it holds {lock}); "
                "wait for it to finish, then run again to reuse its result"
            ) from None
        try:
            same = os.fstat(handle).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:  # its holder finished and removed it while we waited
            same = False
        if same:
            break
        os.close(handle)  # locked a file that is gone: take the new one
    try:
        yield
    finally:
        Path(lock).unlink(missing_ok=True)
        os.close(handle)
