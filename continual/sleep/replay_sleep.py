"""Replay sleep: an offline phase after each experience that learns from replayed samples instead
of new data — stored samples (a small buffer) or samples generated from stored per-class input
statistics (a diagonal Gaussian per class, no samples kept: a minimal generative replay in the
spirit of van de Ven, Siegelmann & Tolias 2020). For Forward-Forward, ``negative_only = true``
runs only the negative phase offline on the generated inputs, as Hinton (2022) suggests the
negative pass could run during sleep.

The offline phase is a stream of batches (:meth:`ReplaySleep.offline_batches`) that the strategy
trains on with its one training step, right after this component's ``after_experience``: every
other component's step hooks see them (consolidation's proximal pull, SI's path integral), and
the divergence check and the strategy's offline step counts include them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import torch
from torch import Tensor

from continual.components.base import Batch, Component, CostProbe
from continual.learners.abilities import NegativePhase
from continual.learners.base import Learner
from continual.ranges import Count, checked
from continual.replay.buffer import Buffer
from continual.scenarios.experience import Experience, as_float


class ClassStatistics:
    """Running per-class mean and variance of the inputs (flattened), nothing else."""

    def __init__(self) -> None:
        self.count: dict[int, int] = {}
        self.mean: dict[int, Tensor] = {}
        self.square: dict[int, Tensor] = {}
        self.low: Tensor | None = None
        self.high: Tensor | None = None

    def add(self, x: Tensor, y: Tensor) -> None:
        x = x.flatten(1)
        self.low = x.min(0).values if self.low is None else torch.minimum(self.low, x.min(0).values)
        self.high = (
            x.max(0).values if self.high is None else torch.maximum(self.high, x.max(0).values)
        )
        for cls in y.unique().tolist():
            members = x[y == cls]
            n, old = len(members), self.count.get(cls, 0)
            total = old + n
            self.mean[cls] = (self.mean.get(cls, 0) * old + members.sum(0)) / total
            self.square[cls] = (self.square.get(cls, 0) * old + members.square().sum(0)) / total
            self.count[cls] = total

    def state_dict(self) -> dict[str, Any]:
        return {
            "count": dict(self.count),
            "mean": dict(self.mean),
            "square": dict(self.square),
            "low": self.low,
            "high": self.high,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.count = {int(k): int(v) for k, v in state["count"].items()}
        self.mean = {int(k): v for k, v in state["mean"].items()}
        self.square = {int(k): v for k, v in state["square"].items()}
        self.low, self.high = state["low"], state["high"]

    def sample(
        self, n: int, generator: torch.Generator, shape: tuple[int, ...]
    ) -> tuple[Tensor, Tensor]:
        classes = torch.tensor(sorted(self.count))
        labels = classes[torch.randint(len(classes), (n,), generator=generator)]
        mean = torch.stack([self.mean[int(c)] for c in labels])
        std = torch.stack(
            [(self.square[int(c)] - self.mean[int(c)].square()).clamp_min(0).sqrt() for c in labels]
        )
        noise = torch.randn(mean.shape, generator=generator).to(mean.device)
        x = torch.maximum(torch.minimum(mean + std * noise, self.high), self.low)
        return x.view(n, *shape), labels.to(mean.device)


class ReplaySleep(Component):
    """``steps`` offline training steps after each experience on replayed or generated samples
    (with ``negative_only``, of the learner's negative phase alone: it must have one)."""

    name = "replay-sleep"

    @checked
    def __init__(
        self,
        *,
        steps: Count = 100,
        batch_size: Count = 32,
        source: Literal["generated", "buffer"] = "generated",
        budget: Count = 200,
        negative_only: bool = False,
    ):
        self.steps, self.batch_size, self.source = steps, batch_size, source
        self.negative_only = negative_only
        self.requires = (NegativePhase,) if negative_only else ()
        self.generator = torch.Generator().manual_seed(0)  # reseeded from the run seed
        self.statistics = ClassStatistics()
        self.buffer = Buffer(budget, "class-balanced") if source == "buffer" else None
        self.shape: tuple[int, ...] = ()
        self.total_steps = 0

    def reseed(self, seed: int) -> None:
        """One seed for both generators: only one of them draws (the buffer's or the
        statistics' sampler, as ``source`` says)."""
        self.generator.manual_seed(seed)
        if self.buffer is not None:
            self.buffer.generator.manual_seed(seed)

    def _replayed(self) -> tuple[Tensor, Tensor]:
        if self.buffer is not None:
            x, y, _ = self.buffer.sample(self.batch_size)
            return as_float(x), y
        return self.statistics.sample(self.batch_size, self.generator, self.shape)

    def after_experience(self, learner: Learner, experience: Experience) -> None:
        """Store the experience: its class statistics, or its samples in the buffer."""
        x, y = as_float(experience.x_train), experience.y_train
        self.shape = tuple(x.shape[1:])
        if self.buffer is not None:
            device = y.device
            self.buffer.add(experience.x_train, y, torch.full_like(y, -1, device=device))
        else:
            self.statistics.add(x, y)

    def offline_batches(self, learner: Learner, experience: Experience) -> Iterator[Batch]:
        """``steps`` batches of replayed samples, each drawn when the previous one was trained
        on (so the draws interleave with the training steps' own random numbers)."""
        for _ in range(self.steps):
            xs, ys = self._replayed()
            yield Batch(xs, ys, None, negative_only=self.negative_only)
            self.total_steps += 1

    def cost(self, learner: Learner, probe: CostProbe) -> dict[str, float]:
        """Training FLOPs of the replayed samples (the learner's step per sample)."""
        replayed = self.total_steps * self.batch_size
        return {"sleep_flops": replayed * probe.train_flops_per_sample}

    def summary(self) -> dict[str, Any]:
        return {"steps": self.total_steps, "source": self.source}

    def state_dict(self) -> dict[str, Any]:
        return {
            "rng": self.generator.get_state(),
            "statistics": self.statistics.state_dict(),
            "buffer": None if self.buffer is None else self.buffer.state_dict(),
            "shape": list(self.shape),
            "total_steps": self.total_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["rng"])
        self.statistics.load_state_dict(state["statistics"])
        if self.buffer is not None and state["buffer"] is not None:
            self.buffer.load_state_dict(state["buffer"])
        self.shape = tuple(state["shape"])
        self.total_steps = state["total_steps"]
