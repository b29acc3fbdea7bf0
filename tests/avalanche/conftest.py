"""A tiny class-incremental stream (6 well-separated classes, 16 features, 3 experiences) and its
Avalanche benchmark, shared by the Avalanche bridge tests."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from continual.scenarios.experience import Stream
from continual.scenarios.sources import synthetic
from continual.scenarios.split import class_incremental


@pytest.fixture(scope="session")
def stream() -> Stream:
    return class_incremental(synthetic(samples=600, features=16, classes=6), 0, experiences=3)


@pytest.fixture(scope="session")
def benchmark(stream: Stream):
    from continual.avalanche import to_benchmark

    return to_benchmark(stream)


def mlp(bias: bool = True, hidden: int = 32, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(16, hidden, bias=bias), nn.ReLU(), nn.Linear(hidden, 6, bias=bias)
    )


def quiet_evaluator(*metrics):
    from avalanche.training.plugins import EvaluationPlugin

    return EvaluationPlugin(*metrics, loggers=[])
