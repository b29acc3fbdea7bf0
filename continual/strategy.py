"""A strategy is one learner plus a list of components, trained by the one training step of the
library (:meth:`Strategy.train_step`), on an experience's batches and on the batches of the
components' offline phases alike."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

import torch
from torch import Tensor

from continual.components.base import (
    Batch,
    Component,
    check_components,
    extra_losses,
    overrides,
    seed_components,
)
from continual.errors import ContinualError, Diverged
from continual.learners.base import Learner
from continual.ranges import BatchSize, Count, Epochs, checked
from continual.scenarios.experience import Experience

StepCallback = Callable[[int], None]
CHECK_EVERY = 50  # steps between reading the on-device divergence flag (one sync each)


class Strategy:
    """Train ``learner`` on one experience at a time, calling each component's hooks.

    Training runs for ``epochs`` passes over the experience, or exactly ``steps`` batches when
    ``steps`` is given (van de Ven et al. count iterations). Batches are index slices of the
    experience's tensors, shuffled by a generator seeded with ``seed`` (or in stored order with
    ``shuffle = False``, as task-free streams need). The components draw their random numbers
    from seeds derived from ``seed`` too (:func:`~continual.components.base.seed_components`).

    After each component's ``after_experience``, the batches of its offline phase
    (``offline_batches``, replay sleep's) go through the same :meth:`train_step`, so every
    component's step hooks, the divergence check and the counts ``offline_steps`` /
    ``offline_samples`` see them; ``step`` and ``samples_seen`` count the experiences' own
    batches (the anytime curves' axis).

    The batch plan of an experience is data: the generator's state when the experience started
    and the number of batches taken since (``batch``). Every epoch order is drawn from that state,
    so :meth:`state_dict` at any step and ``train_experience(..., resume=True)`` after
    :meth:`load_state_dict` continue with exactly the batches and random draws an uninterrupted
    run takes.
    """

    @checked
    def __init__(
        self,
        learner: Learner,
        components: Sequence[Component] = (),
        *,
        epochs: Epochs = 1,
        batch_size: BatchSize = 32,
        steps: Count | None = None,
        seed: int = 0,
        shuffle: bool = True,
    ):
        check_components(learner, components)
        self.learner = learner
        self.components = list(components)
        seed_components(self.components, seed)
        self.epochs, self.batch_size, self.steps, self.shuffle = epochs, batch_size, steps, shuffle
        self.generator = torch.Generator().manual_seed(seed)
        self.experience_rng = self.generator.get_state()  # the generator as the experience began
        self.batch = 0  # batches taken in the current experience
        self.step = 0
        self.samples_seen = 0
        self.offline_steps = 0  # steps of the components' offline phases (replay sleep)
        self.offline_samples = 0
        self.timings: dict[str, float] = defaultdict(float)
        # the per-step statistic totals since the last divergence check, on the device
        self.watched: Tensor | None = None
        self.watched_steps: list[tuple[int, str]] = []  # (step, where) of each watched total
        self.before_stepping = [c for c in self.components if overrides(c, "before_step")]
        self.adding_loss = [c for c in self.components if overrides(c, "extra_loss")]

    def train_experience(
        self, experience: Experience, on_step: StepCallback | None = None, *, resume: bool = False
    ) -> None:
        """The training loop: hooks before, batches through :meth:`train_step`, hooks after
        (each component's ``after_experience`` followed by its offline batches).

        ``resume`` continues an experience interrupted after ``batch`` batches (state restored by
        :meth:`load_state_dict`): the before-hooks already ran, the epoch orders are drawn again
        from the experience's starting generator state and the batches already taken skipped."""
        learner = self.learner
        self._register_tasks(experience)
        if resume:
            self.generator.set_state(self.experience_rng)
        else:
            self.experience_rng, self.batch = self.generator.get_state(), 0
            for component in self.components:
                self._timed(
                    f"before_experience:{component.name}",
                    component.before_experience,
                    learner,
                    experience,
                )
        device = experience.y_train.device
        start = time.perf_counter()
        for index in self._batches(experience.train_size, skip=self.batch):
            batch, stats = self.train_step(Batch(*experience.batch(index.to(device))))
            self.step += 1
            self._watch(stats, experience, self.step)
            self.batch += 1
            self.samples_seen += len(batch.y)
            if on_step is not None:
                self.timings["train"] += time.perf_counter() - start
                on_step(self.step)
                start = time.perf_counter()
        self.timings["train"] += time.perf_counter() - start
        self._raise_if_diverged(experience)
        self._check_finite(experience, "in training")
        for component in self.components:
            self._timed(component.name, self._after_experience, component, experience)
            self._check_finite(experience, f"after {component.name}")

    def _after_experience(self, component: Component, experience: Experience) -> None:
        """``component``'s after-experience hook, then its offline batches through the one
        training step (checked for divergence like the experience's own)."""
        component.after_experience(self.learner, experience)
        for number, batch in enumerate(component.offline_batches(self.learner, experience), 1):
            trained, stats = self.train_step(batch)
            self.offline_steps += 1
            self.offline_samples += len(trained.y)
            where = f" (offline batch {number} of {component.name})"
            self._watch(stats, experience, self.step, where, periodic=False)
        self._raise_if_diverged(experience)

    def train_step(self, batch: Batch) -> tuple[Batch, dict[str, Tensor]]:
        """The one training step of the library: components transform the batch; the learner
        computes its update with its rule (components' extra losses joining a global loss);
        components' ``before_step`` hooks read or change it; the optimiser applies it;
        components' ``after_step`` hooks act on the weights. Returns the batch trained on and
        the learner's statistics."""
        learner = self.learner
        for component in self.components:
            batch = component.transform_batch(learner, batch)
        before = partial(self._before_step, batch=batch) if self.before_stepping else None
        extra = partial(self._extra_loss, batch=batch) if self.adding_loss else None
        stats = learner.observe(
            batch.x,
            batch.y,
            batch.task,
            before_step=before,
            extra_loss=extra,
            negative_only=batch.negative_only,
        )
        for component in self.components:
            component.after_step(learner, batch)
        return batch, stats

    def _extra_loss(self, outputs: Tensor, batch: Batch) -> Tensor | None:
        return extra_losses(self.adding_loss, self.learner, batch, outputs)

    def _before_step(self, learner: Learner, batch: Batch) -> None:
        for component in self.before_stepping:
            component.before_step(learner, batch)

    def _watch(
        self,
        stats: dict[str, Tensor],
        experience: Experience,
        step: int,
        where: str = "",
        periodic: bool = True,
    ) -> None:
        """Keep this step's statistics total (the loss or error the learner computed anyway) on
        the device, without a sync; every ``CHECK_EVERY`` steps (``periodic``) or totals read
        them at once and raise at the first step whose total is not finite."""
        if stats:
            values = [v.detach().float() for v in stats.values()]
            total = values[0] if len(values) == 1 else torch.stack([v.sum() for v in values])
            if self.watched is None or self.watched.device != total.device:
                self.watched = torch.zeros(CHECK_EVERY, device=total.device)
            self.watched[len(self.watched_steps)] = total.sum() if total.dim() else total
            self.watched_steps.append((step, where))
        if (periodic and step % CHECK_EVERY == 0) or len(self.watched_steps) == CHECK_EVERY:
            self._raise_if_diverged(experience)

    def _raise_if_diverged(self, experience: Experience) -> None:
        steps, self.watched_steps = self.watched_steps, []
        if not steps or self.watched is None:
            return
        finite = torch.isfinite(self.watched[: len(steps)])
        if bool(finite.all()):
            return
        step, where = steps[int((~finite).nonzero()[0, 0])]
        raise Diverged(
            f"experience {experience.index}, step {step}{where}: the learner's loss or error is "
            f"not finite ({self._hint()})",
            experience.index,
            step,
        )

    def _check_finite(self, experience: Experience, phase: str) -> None:
        for name, p in self.learner.named_parameters():
            if not bool(torch.isfinite(p).all()):
                raise Diverged(
                    f"experience {experience.index}, step {self.step}: {name} is not finite "
                    f"{phase} ({self._hint()})",
                    experience.index,
                    self.step,
                )

    def _hint(self) -> str:
        names = "+".join(c.name for c in self.components) or "none"
        return (
            f"components: {names}; lower the learning rate, the consolidation strength or "
            "the sleep's input_scale in a strategy file (LEARNER+COMPONENT uses defaults)"
        )

    def _batches(self, size: int, skip: int = 0) -> Iterator[Tensor]:
        """Shuffled index batches: ``epochs`` passes, or ``steps`` batches over as many passes;
        the first ``skip`` are drawn (so the generator advances the same) but not yielded."""
        total = self.steps_per_experience(size)
        produced = 0
        while produced < total:
            order = (
                torch.randperm(size, generator=self.generator)
                if self.shuffle
                else torch.arange(size)
            )
            for index in order.split(self.batch_size):
                if produced == total:
                    return
                produced += 1
                if produced > skip:
                    yield index

    def steps_per_experience(self, size: int) -> int:
        """How many batches :meth:`train_experience` takes on an experience of ``size`` samples."""
        return self.steps if self.steps is not None else self.epochs * -(-size // self.batch_size)

    def state_dict(self) -> dict[str, Any]:
        """Learner (with its optimiser), components, generator, batch plan position and
        counters: tensors and plain data only."""
        return {
            "learner": self.learner.state_dict(),
            "components": [c.state_dict() for c in self.components],
            "generator": self.generator.get_state(),
            "experience_rng": self.experience_rng,
            "batch": self.batch,
            "step": self.step,
            "samples_seen": self.samples_seen,
            "offline_steps": self.offline_steps,
            "offline_samples": self.offline_samples,
            "timings": dict(self.timings),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (into a strategy built from the same spec)."""
        if len(state["components"]) != len(self.components):
            raise ContinualError(
                f"checkpoint has {len(state['components'])} components, the strategy "
                f"{len(self.components)}: it belongs to another strategy"
            )
        self.learner.load_state_dict(state["learner"])
        for component, component_state in zip(self.components, state["components"]):
            component.load_state_dict(component_state)
        self.generator.set_state(state["generator"])
        self.experience_rng = state["experience_rng"]
        self.batch, self.step = state["batch"], state["step"]
        self.samples_seen = state["samples_seen"]
        self.offline_steps = state.get("offline_steps", 0)  # absent from older checkpoints
        self.offline_samples = state.get("offline_samples", 0)
        self.timings = defaultdict(float, state["timings"])

    def _register_tasks(self, experience: Experience) -> None:
        if experience.train_task is not None:
            for task in experience.train_task.unique().tolist():
                labels = experience.y_train[experience.train_task == task].unique()
                self.learner.add_task(task, labels.tolist())
        elif experience.task is not None:
            self.learner.add_task(experience.task, experience.classes)

    def _timed(self, phase: str, hook: Callable[..., None], *args: object) -> None:
        start = time.perf_counter()
        hook(*args)
        self.timings[phase] += time.perf_counter() - start
