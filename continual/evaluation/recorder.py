"""What a run records while it trains: anytime accuracy curves and the accuracy-matrix rows."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from continual.evaluation.evaluator import Evaluator
from continual.learners.base import Learner


class Recorder:
    """Evaluates ``learner`` every ``every`` steps (the anytime curve) and takes an accuracy-matrix
    row at the steps in ``row_steps`` (task-free streams: step → rows due) or when told
    (:meth:`end_experience`).

    Rows (and the curve points at step 0 and at every row) use the full test sets of
    ``evaluator``; the points between them use ``anytime`` (e.g. :meth:`Evaluator.stratified`),
    or the full sets when it is ``None``. Curve points stay on the device until :attr:`curves`
    is read, so the training loop never waits for them."""

    def __init__(
        self,
        evaluator: Evaluator,
        learner: Learner,
        every: int,
        row_steps: dict[int, int] | None = None,
        progress: Callable[[int], None] | None = None,
        anytime: Evaluator | None = None,
    ):
        self.evaluator, self.learner, self.every = evaluator, learner, every
        self.anytime = anytime or evaluator
        self.row_steps = row_steps or {}
        self.progress = progress
        self.steps: list[int] = []
        self.points: list[Tensor] = []
        self.end_steps: list[int] = []
        self.matrix: list[list[float]] = []
        self.seconds = 0.0
        self.predictions = 0  # test samples predicted, for the cost accounting

    @property
    def curves(self) -> dict[str, Any]:
        """Steps, accuracies per experience at each step, and the steps where rows were taken."""
        return {
            "step": list(self.steps),
            "accuracy": [point.cpu().tolist() for point in self.points],
            "experience_end_steps": list(self.end_steps),
            "anytime_test_samples": self.anytime.sizes.long().tolist(),
        }

    def state_dict(self) -> dict[str, Any]:
        """The rows, curves and evaluation time so far (plain data, for checkpoints)."""
        return {
            "matrix": [list(row) for row in self.matrix],
            "steps": list(self.steps),
            "points": [point.cpu().tolist() for point in self.points],
            "end_steps": list(self.end_steps),
            "seconds": self.seconds,
            "predictions": self.predictions,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        device = self.evaluator.y.device
        self.matrix = [list(row) for row in state["matrix"]]
        self.steps = list(state["steps"])
        self.points = [
            torch.tensor(point, dtype=torch.float64, device=device) for point in state["points"]
        ]
        self.end_steps = list(state["end_steps"])
        self.seconds = float(state["seconds"])
        self.predictions = int(state["predictions"])

    def _evaluate(self, evaluator: Evaluator) -> Tensor:
        start = time.perf_counter()
        accuracies = evaluator.accuracy(self.learner)
        self.seconds += time.perf_counter() - start
        self.predictions += len(evaluator.y)
        return accuracies

    def _row(self, step: int) -> None:
        """A full evaluation: a matrix row and the curve point at ``step`` (replacing an anytime
        point taken at the same step)."""
        accuracies = self._evaluate(self.evaluator)
        if self.steps and self.steps[-1] == step:
            self.points[-1] = accuracies
        else:
            self.steps.append(step)
            self.points.append(accuracies)
        self.matrix.append(accuracies.cpu().tolist())

    def start(self) -> None:
        """Row 0: accuracy before any training."""
        self._row(0)

    def on_step(self, step: int) -> None:
        """The training loop's per-step callback."""
        if self.progress is not None:
            self.progress(1)
        rows = self.row_steps.get(step, 0)
        if rows:  # tasks that ended within the same batch share the evaluation after it
            self._row(step)
            self.matrix.extend(list(self.matrix[-1]) for _ in range(rows - 1))
            self.end_steps.extend([step] * rows)
        elif step % self.every == 0:
            self.steps.append(step)
            self.points.append(self._evaluate(self.anytime))

    def end_experience(self, step: int) -> None:
        """A row after an experience."""
        self.end_steps.append(step)
        self._row(step)
