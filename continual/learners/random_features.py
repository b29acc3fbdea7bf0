"""Fixed random features: ReLU layers left at their random initialisation (none: the raw input)
and a linear readout trained by the delta rule. The no-learning baseline of representation
learning: random-feature models (Rahimi & Recht 2008; the extreme learning machine, Huang, Zhu &
Siew 2006) and, with a class-statistics readout (``[readout] name = "slda"``), the streaming-LDA
baselines of continual learning on raw or random features (Hayes & Kanan 2020).

The layers use PyTorch's default ``nn.Linear`` initialisation: weights and biases
U(±1/√fan_in) (Kaiming-uniform with a = √5). Only the readout learns: ΔV = η (onehot(y) −
softmax(V f)) fᵀ, the cross-entropy gradient of one linear layer, handed to the seam as
``p.grad`` like every learner's update.
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from continual.learners.abilities import Sleepable
from continual.learners.base import Learner, delta_rule, make_optimizer
from continual.ranges import Positive, Range, Width, checked


class RandomFeatures(Learner, Sleepable):
    """``input → hidden... (fixed, ReLU) → classes``; only the readout is trained."""

    @checked
    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        *,
        hidden: tuple[Width, ...] = (),
        optimizer: Literal["sgd", "adam", "adamw"] = "sgd",
        lr: Positive = 0.1,
        momentum: Annotated[float, Range(0, 1, open_high=True)] = 0.9,
    ):
        super().__init__(input_dim, num_classes)
        sizes = [input_dim, *hidden]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.readout = nn.Linear(sizes[-1], num_classes)
        # the layers are not in the optimiser: fixed whatever update they are handed
        self.optimizer = make_optimizer(optimizer, self.readout.parameters(), lr, momentum)

    def features(self, x: Tensor) -> Tensor:
        h = x.flatten(1)
        for layer in self.layers:
            h = F.relu(layer(h))
        return h

    def predict(self, x: Tensor, task: Tensor | None = None) -> Tensor:
        return self.readout(self.features(x))

    def sleep_layers(self) -> list[nn.Linear]:
        return [*self.layers, self.readout]

    def post_activity(self, name: str, output: Tensor) -> Tensor:
        return torch.softmax(output, dim=-1) if name == "readout" else F.relu(output)

    def sleep_conversion(self) -> str | None:
        return "the biases"

    def local_update(self, x: Tensor, y: Tensor, task: Tensor | None) -> dict[str, Tensor]:
        with torch.no_grad():
            features = self.features(x)
            error = delta_rule(
                self.readout, features, y, self.restrict(self.readout(features), task)
            )
        return {"readout_error": error.abs().sum(1).mean()}
