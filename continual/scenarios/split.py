"""Class- and task-incremental splits: each experience holds a disjoint group of classes
(van de Ven, Tuytelaars & Tolias 2022, "Three types of incremental learning")."""

from __future__ import annotations

import torch
from torch import Tensor

from continual.errors import ConfigError, require
from continual.ranges import Count, Experiences, Label, checked
from continual.scenarios.experience import Experience, LabelledData, Stream


def seeded_groups(
    num_classes: int, experiences: int, seed: int, classes_per_experience: Count | None = None
) -> list[list[int]]:
    """A seeded random class order cut into ``experiences`` groups (equal sizes by default);
    the generators that call it have checked each setting's range."""
    per = classes_per_experience or num_classes // experiences
    require(  # a rule between the settings and the data
        per >= 1 and per * experiences <= num_classes,
        "experiences",
        f"{experiences} experiences of {max(per, 1)} classes need {max(per, 1) * experiences} "
        f"classes, but the data has {num_classes}",
    )
    order = torch.randperm(num_classes, generator=torch.Generator().manual_seed(seed)).tolist()
    return [sorted(order[i * per : (i + 1) * per]) for i in range(experiences)]


def subsample(index: Tensor, limit: int | None, generator: torch.Generator) -> Tensor:
    """At most ``limit`` of ``index``, chosen at random (all of them when ``limit`` is None)."""
    if limit is None or limit >= len(index):
        return index
    return index[torch.randperm(len(index), generator=generator)[:limit]].sort().values


def split(
    data: LabelledData,
    groups: list[list[int]],
    task_labels: bool,
    name: str,
    seed: int = 0,
    samples_per_experience: Count | None = None,
    remap_labels: bool = False,
) -> Stream:
    """Cut ``data`` into one experience per class group (the generators that call it have
    checked each setting's range; the groups are checked against the data here)."""
    present = set(data.y_train.unique().tolist())
    seen: set[int] = set()
    generator = torch.Generator().manual_seed(seed)
    experiences = []
    for index, group in enumerate(groups):
        overlap = seen.intersection(group)
        require(not overlap, "class_groups", f"class(es) {sorted(overlap)} appear twice")
        unknown = sorted(set(group) - present)
        require(not unknown, "class_groups", f"class(es) {unknown} are not in the data")
        seen.update(group)
        classes = torch.tensor(group)
        train = subsample(
            torch.isin(data.y_train, classes).nonzero().squeeze(1),
            samples_per_experience,
            generator,
        )
        test = torch.isin(data.y_test, classes).nonzero().squeeze(1)
        if len(train) == 0 or len(test) == 0:
            raise ConfigError(
                f"experience {index} (classes {group}) would be empty: the data has no "
                f"{'training' if len(train) == 0 else 'test'} samples of these classes",
                field="class_groups",
            )
        y_train, y_test, labels = data.y_train[train], data.y_test[test], tuple(group)
        if remap_labels:  # every task's classes become 0..k-1 (a shared multi-head output)
            lookup = torch.full((int(classes.max()) + 1,), -1, dtype=torch.long)
            lookup[classes] = torch.arange(len(group))
            y_train, y_test, labels = lookup[y_train], lookup[y_test], tuple(range(len(group)))
        experiences.append(
            Experience(
                index=index,
                classes=labels,
                x_train=data.x_train[train],
                y_train=y_train,
                x_test=data.x_test[test],
                y_test=y_test,
                task=index if task_labels else None,
            )
        )
    num_classes = max(len(g) for g in groups) if remap_labels else data.num_classes
    return Stream(name, tuple(experiences), num_classes, data.input_shape)


@checked
def class_incremental(
    data: LabelledData,
    seed: int,
    *,
    experiences: Experiences = 5,
    classes_per_experience: Count | None = None,
    class_groups: list[list[Label]] | None = None,
    samples_per_experience: Count | None = None,
) -> Stream:
    """Class-incremental learning: new classes per experience, no task label at any time.
    ``class_groups`` (in a spec) fixes the groups explicitly instead of a seeded order."""
    groups = class_groups or seeded_groups(
        data.num_classes, experiences, seed, classes_per_experience
    )
    return split(
        data, groups, False, f"class-incremental {data.name}", seed, samples_per_experience
    )


@checked
def task_incremental(
    data: LabelledData,
    seed: int,
    *,
    experiences: Experiences = 5,
    classes_per_experience: Count | None = None,
    class_groups: list[list[Label]] | None = None,
    samples_per_experience: Count | None = None,
    remap_labels: bool = False,
) -> Stream:
    """Task-incremental learning: like the class-incremental split, but the task label is given
    at training and test time, so the learner only chooses among the task's classes. With
    ``remap_labels`` each task's classes are renumbered 0..k−1 (one shared output head)."""
    groups = class_groups or seeded_groups(
        data.num_classes, experiences, seed, classes_per_experience
    )
    return split(
        data,
        groups,
        True,
        f"task-incremental {data.name}",
        seed,
        samples_per_experience,
        remap_labels,
    )
