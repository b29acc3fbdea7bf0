"""Learning without Forgetting (Li & Hoiem 2017): while learning a new experience, keep the
network's outputs on the current inputs close to those of the network as it was before the
experience (knowledge distillation with temperature T: λ·T²·KL(p_old^T ‖ p_new^T) over the classes
seen before). The term is added to the learner's loss before its one backward pass
(``extra_loss``), as in Li & Hoiem's joint objective: one forward and one backward pass of the
student per step. It needs a learner whose outputs are trained through one differentiable loss
(:class:`~continual.learners.abilities.GlobalLoss`), so a strategy refuses local learners."""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from continual.components.base import Batch, Component
from continual.learners.abilities import GlobalLoss
from continual.learners.base import Learner
from continual.ranges import NonNegative, Positive, checked
from continual.scenarios.experience import Experience


class LwF(Component):
    """Distil the previous network's outputs on old classes into the current one."""

    name = "lwf"
    requires = (GlobalLoss,)

    @checked
    def __init__(self, *, strength: NonNegative = 1.0, temperature: Positive = 2.0):
        self.strength, self.temperature = strength, temperature
        self.teacher: Learner | None = None
        self.old_classes: list[int] = []
        self.seen: set[int] = set()
        self._teacher_state: dict[str, Any] | None = None

    def before_experience(self, learner: Learner, experience: Experience) -> None:
        self.old_classes = sorted(self.seen)
        self._teacher_state = None
        self.teacher = copy.deepcopy(learner).eval() if self.old_classes else None

    def extra_loss(self, learner: Learner, batch: Batch, outputs: Tensor) -> Tensor | None:
        """λ·T²·KL(p_old^T ‖ p_new^T) over the old classes, on the student's raw ``outputs``."""
        if self._teacher_state is not None:  # restored from a checkpoint: same network, old weights
            self.teacher = copy.deepcopy(learner).eval()
            self.teacher.load_state_dict(self._teacher_state)
            self._teacher_state = None
        if self.teacher is None:
            return None
        with torch.no_grad():
            target = self.teacher.predict(batch.x)[:, self.old_classes] / self.temperature
        scores = outputs[:, self.old_classes] / self.temperature
        loss = F.kl_div(
            F.log_softmax(scores, 1),
            F.log_softmax(target, 1),
            log_target=True,
            reduction="batchmean",
        )
        return self.strength * self.temperature**2 * loss

    def after_experience(self, learner: Learner, experience: Experience) -> None:
        self.seen.update(experience.classes)

    def state_dict(self) -> dict[str, Any]:
        teacher = None if self.teacher is None else self.teacher.state_dict()
        return {"seen": sorted(self.seen), "old_classes": self.old_classes, "teacher": teacher}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seen = set(state["seen"])
        self.old_classes = list(state.get("old_classes", []))
        self.teacher = None
        self._teacher_state = state.get("teacher")  # rebuilt from the learner at the next batch
