"""The Python API for your own data: arrays or ``torch.utils.data.Dataset`` objects in, a
validated :class:`LabelledData` out, and any registered generator applied to it by name.

    from continual.scenarios.arrays import from_arrays, make_stream
    data = from_arrays(x_train, y_train, x_test, y_test, name="mine")
    stream = make_stream(data, "class-incremental", seed=0, experiences=5)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from continual import registry
from continual.scenarios.experience import LabelledData, Stream
from continual.scenarios.validate import labelled


def from_arrays(x_train, y_train, x_test, y_test, name: str = "arrays") -> LabelledData:
    """Arrays (NumPy, torch, lists) for train and test, checked like a ``.npz`` file."""
    convert = lambda a: a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a  # noqa: E731
    return labelled(
        name, convert(x_train), convert(y_train), convert(x_test), convert(y_test), where=name
    )


def _stack(dataset: torch.utils.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for index in range(len(dataset)):  # one pass to bring the data into memory as tensors
        x, y = dataset[index]
        xs.append(np.asarray(x.numpy() if isinstance(x, torch.Tensor) else x))
        ys.append(int(y))
    return np.stack(xs), np.asarray(ys)


def from_datasets(
    train: torch.utils.data.Dataset, test: torch.utils.data.Dataset, name: str = "dataset"
) -> LabelledData:
    """Any map-style datasets yielding ``(x, label)`` pairs, loaded into memory once."""
    return labelled(name, *_stack(train), *_stack(test), where=name)


def make_stream(data: LabelledData, generator: str, seed: int = 0, **options: Any) -> Stream:
    """Apply the generator registered as ``generator`` (e.g. "permuted") to ``data``."""
    return registry.build("generator", {"name": generator, **options}, data, seed)
