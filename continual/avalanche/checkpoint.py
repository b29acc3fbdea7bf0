"""Checkpoint and resume an Avalanche run that uses our plugins, at experience boundaries.

Avalanche's own ``save_checkpoint`` pickles the whole strategy with dill, which fails here for
every strategy (dill cannot pickle a torch 2.14 optimiser) and breaks across versions anyway.
This saves state dicts only, as our own runs do (:mod:`continual.checkpoint`): the model's and
the optimiser's, each of our plugins' (a :class:`~continual.avalanche.plugins.ComponentPlugin`'s
component, a :class:`~continual.avalanche.results.ResultsPlugin`'s rows, curves and counters),
Avalanche's clock counters and the global random states (torch's CPU and CUDA generators,
Python's ``random``, NumPy's), written atomically with ``torch.save`` and read with
``torch.load(weights_only=True)``, so a checkpoint file cannot run code::

    done = load_checkpoint(path, strategy)  # 0 when there is no checkpoint yet
    for index, experience in enumerate(benchmark.train_stream):
        if index >= done:
            strategy.train(experience)
            save_checkpoint(path, strategy, index + 1)

A run resumed this way, with the strategy and plugins built as before, gives the same model and
the same result file as an uninterrupted one (up to timings). Other Avalanche plugins' state is
not saved (an ``EvaluationPlugin``'s metric history, a ``ReplayPlugin``'s buffer): resuming says
which plugins start afresh.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from avalanche.training.plugins.clock import Clock

from continual import checkpoint
from continual.avalanche.plugins import ComponentPlugin
from continual.avalanche.results import ResultsPlugin
from continual.errors import ContinualError

IDENTITY = "avalanche"  # our runs' checkpoints carry their run id here; these carry this


def _ours(strategy: Any) -> list[ComponentPlugin | ResultsPlugin]:
    return [p for p in strategy.plugins if isinstance(p, (ComponentPlugin, ResultsPlugin))]


def _random_states() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    name, keys, position, has_gauss, cached = np.random.get_state()
    return {
        **checkpoint.random_states(),
        "python": [version, list(internal), gauss],
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached],
    }


def _restore_random_states(states: dict[str, Any]) -> None:
    checkpoint.restore_random_states(states)
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))


def save_checkpoint(path: str | Path, strategy: Any, experiences_done: int) -> None:
    """Save ``strategy``'s state after its ``train`` call on experience ``experiences_done - 1``
    returned (an experience boundary), atomically."""
    if experiences_done < 1:
        raise ContinualError(f"experiences_done={experiences_done}: save after an experience")
    state = {
        "format": checkpoint.FORMAT,
        "run_id": IDENTITY,
        "experiences_done": int(experiences_done),
        "model": strategy.model.state_dict(),
        "optimizer": strategy.optimizer.state_dict(),
        "plugins": [{"type": type(p).__name__, "state": p.state_dict()} for p in _ours(strategy)],
        "clock": {k: v for k, v in vars(strategy.clock).items() if isinstance(v, int)},
        "random": _random_states(),
    }
    checkpoint.save(Path(path), state)


def load_checkpoint(path: str | Path, strategy: Any) -> int:
    """Load the checkpoint at ``path`` into ``strategy`` (built as for the saved run, not yet
    trained) and return how many experiences it had finished; 0 when there is no file."""
    state = checkpoint.load(Path(path), IDENTITY)
    if state is None:
        return 0
    ours = _ours(strategy)
    saved = [entry["type"] for entry in state["plugins"]]
    if saved != [type(p).__name__ for p in ours]:
        raise ContinualError(
            f"{path}: saved with our plugins {saved}, but this strategy has "
            f"{[type(p).__name__ for p in ours]}; build the strategy as for the saved run"
        )
    strategy.model.load_state_dict(state["model"])
    if getattr(strategy, "optimized_param_id", ...) is None:
        # what a fresh strategy does before its first experience, and which would otherwise
        # reset the loaded optimiser state (momenta, Adam's moments) at the next train call
        strategy.make_optimizer(reset_optimizer_state=True)
    strategy.optimizer.load_state_dict(state["optimizer"])
    for plugin, entry in zip(ours, state["plugins"]):
        plugin.load_state_dict(entry["state"])
    for key, value in state["clock"].items():
        setattr(strategy.clock, key, value)
    _restore_random_states(state["random"])
    kept = (ComponentPlugin, ResultsPlugin, Clock)
    fresh = [type(p).__name__ for p in strategy.plugins if not isinstance(p, kept)]
    if fresh:
        warnings.warn(
            f"resumed at experience {state['experiences_done']} without the state of "
            f"{', '.join(fresh)} (only our plugins' state is checkpointed)",
            stacklevel=2,
        )
    return int(state["experiences_done"])
