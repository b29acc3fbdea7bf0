"""Class- and task-incremental splits: each experience holds a disjoint group of classes
(van de Ven, Tuytelaars & Tolias 2022, "Three types of incremental learning")."""

from __future__ import annotations

import torch

from continual.errors import ConfigError, require
from continual.scenarios.experience import Experience, LabelledData, Stream


def class_groups(
    num_classes: int, experiences: int, seed: int, classes_per_experience: int | None = None
) -> list[list[int]]:
    """A seeded random class order cut into ``experiences`` groups (equal sizes by default)."""
    require(experiences >= 1, "experiences", "a stream needs at least 1 experience")
    per = classes_per_experience or num_classes // experiences
    require(
        per >= 1 and per * experiences <= num_classes,
        "experiences",
        f"{experiences} experiences of {per} classes need {per * experiences} classes, "
        f"but the data has {num_classes}",
    )
    order = torch.randperm(num_classes, generator=torch.Generator().manual_seed(seed)).tolist()
    return [sorted(order[i * per : (i + 1) * per]) for i in range(experiences)]


def split(data: LabelledData, groups: list[list[int]], task_labels: bool, name: str) -> Stream:
    """Cut ``data`` into one experience per class group."""
    seen: set[int] = set()
    experiences = []
    for index, group in enumerate(groups):
        overlap = seen.intersection(group)
        require(not overlap, "class_groups", f"class(es) {sorted(overlap)} appear twice")
        seen.update(group)
        classes = torch.tensor(group)
        train = torch.isin(data.y_train, classes)
        test = torch.isin(data.y_test, classes)
        if not bool(train.any()) or not bool(test.any()):
            raise ConfigError(
                f"experience {index} (classes {group}) would be empty: the data has no "
                f"{'training' if not train.any() else 'test'} samples of these classes",
                field="class_groups",
            )
        experiences.append(
            Experience(
                index=index,
                classes=tuple(group),
                x_train=data.x_train[train],
                y_train=data.y_train[train],
                x_test=data.x_test[test],
                y_test=data.y_test[test],
                task=index if task_labels else None,
            )
        )
    return Stream(name, tuple(experiences), data.num_classes, data.input_shape)


def class_incremental(
    data: LabelledData,
    seed: int,
    *,
    experiences: int = 5,
    classes_per_experience: int | None = None,
) -> Stream:
    """Class-incremental learning: new classes per experience, no task label at any time."""
    groups = class_groups(data.num_classes, experiences, seed, classes_per_experience)
    return split(data, groups, task_labels=False, name=f"class-incremental {data.name}")


def task_incremental(
    data: LabelledData,
    seed: int,
    *,
    experiences: int = 5,
    classes_per_experience: int | None = None,
) -> Stream:
    """Task-incremental learning: like the class-incremental split, but the task label is given
    at training and test time, so the learner only chooses among the task's classes."""
    groups = class_groups(data.num_classes, experiences, seed, classes_per_experience)
    return split(data, groups, task_labels=True, name=f"task-incremental {data.name}")
