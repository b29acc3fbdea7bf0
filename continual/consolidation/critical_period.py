"""A critical period: the learner's features learn during the first experience(s) only, then
stay fixed while its readout keeps learning (Hubel & Wiesel 1970; Hensch 2005, "Critical period
plasticity in local cortical circuits", Nat. Rev. Neurosci.). The bluntest consolidation of
features: none of them moves after the period, so a class-statistics readout (streaming LDA,
docs/readouts.md) accumulates its statistics on one representation instead of on features that
drift under it, as they do when an unsupervised rule keeps learning from each new experience.

It is what Hayes & Kanan (2020) do with a network trained on a base set of classes, with the
base set here the stream's first experience(s) and the learning rule the learner's own.
"""

from __future__ import annotations

from typing import Annotated, Any

from continual.components.base import Batch, Component
from continual.errors import ContinualError
from continual.learners.base import Learner
from continual.ranges import Range, checked
from continual.scenarios.experience import Experience


class CriticalPeriod(Component):
    """Features learn during the first ``experiences`` experiences, then are frozen
    (``Learner.frozen_features``: the learning rule and the optimiser leave every parameter
    outside the learner's own readout unchanged)."""

    name = "critical-period"

    @checked
    def __init__(self, *, experiences: Annotated[int, Range(1, 1_000_000)] = 1):
        self.experiences = experiences
        self.seen = 0  # experiences trained so far

    def check(self, learner: Learner) -> None:
        trained = {id(p) for group in learner.optimizer.param_groups for p in group["params"]}
        if not any(id(p) in trained for p in learner.feature_parameters()):
            raise ContinualError(
                f"critical-period: the {type(learner).__name__} learner never trains its "
                "features, so there is no period to end"
            )

    def transform_batch(self, learner: Learner, batch: Batch) -> Batch:
        # set on every batch, not once: a run resumed mid-experience restores this component's
        # count but not the learner's flag, and the before-experience hooks do not run again
        if self.seen >= self.experiences:
            learner.frozen_features = True
        return batch

    def after_experience(self, learner: Learner, experience: Experience) -> None:
        self.seen += 1

    def summary(self) -> dict[str, Any]:
        return {"experiences_learning_features": min(self.seen, self.experiences)}

    def state_dict(self) -> dict[str, Any]:
        return {"seen": self.seen}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seen = int(state["seen"])
