"""Experience replay (Chaudhry et al. 2019, "On tiny episodic memories in continual learning";
van de Ven et al. 2022 use 100 samples per class): after each experience its training samples
are offered to a fixed-budget buffer; every training batch is extended with as many stored
samples (``replay_batch``, default: the batch size), so old and new data are learned together."""

from __future__ import annotations

from typing import Any, Literal

import torch

from continual.components.base import Batch, Component
from continual.learners.base import Learner
from continual.ranges import Count, checked
from continual.replay.buffer import Buffer
from continual.scenarios.experience import Experience, as_float


class Replay(Component):
    """Mix stored samples of past experiences into every training batch."""

    name = "replay"

    @checked
    def __init__(
        self,
        *,
        budget: Count = 200,
        policy: Literal["reservoir", "class-balanced"] = "class-balanced",
        replay_batch: Count | None = None,
    ):
        self.buffer = Buffer(budget, policy)  # its generator is reseeded from the run seed
        self.replay_batch = replay_batch

    def reseed(self, seed: int) -> None:
        self.buffer.generator.manual_seed(seed)

    def transform_batch(self, learner: Learner, batch: Batch) -> Batch:
        if self.buffer.size == 0:
            return batch
        x, y, task = self.buffer.sample(self.replay_batch or len(batch.y))
        return Batch(
            torch.cat([batch.x, as_float(x)]),
            torch.cat([batch.y, y]),
            None if batch.task is None else torch.cat([batch.task, task]),
        )

    def after_experience(self, learner: Learner, experience: Experience) -> None:
        order = torch.randperm(experience.train_size, generator=self.buffer.generator)
        device = experience.y_train.device
        task = torch.full(
            (experience.train_size,),
            -1 if experience.task is None else experience.task,
            device=device,
        )
        if experience.train_task is not None:
            task = experience.train_task
        order = order.to(device)
        self.buffer.add(experience.x_train[order], experience.y_train[order], task[order])

    def summary(self) -> dict[str, Any]:
        return {"stored": self.buffer.size, "budget": self.buffer.budget}

    def state_dict(self) -> dict[str, Any]:
        return self.buffer.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.buffer.load_state_dict(state)
