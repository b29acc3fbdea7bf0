"""The data types every other part of the library sees: a labelled dataset, an experience, a
stream. Data lives in memory as tensors; batches are index slices, never a DataLoader."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass(frozen=True, eq=False)
class LabelledData:
    """A labelled dataset with its train/test split, as a data source returns it.

    ``x_*`` are float tensors in [0, 1] (or uint8, turned into floats per batch) of shape
    ``(N, *input_shape)``; ``y_*`` are int64 class labels 0..num_classes-1.
    """

    name: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1


@dataclass(frozen=True, eq=False)
class Experience:
    """One step of a stream: its index, task id, classes and data.

    ``task`` is the task label the learner may see (``None`` when the protocol hides it, as in
    class- and domain-incremental learning). ``train_task`` optionally gives a task per training
    sample (used when experiences are merged for joint training); otherwise every sample has
    ``task``.
    """

    index: int
    classes: tuple[int, ...]
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    task: int | None = None
    train_task: Tensor | None = field(default=None, repr=False)

    @property
    def train_size(self) -> int:
        return len(self.y_train)

    def batch(self, index: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """Training inputs (as float), labels and per-sample task ids (or None) at ``index``."""
        task = None
        if self.train_task is not None:
            task = self.train_task[index]
        elif self.task is not None:
            task = torch.full((len(index),), self.task, dtype=torch.long, device=index.device)
        return as_float(self.x_train[index]), self.y_train[index], task

    def training_data(self) -> tuple[Tensor, Tensor, Tensor | None]:
        """All training inputs (as float), labels and task ids, as one batch."""
        return self.batch(torch.arange(self.train_size, device=self.y_train.device))

    def to(self, device: torch.device | str) -> Experience:
        """The same experience with its tensors on ``device``."""
        moved = {
            name: getattr(self, name).to(device)
            for name in ("x_train", "y_train", "x_test", "y_test")
        }
        train_task = None if self.train_task is None else self.train_task.to(device)
        return Experience(self.index, self.classes, task=self.task, train_task=train_task, **moved)


@dataclass(frozen=True, eq=False)
class OnlineSchedule:
    """A task-free stream's order: ``order`` indexes the experiences' concatenated training
    data; ``task_ends[k]`` is how many samples have passed when task k stops appearing."""

    order: Tensor
    task_ends: tuple[int, ...]
    boundaries: bool = False  # announce where each task ends (cut the pass into chunks there)


@dataclass(frozen=True, eq=False)
class Stream:
    """An ordered, re-iterable sequence of experiences plus what a learner must know up front.

    ``online`` is set for task-free streams: training then sees every sample once, in that order,
    without experience boundaries; the experiences remain the units of evaluation.
    """

    name: str
    experiences: tuple[Experience, ...]
    num_classes: int
    input_shape: tuple[int, ...]
    online: OnlineSchedule | None = None

    def __iter__(self) -> Iterator[Experience]:
        return iter(self.experiences)

    def __len__(self) -> int:
        return len(self.experiences)

    def __getitem__(self, i: int) -> Experience:
        return self.experiences[i]

    @property
    def input_dim(self) -> int:
        return int(torch.tensor(self.input_shape).prod())

    @property
    def task_labels(self) -> bool:
        """Whether the learner is told which task a sample belongs to."""
        return any(e.task is not None for e in self.experiences)


def as_float(x: Tensor) -> Tensor:
    """uint8 images become floats in [0, 1]; float inputs pass through unchanged."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


def online_experiences(stream: Stream) -> list[Experience]:
    """A task-free stream's training data in the stream's order: one experience, or one chunk
    per underlying task (cut where each task stops appearing) when boundaries are announced."""
    assert stream.online is not None
    merged = merge(list(stream))
    order = stream.online.order
    cuts = stream.online.task_ends if stream.online.boundaries else (len(order),)
    chunks, start = [], 0
    for index, end in enumerate(cuts):
        part = order[start:end]
        chunks.append(
            Experience(
                index,
                merged.classes,
                merged.x_train[part],
                merged.y_train[part],
                merged.x_test,
                merged.y_test,
            )
        )
        start = end
    return [c for c in chunks if c.train_size > 0]


def merge(experiences: Sequence[Experience]) -> Experience:
    """All experiences' training data as one experience (joint training, the upper bound)."""
    with_task = [e for e in experiences if e.task is not None]
    train_task = None
    if with_task:
        train_task = torch.cat(
            [torch.full((e.train_size,), e.task, dtype=torch.long) for e in experiences]
        )
    return Experience(
        index=0,
        classes=tuple(sorted({c for e in experiences for c in e.classes})),
        x_train=torch.cat([e.x_train for e in experiences]),
        y_train=torch.cat([e.y_train for e in experiences]),
        x_test=torch.cat([e.x_test for e in experiences]),
        y_test=torch.cat([e.y_test for e in experiences]),
        task=None,
        train_task=train_task,
    )
