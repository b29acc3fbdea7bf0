"""Accuracy on every experience's test set, in one batched pass.

All test sets are concatenated once; each evaluation runs the learner over them in large batches
under ``torch.inference_mode()`` and splits the hits per experience. For task-incremental streams
the scores are masked to each sample's task classes.
"""

from __future__ import annotations

import torch
from torch import Tensor

from continual.learners.base import Learner
from continual.scenarios.experience import Stream, as_float


class Evaluator:
    """Callable that maps a learner to its accuracy on each experience of ``stream``."""

    def __init__(self, stream: Stream, device: torch.device | str = "cpu", batch_size: int = 4096):
        self.x = torch.cat([e.x_test for e in stream]).to(device)
        self.y = torch.cat([e.y_test for e in stream]).to(device)
        self.owner = torch.cat(
            [torch.full((len(e.y_test),), i, dtype=torch.long) for i, e in enumerate(stream)]
        ).to(device)
        self.sizes = torch.bincount(self.owner, minlength=len(stream)).double().cpu()
        self.mask: Tensor | None = None
        if stream.task_labels:
            allowed = torch.zeros(len(stream), stream.num_classes, dtype=torch.bool)
            for i, experience in enumerate(stream):
                allowed[i, list(experience.classes)] = True
            self.mask = allowed.to(device)
        self.tasks = torch.tensor(
            [-1 if e.task is None else e.task for e in stream], dtype=torch.long, device=device
        )
        self.batch_size = batch_size

    def __call__(self, learner: Learner) -> list[float]:
        was_training = learner.training
        learner.eval()
        hits = torch.zeros(len(self.sizes), dtype=torch.float64, device=self.y.device)
        with torch.inference_mode():
            for start in range(0, len(self.y), self.batch_size):
                part = slice(start, start + self.batch_size)
                owner = self.owner[part]
                task = self.tasks[owner] if self.mask is not None else None
                scores = learner.predict(as_float(self.x[part]), task)
                if self.mask is not None:
                    scores = scores.masked_fill(~self.mask[owner], float("-inf"))
                correct = (scores.argmax(1) == self.y[part]).double()
                hits.index_add_(0, owner, correct)
        learner.train(was_training)
        return (hits.cpu() / self.sizes).tolist()
