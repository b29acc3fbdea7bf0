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
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from continual.errors import ContinualError
from continual.results import write_atomic

FORMAT = 1


@dataclass(frozen=True)
class Checkpointing:
    """Where a run keeps its checkpoint, how often (``every`` training steps, 0: only at
    experience boundaries), and whether to continue from one that exists (``resume``)."""

    path: Path
    every: int = 0
    resume: bool = False

    def __post_init__(self) -> None:
        if self.every < 0:
            raise ContinualError(f"--checkpoint-every {self.every}: must be 0 or positive")


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


def restore(state: dict[str, Any], strategy: Any, recorder: Any) -> tuple[Position, float]:
    """Load ``state`` (from :func:`load`) into a freshly built strategy and recorder; return
    where to continue and the seconds the interrupted run had already taken."""
    strategy.load_state_dict(state["strategy"])
    recorder.load_state_dict(state["recorder"])
    restore_random_states(state["random"])
    position = state["position"]
    return Position(int(position["experience"]), bool(position["started"])), float(state["elapsed"])


def save(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically: a reader sees the old checkpoint or the new one."""
    write_atomic(path, lambda stream: torch.save(state, stream), binary=True)


def load(path: Path, run_id: str) -> dict[str, Any] | None:
    """The checkpoint at ``path`` for the run ``run_id``, or ``None`` if there is none. Loaded
    with ``weights_only=True``: only tensors and plain containers are accepted."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, weights_only=True)
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
