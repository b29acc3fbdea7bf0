"""Task-free (online) streams: small batches whose class distribution drifts from one underlying
task to the next with blurry boundaries, each sample seen once, no boundaries announced
(Aljundi, Kelchtermans & Tuytelaars 2019, "Task-free continual learning"; the blurry boundary after
Bang et al. 2021 / Koh et al. 2022).

Each training sample of underlying task k gets a time t = k + U(0, 1) + U(−w/2, w/2); the stream
is all samples in order of t. With blur w = 0 the tasks follow each other sharply; with w > 0
the share of task k + 1 rises linearly from 0 to 1 over a window of width w around the boundary
(the density of a sum of two uniforms is a trapezoid). The underlying tasks stay available for
evaluation: the accuracy matrix's rows are taken when each task has stopped appearing.
"""

from __future__ import annotations

import torch

from continual.ranges import Count, Experiences, Fraction, checked
from continual.scenarios.experience import LabelledData, OnlineSchedule, Stream
from continual.scenarios.split import class_incremental


@checked
def task_free(
    data: LabelledData,
    seed: int,
    *,
    experiences: Experiences = 5,
    classes_per_experience: Count | None = None,
    blur: Fraction = 0.5,
    samples_per_experience: Count | None = None,
    boundaries: bool = False,
) -> Stream:
    """A drifting online stream over a class-incremental split (see the module docstring).
    With ``boundaries`` the strategy is told where each task ends: the same single pass, cut
    into one chunk per task, so components' ``after_experience`` hooks (sleep, consolidation)
    run there."""
    tasks = class_incremental(
        data,
        seed,
        experiences=experiences,
        classes_per_experience=classes_per_experience,
        samples_per_experience=samples_per_experience,
    )
    generator = torch.Generator().manual_seed(seed + 2)
    times = torch.cat(
        [
            k
            + torch.rand(e.train_size, generator=generator)
            + blur * (torch.rand(e.train_size, generator=generator) - 0.5)
            for k, e in enumerate(tasks)
        ]
    )
    order = times.argsort()
    ordered = times[order]
    # task k has stopped appearing once t passes k + 1 + w/2 (the last task: the stream's end)
    ends = [int((ordered < k + 1 + blur / 2).sum()) for k in range(len(tasks) - 1)]
    ends.append(len(order))
    return Stream(
        f"task-free {data.name}",
        tasks.experiences,
        tasks.num_classes,
        tasks.input_shape,
        online=OnlineSchedule(order, tuple(ends), boundaries),
    )
