"""What a run records while it trains: anytime accuracy curves and the accuracy-matrix rows."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from continual.evaluation.evaluator import Evaluator
from continual.learners.base import Learner


class Recorder:
    """Evaluates ``learner`` every ``every`` steps (the anytime curve) and takes an accuracy-matrix
    row at the steps in ``row_steps`` (task-free streams) or when told (:meth:`end_experience`)."""

    def __init__(
        self,
        evaluator: Evaluator,
        learner: Learner,
        every: int,
        row_steps: set[int] | None = None,
        progress: Callable[[int], None] | None = None,
    ):
        self.evaluator, self.learner, self.every = evaluator, learner, every
        self.row_steps = row_steps or set()
        self.progress = progress
        self.curves: dict[str, list[Any]] = {"step": [], "accuracy": [], "experience_end_steps": []}
        self.matrix: list[list[float]] = []
        self.seconds = 0.0

    def state_dict(self) -> dict[str, Any]:
        """The rows, curves and evaluation time so far (plain data, for checkpoints)."""
        return {"matrix": self.matrix, "curves": self.curves, "seconds": self.seconds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.matrix = [list(row) for row in state["matrix"]]
        self.curves = {key: list(values) for key, values in state["curves"].items()}
        self.seconds = float(state["seconds"])

    def evaluate(self, step: int) -> list[float]:
        start = time.perf_counter()
        accuracies = self.evaluator(self.learner)
        self.seconds += time.perf_counter() - start
        self.curves["step"].append(step)
        self.curves["accuracy"].append(accuracies)
        return accuracies

    def start(self) -> None:
        """Row 0: accuracy before any training."""
        self.matrix.append(self.evaluate(0))

    def on_step(self, step: int) -> None:
        """The training loop's per-step callback."""
        if self.progress is not None:
            self.progress(1)
        if step % self.every == 0 or step in self.row_steps:
            accuracies = self.evaluate(step)
            if step in self.row_steps:
                self.matrix.append(accuracies)
                self.curves["experience_end_steps"].append(step)

    def end_experience(self, step: int) -> None:
        """A row after an experience (reusing the anytime point if one was just taken)."""
        self.curves["experience_end_steps"].append(step)
        if self.curves["step"][-1] != step:
            self.evaluate(step)
        self.matrix.append(self.curves["accuracy"][-1])
