"""Domain-incremental streams: the same classes in every experience, the inputs transformed —
permuted pixels (Goodfellow et al. 2013; Kirkpatrick et al. 2017) or rotated images (Lopez-Paz &
Ranzato 2017). No task label is given by default."""

from __future__ import annotations

import math
from typing import Annotated

import torch
import torch.nn.functional as F
from torch import Tensor

from continual.errors import require
from continual.ranges import Count, Experiences, Finite, Range, checked
from continual.scenarios.experience import Experience, LabelledData, Stream
from continual.scenarios.split import subsample


def _stream(
    data: LabelledData,
    transforms: list,
    seed: int,
    samples: int | None,
    task_labels: bool,
    name: str,
) -> Stream:
    generator = torch.Generator().manual_seed(seed + 1)
    classes = tuple(sorted(data.y_train.unique().tolist()))
    experiences = []
    for index, transform in enumerate(transforms):
        train = subsample(torch.arange(len(data.y_train)), samples, generator)
        experiences.append(
            Experience(
                index=index,
                classes=classes,
                x_train=transform(data.x_train[train]),
                y_train=data.y_train[train],
                x_test=transform(data.x_test),
                y_test=data.y_test,
                task=index if task_labels else None,
            )
        )
    return Stream(name, tuple(experiences), data.num_classes, data.input_shape)


def permutations(size: int, experiences: int, seed: int, first_unpermuted: bool) -> list[Tensor]:
    """One fixed random permutation of ``size`` features per experience."""
    generator = torch.Generator().manual_seed(seed)
    result = [torch.randperm(size, generator=generator) for _ in range(experiences)]
    if first_unpermuted:
        result[0] = torch.arange(size)
    return result


@checked
def permuted(
    data: LabelledData,
    seed: int,
    *,
    experiences: Experiences = 10,
    first_unpermuted: bool = True,
    samples_per_experience: Count | None = None,
    task_labels: bool = False,
) -> Stream:
    """Permuted inputs: experience k shows every input with its features shuffled by a fixed
    random permutation P_k (the first one may be the identity); labels are shared."""
    shape = data.input_shape
    size = math.prod(shape)

    def apply(order: Tensor):
        return lambda x: x.reshape(len(x), size)[:, order].reshape(len(x), *shape)

    orders = permutations(size, experiences, seed, first_unpermuted)
    return _stream(
        data,
        [apply(o) for o in orders],
        seed,
        samples_per_experience,
        task_labels,
        f"permuted {data.name}",
    )


def rotate(x: Tensor, degrees: float) -> Tensor:
    """Rotate images (N, H, W) or (N, C, H, W) about their centre; uint8 stays uint8."""
    if degrees % 360 == 0:
        return x
    images = x if x.ndim == 4 else x[:, None]
    floats = images.float()
    angle = math.radians(degrees)
    matrix = torch.tensor(
        [[math.cos(angle), -math.sin(angle), 0.0], [math.sin(angle), math.cos(angle), 0.0]],
        dtype=floats.dtype,
    )
    grid = F.affine_grid(matrix.expand(len(x), 2, 3), list(floats.shape), align_corners=False)
    out = F.grid_sample(floats, grid, align_corners=False, padding_mode="zeros")
    if x.dtype == torch.uint8:
        out = out.round().clamp(0, 255).to(torch.uint8)
    return out if x.ndim == 4 else out[:, 0]


@checked
def rotated(
    data: LabelledData,
    seed: int,
    *,
    experiences: Experiences = 5,
    angles: tuple[Finite, ...] | None = None,
    max_angle: Annotated[float, Range(-360, 360)] = 180.0,
    samples_per_experience: Count | None = None,
    task_labels: bool = False,
) -> Stream:
    """Rotated inputs: experience k shows every image rotated by a fixed angle (evenly spaced
    from 0 to ``max_angle`` unless ``angles`` are given); labels are shared."""
    require(len(data.input_shape) in (2, 3), "generator", "rotation needs image inputs (H×W)")
    if angles is None:
        step = max_angle / max(experiences - 1, 1)
        angles = tuple(k * step for k in range(experiences))
    require(len(angles) >= 1, "angles", "needs at least one angle")  # a length, not a range
    transforms = [lambda x, a=a: rotate(x, a) for a in angles]
    return _stream(
        data, transforms, seed, samples_per_experience, task_labels, f"rotated {data.name}"
    )
