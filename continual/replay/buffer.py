"""A memory buffer held as preallocated tensors, with two policies for what to keep:
reservoir sampling (Vitter 1985: every sample seen so far is kept with equal probability) and
class-balanced (an equal share of the budget per class seen so far, chosen at random)."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor

from continual.errors import require


class Buffer:
    """``budget`` samples (x, y, task id) in preallocated tensors."""

    def __init__(self, budget: int, policy: Literal["reservoir", "class-balanced"], seed: int = 0):
        # a building block called with a plain number (the options that set it, such as
        # Replay's budget, are checked by their annotation), so it checks its budget itself
        require(budget >= 1, "budget", "must be at least 1")
        self.budget, self.policy = budget, policy
        self.generator = torch.Generator().manual_seed(seed)
        self.x: Tensor | None = None
        self.y = torch.empty(0, dtype=torch.long)
        self.task = torch.empty(0, dtype=torch.long)
        self.size = 0
        self.seen = 0

    def add(self, x: Tensor, y: Tensor, task: Tensor) -> None:
        """Offer new samples to the buffer (in the order given)."""
        if self.x is None:
            self.x = torch.zeros((self.budget, *x.shape[1:]), dtype=x.dtype, device=x.device)
            self.y = torch.zeros(self.budget, dtype=torch.long, device=x.device)
            self.task = torch.zeros(self.budget, dtype=torch.long, device=x.device)
        if self.policy == "reservoir":
            self._reservoir(x, y, task)
        else:
            self._balanced(x, y, task)

    def _write(self, slots: Tensor, x: Tensor, y: Tensor, task: Tensor) -> None:
        self.x[slots], self.y[slots], self.task[slots] = x, y, task

    def _reservoir(self, x: Tensor, y: Tensor, task: Tensor) -> None:
        n = len(y)
        count = self.seen + torch.arange(1, n + 1)  # 1-based position in the stream
        draw = (torch.rand(n, generator=self.generator) * count).long()
        slots = torch.where(count <= self.budget, count - 1, draw)
        keep = slots < self.budget
        # if several samples land in one slot, the last one wins, as in sequential processing
        order = torch.arange(n)
        last = torch.full((self.budget,), -1, dtype=torch.long).scatter_reduce(
            0, slots[keep], order[keep], reduce="amax"
        )
        winners = last[last >= 0]
        device = self.y.device
        self._write(
            slots[winners].to(device),
            x[winners.to(x.device)],
            y[winners.to(y.device)],
            task[winners.to(task.device)],
        )
        self.seen += n
        self.size = min(self.budget, self.seen)

    def _balanced(self, x: Tensor, y: Tensor, task: Tensor) -> None:
        all_x = torch.cat([self.x[: self.size], x])
        all_y = torch.cat([self.y[: self.size], y])
        all_t = torch.cat([self.task[: self.size], task])
        classes = all_y.unique()
        quota = torch.full((len(classes),), self.budget // len(classes))
        quota[: self.budget % len(classes)] += 1
        chosen = []
        for cls, share in zip(classes.tolist(), quota.tolist()):
            members = (all_y == cls).nonzero().squeeze(1)
            pick = torch.randperm(len(members), generator=self.generator)[:share]
            chosen.append(members[pick.to(members.device)])
        keep = torch.cat(chosen)
        self.size = len(keep)
        self._write(
            torch.arange(self.size, device=self.y.device), all_x[keep], all_y[keep], all_t[keep]
        )
        self.seen += len(y)

    def sample(self, n: int) -> tuple[Tensor, Tensor, Tensor]:
        """``n`` stored samples drawn uniformly with replacement."""
        index = torch.randint(self.size, (n,), generator=self.generator).to(self.y.device)
        return self.x[index], self.y[index], self.task[index]

    def state_dict(self) -> dict[str, Any]:
        return {
            "x": None if self.x is None else self.x[: self.size].clone(),
            "y": self.y[: self.size].clone(),
            "task": self.task[: self.size].clone(),
            "seen": self.seen,
            "rng": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.x, self.size, self.seen = None, 0, 0
        if state["x"] is not None:
            n = len(state["y"])
            self.x = torch.zeros((self.budget, *state["x"].shape[1:]), dtype=state["x"].dtype)
            self.y = torch.zeros(self.budget, dtype=torch.long)
            self.task = torch.zeros(self.budget, dtype=torch.long)
            self._write(torch.arange(n), state["x"], state["y"], state["task"])
            self.size = n
        self.seen = state["seen"]
        self.generator.set_state(state["rng"])
