"""What a run costs: floating-point operations per phase, synaptic operations of spiking sleep,
synaptic updates, peak memory, and an energy *estimate*.

FLOPs come from the torch ops that actually run (``torch.utils.flop_counter.FlopCounterMode``,
which counts matrix products and convolutions, 2 FLOPs per multiply-accumulate; elementwise work
is not counted). They are counted ONCE per run on probe batches, on copies of the learner and
components (so nothing real changes), and multiplied by how often each thing happened:

- training: FLOPs per trained sample of one step (components' ``transform_batch`` and
  ``adjust_update`` included, in their state after the last experience) × samples trained on;
- evaluation: FLOPs per prediction × test samples predicted (every anytime point and the
  untrained baseline);
- consolidation: each non-sleep component's ``after_experience`` (Fisher, importances, old-model
  copies) on the last experience × the number of experiences;
- sleep: the spiking sleep as synaptic operations (SynOps, NeuroBench: a spike of layer l reaches
  fan-out(l + 1) synapses; an input spike reaches fan-out(0)), replay sleep as training FLOPs per
  replayed sample × replayed samples.

Energy is an ESTIMATE, not a measurement: 4.6 pJ per 32-bit float multiply-accumulate and
0.9 pJ per accumulate (one SynOp), the 45 nm figures of Horowitz (ISSCC 2014) that NeuroBench
(Yik et al. 2024) uses; memory traffic, which dominates real hardware, is ignored.
"""

from __future__ import annotations

import copy
import resource
import sys
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from continual.components.base import Batch, Component
from continual.learners.base import Learner
from continual.scenarios.experience import Experience
from continual.sleep.replay_sleep import ReplaySleep
from continual.sleep.spiking import SpikingSleep
from continual.strategy import Strategy

PICOJOULES_PER_MAC = 4.6  # 32-bit float multiply (3.7 pJ) + add (0.9 pJ), 45 nm, Horowitz 2014
PICOJOULES_PER_SYNOP = 0.9  # 32-bit float add (an accumulate), 45 nm, Horowitz 2014
ENERGY_ASSUMPTION = (
    "estimate, not a measurement: 4.6 pJ per multiply-accumulate (2 FLOPs) and 0.9 pJ per "
    "synaptic operation, 45 nm figures of Horowitz (ISSCC 2014) as used by NeuroBench; "
    "memory traffic ignored"
)
PROBE_SIZE = 32


def count_flops(function: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """FLOPs of one call of ``function`` (matrix products and convolutions only)."""
    with FlopCounterMode(display=False) as counter:
        function(*args, **kwargs)
    return float(counter.get_total_flops())


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
    learner: Learner, components: Sequence[Component], experience: Experience
) -> tuple[float, int]:
    """(FLOPs per trained sample, synapses with a non-zero update) of one training step as the
    training loop takes it, on copies of ``learner`` and ``components``."""
    learner, components = copy.deepcopy((learner, list(components)))
    step = Strategy(learner, components)  # the training loop's own step
    trained: list[Batch] = []
    flops = count_flops(lambda: trained.append(step.learn(probe_batch(experience))[0]))
    grads = [p.grad for p in learner.parameters() if p.grad is not None]
    updated = int(sum((g != 0).sum() for g in grads)) if grads else 0  # one host sync
    return flops / len(trained[0].y), updated


def consolidation_flops(
    learner: Learner, components: Sequence[Component], experience: Experience
) -> float:
    """FLOPs of the non-sleep components' ``after_experience`` on ``experience`` (copies)."""
    total = 0.0
    for component in components:
        if isinstance(component, (SpikingSleep, ReplaySleep)):
            continue
        model, probe = copy.deepcopy((learner, component))
        total += count_flops(probe.after_experience, model, experience)
    return total


def synaptic_operations(
    input_spikes: int, layer_spikes: Sequence[int], fan_outs: Sequence[int]
) -> int:
    """SynOps of a spiking phase (NeuroBench): each input spike reaches ``fan_outs[0]`` synapses,
    each spike of layer l reaches ``fan_outs[l + 1]``; the last layer's spikes reach none."""
    synops = input_spikes * fan_outs[0]
    for spikes, fan_out in zip(layer_spikes[:-1], fan_outs[1:]):
        synops += spikes * fan_out
    return int(synops)


def sleep_cost(
    learner: Learner, components: Sequence[Component], train_flops_per_sample: float
) -> dict[str, float]:
    """Sleep SynOps and STDP synaptic updates (a spike of layer l updates the fan-in(l) synapses
    into it) of spiking sleep, and training FLOPs of replay sleep."""
    synops = updates = flops = 0.0
    for component in components:
        if isinstance(component, SpikingSleep) and component.layer_spikes:
            layers = learner.sleep_layers()
            fan_outs = [layer.out_features for layer in layers]
            synops += synaptic_operations(
                component.totals["input_spikes"], component.layer_spikes, fan_outs
            )
            updates += sum(
                s * layer.in_features for s, layer in zip(component.layer_spikes, layers)
            )
        elif isinstance(component, ReplaySleep):
            flops += component.total_steps * component.batch_size * train_flops_per_sample
    return {"sleep_synops": synops, "sleep_synaptic_updates": updates, "sleep_flops": flops}


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
    train_per_sample, updated_per_step = strategy_step(learner, components, last)
    sleep = sleep_cost(learner, components, per_sample["flops_per_train_sample"])
    flops = {
        "train": train_per_sample * train_samples,
        "eval": per_sample["flops_per_test_sample"] * predictions,
        "consolidation": consolidation_flops(learner, components, last) * experiences,
        "sleep": sleep["sleep_flops"],
    }
    total = sum(flops.values())
    return {
        "train_steps": train_steps,
        "train_samples": train_samples,
        **per_sample,
        "flops": flops,
        "flops_total": total,
        "sleep_synops": sleep["sleep_synops"],
        "synaptic_updates": updated_per_step * train_steps + sleep["sleep_synaptic_updates"],
        "energy_estimate_joules": energy_joules(total, sleep["sleep_synops"]),
        "energy_assumption": ENERGY_ASSUMPTION,
    }
