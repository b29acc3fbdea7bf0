"""Accuracy on every experience's test set, in one batched pass.

All test sets are concatenated once; each evaluation runs the learner over them in large batches
under ``torch.inference_mode()`` and splits the hits per experience. For task-incremental streams
the scores are masked to each sample's task classes. :meth:`Evaluator.stratified` gives an
evaluator over a fixed, class-balanced subset of each test set (cheap anytime curves).
"""

from __future__ import annotations

import copy

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
        self.experiences = len(stream)
        self.sizes = torch.bincount(self.owner, minlength=len(stream)).double()
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

    def stratified(self, samples: int, seed: int = 0) -> Evaluator:
        """The same evaluation on a fixed subset of at most ``samples`` test samples per
        experience, shared equally among its classes (a seeded draw; all of a class when it has
        fewer)."""
        generator = torch.Generator().manual_seed(seed)
        owner, y = self.owner.cpu(), self.y.cpu()
        keep = []
        for i in range(self.experiences):
            classes = y[owner == i].unique()
            for rank, label in enumerate(classes.tolist()):
                share = samples // len(classes) + (rank < samples % len(classes))
                members = torch.nonzero((owner == i) & (y == label)).squeeze(1)
                keep.append(members[torch.randperm(len(members), generator=generator)[:share]])
        index = torch.cat(keep).sort().values.to(self.y.device)
        subset = copy.copy(self)
        subset.x, subset.y, subset.owner = self.x[index], self.y[index], self.owner[index]
        subset.sizes = torch.bincount(subset.owner, minlength=self.experiences).double()
        return subset

    def accuracy(self, learner: Learner) -> Tensor:
        """Accuracy per experience as a float64 tensor on the evaluation device (no host sync)."""
        was_training = learner.training
        learner.eval()
        hits = torch.zeros(self.experiences, dtype=torch.float64, device=self.y.device)
        with torch.inference_mode():
            for start in range(0, len(self.y), self.batch_size):
                part = slice(start, start + self.batch_size)
                owner = self.owner[part]
                task = self.tasks[owner] if self.mask is not None else None
                scores = learner.scores(as_float(self.x[part]), task)
                if self.mask is not None:
                    scores = scores.masked_fill(~self.mask[owner], float("-inf"))
                correct = (scores.argmax(1) == self.y[part]).double()
                hits.index_add_(0, owner, correct)
        learner.train(was_training)
        return hits / self.sizes.to(hits.device)

    def __call__(self, learner: Learner) -> list[float]:
        return self.accuracy(learner).cpu().tolist()
