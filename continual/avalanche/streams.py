"""Streams both ways: an Avalanche benchmark (train and test streams of equal length) becomes our
:class:`~continual.scenarios.experience.Stream` with its data as tensors in memory, and our
stream becomes an Avalanche benchmark of tensor datasets with the same experiences, classes,
task labels and sample order."""

from __future__ import annotations

from typing import Any

import torch
from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets
from avalanche.benchmarks.scenarios.supervised import with_classes_timeline
from avalanche.benchmarks.scenarios.task_aware import with_task_labels
from avalanche.benchmarks.utils import _make_taskaware_tensor_classification_dataset
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from continual.errors import ContinualError
from continual.scenarios.experience import Experience, Stream, as_float


def dataset_tensors(dataset: Dataset, batch_size: int = 1024) -> tuple[Tensor, Tensor]:
    """All inputs (float) and labels (int64) of an Avalanche or torch classification dataset,
    read once in stored order with its evaluation transforms (no random augmentation)."""
    if hasattr(dataset, "eval"):
        dataset = dataset.eval()
    if len(dataset) == 0:
        raise ContinualError("an Avalanche experience has no samples; every experience needs data")
    xs, ys = [], []
    # its own generator: reading must not advance the global RNG that shuffles training batches
    loader = DataLoader(dataset, batch_size=batch_size, generator=torch.Generator())
    for batch in loader:
        xs.append(batch[0])
        ys.append(batch[1])
    x, y = as_float(torch.cat(xs)), torch.cat(ys).long()
    if not x.is_floating_point():
        x = x.float()
    if not bool(torch.isfinite(x).all()):
        raise ContinualError("an Avalanche dataset holds NaN or infinite inputs; clean it first")
    return x, y


def stored_image_shape(dataset: Any, features: int) -> tuple[int, int] | None:
    """The (height, width) of the images behind a dataset of flat inputs, when a dataset it
    wraps (an Avalanche dataset's ``_datasets``, a ``Subset``'s ``dataset``) stores them as
    torchvision's do: a ``data`` array of shape (N, height, width) with height·width =
    ``features``. None when none does (colour images are left out: whether a flat sample is
    channels-first or last cannot be told from the stored array)."""
    stack, seen = [dataset], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        shape = getattr(getattr(current, "data", None), "shape", None)
        if shape is not None and len(shape) == 3 and int(shape[1]) * int(shape[2]) == features:
            return int(shape[1]), int(shape[2])
        stack.extend(getattr(current, "_datasets", None) or [])
        if getattr(current, "dataset", None) is not None:
            stack.append(current.dataset)
    return None


def _task_label(experience: Any) -> int:
    labels = getattr(experience, "task_labels", None)
    if labels is None:
        stored = getattr(experience.dataset, "targets_task_labels", None)
        labels = sorted({int(t) for t in stored}) if stored is not None else [0]
    if len(labels) != 1:
        raise ContinualError(
            f"Avalanche experience {experience.current_experience} mixes task labels {labels}; "
            "our streams need one task label per experience"
        )
    return int(labels[0])


def to_stream(benchmark: Any, name: str = "avalanche") -> Stream:
    """Our stream from an Avalanche benchmark's ``train_stream`` and ``test_stream``.

    Task labels become our task ids only when the benchmark uses more than one (task-incremental);
    a benchmark whose experiences all carry task 0 is class- or domain-incremental (task hidden).
    """
    train, test = list(benchmark.train_stream), list(benchmark.test_stream)
    if len(train) != len(test) or not train:
        raise ContinualError(
            f"the benchmark has {len(train)} training and {len(test)} test experiences; "
            "our streams pair them one to one"
        )
    tasks = [_task_label(e) for e in train]
    task_incremental = len(set(tasks)) > 1
    experiences = []
    for index, (train_exp, test_exp) in enumerate(zip(train, test)):
        x_train, y_train = dataset_tensors(train_exp.dataset)
        x_test, y_test = dataset_tensors(test_exp.dataset)
        experiences.append(
            Experience(
                index=index,
                classes=tuple(sorted(set(y_train.tolist()))),
                x_train=x_train,
                y_train=y_train,
                x_test=x_test,
                y_test=y_test,
                task=tasks[index] if task_incremental else None,
            )
        )
    shapes = {tuple(e.x_train.shape[1:]) for e in experiences}
    if len(shapes) != 1:
        raise ContinualError(f"the benchmark's experiences have different input shapes {shapes}")
    num_classes = 1 + max(int(max(e.y_train.max(), e.y_test.max())) for e in experiences)
    return Stream(name, tuple(experiences), num_classes, shapes.pop())


def _dataset(x: Tensor, y: Tensor, task: int) -> Any:
    return _make_taskaware_tensor_classification_dataset(
        as_float(x.cpu().clone()), y.cpu(), targets=y.cpu(), task_labels=task
    )


def to_benchmark(stream: Stream) -> Any:
    """An Avalanche benchmark (``train_stream``, ``test_stream``, classes timeline) with one
    experience per experience of ``stream``; tasks hidden from the learner get task label 0."""
    if stream.online is not None:
        raise ContinualError(
            "a task-free stream's single-pass order has no Avalanche counterpart here: convert "
            "dataclasses.replace(stream, online=None) and split it with Avalanche's "
            "split_online_stream"
        )
    train = [_dataset(e.x_train, e.y_train, e.task or 0) for e in stream]
    test = [_dataset(e.x_test, e.y_test, e.task or 0) for e in stream]
    benchmark = with_classes_timeline(benchmark_from_datasets(train=train, test=test))
    return with_task_labels(benchmark) if stream.task_labels else benchmark
