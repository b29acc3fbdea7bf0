"""Representation probe (Davari, Asadi, Mudur, Aljundi & Belilovsky 2022, "Probing
representation forgetting in supervised and unsupervised continual learning", CVPR): does a
learner forget in its features, or only in its readout?

After each experience i a fresh class-statistics readout (streaming LDA, Hayes & Kanan 2020, or
nearest class mean; :mod:`continual.readouts`) is fitted on the learner's ``features(x)`` of the
training data of every experience seen so far, and its accuracy on every experience's test set
is row i of the probe matrix ``P`` — the same shape and meaning of columns as the accuracy
matrix R. Row 0 is the probe on the untrained features fitted on every experience's training
data: what the initial architecture's features support (the untrained control). Where R's
final row falls but P's stays, the features still separate the old classes and only the
readout forgot.

Deviation from the paper: Davari et al. train a linear probe by gradient descent on frozen
features; a closed-form class-statistics probe is used here (no optimiser, no randomness, so
the probe never changes the run it measures). Fitting on training data of seen classes only is
the class-incremental protocol of their Table 1."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from continual import registry
from continual.evaluation.evaluator import Evaluator
from continual.learners.base import Learner
from continual.scenarios.experience import Experience, as_float
from continual.specs import Probe


class RepresentationProbe:
    """Probe rows for ``learner`` on the test sets of ``evaluator`` (one per experience)."""

    def __init__(self, kind: Probe, evaluator: Evaluator, batch_size: int = 4096):
        self.factory = registry.lookup("readout", kind).load()
        self.evaluator, self.batch_size = evaluator, batch_size
        self.matrix: list[list[float]] = []

    def _features(self, learner: Learner, x: Tensor) -> Tensor:
        parts = [
            learner.features(as_float(x[start : start + self.batch_size]))
            for start in range(0, len(x), self.batch_size)
        ]
        return torch.cat(parts).reshape(len(x), -1)

    def fit(self, learner: Learner, seen: Sequence[Experience]) -> torch.nn.Module:
        """A fresh probe fitted on the learner's features of ``seen``'s training data."""
        probe = None
        for experience in seen:
            features = self._features(learner, experience.x_train)
            if probe is None:
                probe = self.factory(features.shape[1], learner.num_classes).to(features.device)
            probe.update(features, experience.y_train)
        assert probe is not None, "a probe needs at least one experience"
        return probe

    def accuracy(self, learner: Learner, seen: Sequence[Experience]) -> list[float]:
        """Probe accuracy on each experience's test set (task-incremental streams: scores masked
        to each sample's task classes, as the evaluator does)."""
        was_training = learner.training
        learner.eval()
        with torch.inference_mode():
            probe = self.fit(learner, seen)
            scores = probe(self._features(learner, self.evaluator.x))
        learner.train(was_training)
        owner = self.evaluator.owner
        if self.evaluator.mask is not None:
            scores = scores.masked_fill(~self.evaluator.mask[owner], float("-inf"))
        correct = (scores.argmax(1) == self.evaluator.y).double()
        hits = torch.zeros(self.evaluator.experiences, dtype=torch.float64, device=correct.device)
        hits.index_add_(0, owner, correct)
        return (hits / self.evaluator.sizes.to(hits.device)).cpu().tolist()

    def row(self, learner: Learner, seen: Sequence[Experience]) -> None:
        """Append the row after training ``seen`` (row 0: before training, ``seen`` = all)."""
        self.matrix.append(self.accuracy(learner, seen))

    def state_dict(self) -> dict[str, list[list[float]]]:
        return {"matrix": [list(row) for row in self.matrix]}

    def load_state_dict(self, state: dict[str, list[list[float]]]) -> None:
        self.matrix = [list(row) for row in state["matrix"]]
