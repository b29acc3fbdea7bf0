"""What a run costs: floating-point operations per phase, synaptic operations of spiking sleep,
synaptic updates, peak memory, and an energy *estimate*.

FLOPs come from the torch ops that actually run (``torch.utils.flop_counter.FlopCounterMode``,
which counts matrix products and convolutions, 2 FLOPs per multiply-accumulate; elementwise work
is not counted). They are counted ONCE per run on probe batches, on copies of the learner and
components (so nothing real changes), and multiplied by how often each thing happened:

- training: FLOPs per trained sample of one training step (every component's step hooks
  included, in their state after the last experience) × samples trained on;
- evaluation: FLOPs per prediction × test samples predicted (every anytime point and the
  untrained baseline);
- consolidation and sleep: what each component reports for itself (``Component.cost``): by
  default its ``after_experience`` (Fisher, importances, old-model copies) on the last experience
  × the number of experiences; the spiking sleep as synaptic operations (SynOps, NeuroBench) and
  STDP updates; replay sleep as training FLOPs per replayed sample × replayed samples.

Energy is an ESTIMATE, not a measurement: 4.6 pJ per 32-bit float multiply-accumulate and
0.9 pJ per accumulate (one SynOp), the 45 nm figures of Horowitz (ISSCC 2014) that NeuroBench
(Yik et al. 2024) uses; memory traffic, which dominates real hardware, is ignored.
"""

from __future__ import annotations

import copy
import resource
import sys
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from continual.components.base import COST_KEYS, Batch, Component, CostProbe
from continual.flops import count_flops
from continual.learners.base import Learner
from continual.scenarios.experience import Experience
from continual.strategy import Strategy

PICOJOULES_PER_MAC = 4.6  # 32-bit float multiply (3.7 pJ) + add (0.9 pJ), 45 nm, Horowitz 2014
PICOJOULES_PER_SYNOP = 0.9  # 32-bit float add (an accumulate), 45 nm, Horowitz 2014
ENERGY_ASSUMPTION = (
    "estimate, not a measurement: 4.6 pJ per multiply-accumulate (2 FLOPs) and 0.9 pJ per "
    "synaptic operation, 45 nm figures of Horowitz (ISSCC 2014) as used by NeuroBench; "
    "memory traffic ignored"
)
PROBE_SIZE = 32


def flops_per_sample(
    learner: Learner, x: Tensor, y: Tensor, task: Tensor | None
) -> dict[str, float]:
    """FLOPs per sample of one training step and of one prediction, measured on a copy of the
    learner (so the real one is not updated)."""
    probe = copy.deepcopy(learner)
    train = count_flops(probe.observe, x, y, task) / len(x)
    with torch.inference_mode():
        test = count_flops(probe.scores, x, task) / len(x)
    return {"flops_per_train_sample": train, "flops_per_test_sample": test}


def learner_flops(learner: Learner, experience: Experience) -> dict[str, float]:
    """:func:`flops_per_sample` of ``learner`` on the probe batch of ``experience``."""
    batch = probe_batch(experience)
    return flops_per_sample(learner, batch.x, batch.y, batch.task)


def probe_batch(experience: Experience) -> Batch:
    """The batch every FLOP count runs on: the experience's first ``PROBE_SIZE`` samples."""
    index = torch.arange(min(PROBE_SIZE, experience.train_size), device=experience.y_train.device)
    return Batch(*experience.batch(index))


def strategy_step(
    learner: Learner,
    components: Sequence[Component],
    experience: Experience,
    learner_train_flops: float | None = None,
) -> tuple[float, int]:
    """(FLOPs per trained sample, synapses with a non-zero update) of one training step as the
    training loop takes it, on copies of ``learner`` and ``components``. Without components the
    step is the learner's own ``observe`` on the same probe batch, whose FLOPs per sample
    ``learner_train_flops`` (:func:`learner_flops`) already counted: the step then runs without
    the FLOP counter (the same number, counted once)."""
    learner, components = copy.deepcopy((learner, list(components)))
    step = Strategy(learner, components)  # the training loop's own step
    trained: list[Batch] = []
    if components or learner_train_flops is None:
        flops = count_flops(lambda: trained.append(step.train_step(probe_batch(experience))[0]))
        flops /= len(trained[0].y)
    else:
        trained.append(step.train_step(probe_batch(experience))[0])
        flops = learner_train_flops
    grads = [p.grad for p in learner.parameters() if p.grad is not None]
    updated = int(sum((g != 0).sum() for g in grads)) if grads else 0  # one host sync
    return flops, updated


def component_costs(
    learner: Learner, components: Sequence[Component], probe: CostProbe
) -> dict[str, float]:
    """The sum over ``components`` of what each reports for itself (:meth:`Component.cost`),
    every key of :data:`~continual.components.base.COST_KEYS` present (0 where none reports)."""
    totals = dict.fromkeys(COST_KEYS, 0.0)
    for component in components:
        for key, value in component.cost(learner, probe).items():
            totals[key] += value
    return totals


def energy_joules(flops: float, synops: float) -> float:
    """The energy ESTIMATE in joules: FLOPs / 2 MACs at 4.6 pJ plus SynOps at 0.9 pJ (45 nm,
    Horowitz 2014, as NeuroBench); memory traffic ignored."""
    return (flops / 2 * PICOJOULES_PER_MAC + synops * PICOJOULES_PER_SYNOP) * 1e-12


def reset_memory_peak(device: str) -> None:
    """Start the CUDA allocator's peak afresh for this run (process RSS peaks cannot be reset)."""
    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats(device)


def memory_peaks(device: str) -> dict[str, float | None]:
    """Peak resident set size of the process so far (MiB, ``getrusage``; it never decreases, so
    with several runs in one process it is the largest so far) and the CUDA allocator's peak
    since :func:`reset_memory_peak` (MiB; None off CUDA)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mib = rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes on macOS, KiB else
    cuda = None
    if device.startswith("cuda") and torch.cuda.is_available():
        cuda = torch.cuda.max_memory_allocated(device) / 2**20
    return {"peak_rss_mib": rss_mib, "peak_cuda_mib": cuda}


def run_cost(
    learner: Learner,
    components: Sequence[Component],
    last: Experience,
    *,
    train_steps: int,
    train_samples: int,
    experiences: int,
    predictions: int,
    device: str,
    per_sample: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The result document's ``cost``: counts, FLOPs per phase, SynOps, synaptic updates and the
    labelled energy estimate, probed once at the end of a run on ``last`` (deterministic; the
    memory peaks, which are not, are :func:`memory_peaks`). ``per_sample``: the learner's
    :func:`learner_flops` when already counted for this architecture."""
    per_sample = per_sample or learner_flops(learner, last)
    train_per_sample, updated_per_step = strategy_step(
        learner, components, last, per_sample["flops_per_train_sample"]
    )
    probe = CostProbe(last, experiences, per_sample["flops_per_train_sample"])
    parts = component_costs(learner, components, probe)
    flops = {
        "train": train_per_sample * train_samples,
        "eval": per_sample["flops_per_test_sample"] * predictions,
        "consolidation": parts["consolidation_flops"],
        "sleep": parts["sleep_flops"],
    }
    total = sum(flops.values())
    return {
        "train_steps": train_steps,
        "train_samples": train_samples,
        **per_sample,
        "flops": flops,
        "flops_total": total,
        "sleep_synops": parts["sleep_synops"],
        "synaptic_updates": updated_per_step * train_steps + parts["sleep_synaptic_updates"],
        "energy_estimate_joules": energy_joules(total, parts["sleep_synops"]),
        "energy_assumption": ENERGY_ASSUMPTION,
    }
