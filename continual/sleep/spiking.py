"""Spiking sleep after Sleep Replay Consolidation, SRC (Tadros, Krishnan, Ramyaa & Bazhenov
2022, Nature Communications, "Sleep-like unsupervised replay reduces catastrophic forgetting in
artificial neural networks").

After an experience, the learner's chain of linear layers (biases ignored) runs as a network of
non-leaky-reset integrate-and-fire neurons. Input spikes are Bernoulli/Poisson with rates from
the mean input of all data seen so far, shown through a random square patch each step (the
original's masked input). Each layer's synaptic input is scaled by a data-based factor
(Diehl et al. 2015's normalisation: the largest of the maximum positive weight and the maximum
activation, relative to the layer below) times ``alpha_scale``:

    v_l ← decay · v_l + α_l · W_l s_{l−1};   s_l = [v_l ≥ β_l];   v_l ← 0 where s_l = 1

and an STDP-like rule changes the weights into every neuron that spikes: synapses from
presynaptic neurons that spiked grow by inc·B(w), those from silent ones shrink by dec·B(w),
with the reference's bound B(w) = 2·(1 − 1/(1 + exp(−w/0.001))) (large for negative and
near-zero weights, ≈ 0 above ~+0.005).

Every default is the reference MATLAB's (github.com/tmtadros/SleepReplayConsolidation):
the bound and its scale 0.001 (``sleep/sleepnn_old.m``, its local ``sigmoid``); the input spike
probability mean·2·dt·max_rate (``sleepnn_old.m``: ``rand·(1/(dt·max_rate))/2 <= input``);
max rate 239.515363, inc 0.032064, dec 0.003344, β = 14.548273, 44.560317, 38.046326 (× the
threshold 1.0), α-scale 55.882454, decay 0.999, dt 0.001 and 15000 + 5000·(experience − 1)
steps (``MNIST/run_class_task_summary.m``: ``x = [...]``, ``sleep_period``); the patch
``x:x+10`` = 11×11 pixels of 28×28 with its corner drawn from 18 positions
(``utils/create_masked_input.m`` called with ``mask_size = 10``), scaled to other image sides
as round(side·11/28) (3×3 on 8×8 digits); the scales max(max positive weight, max ReLU
activation) per layer relative to the layer below (``utils/normalize_nn_data.m``).

Deviations, each an option: by default sleep stores no samples, so the max activations are a
running maximum over the data seen, each taken with the weights of its time, where the reference
recomputes them with the current weights on all data seen (``max_activation = "recompute"``
does that, and so stores the inputs); the input mean is a running mean (exact). Biases,
normalisations and non-ReLU activations of a learner are not part of the spiking network: each
learner says what sleep ignores (``sleep_conversion``) and sleep warns once.
``target_rate`` calibrates the input drive to a firing rate instead of using the fixed scale.
``homeostasis`` (off by default) lets each layer's threshold fall while the layer is silent
(:func:`homeostatic_factors`); with SRC's network and protocol on MNIST it kept more neurons
firing but did not help (docs/components.md). The patch needs the image shape: the data's own,
or ``image_shape`` for flat inputs (without it, a flat input gets a random pixel mask and a
warning).

Sleep needs a learner with a feed-forward chain
(:class:`~continual.learners.abilities.Sleepable`). It stays a phase inside ``after_experience``
rather than batches handed to the training step (as replay sleep's are): its plasticity is STDP
written into the weights from spike coincidences, not an update in ``p.grad`` that the
optimiser applies, and it sees no labelled batch, so there is nothing for the other components'
step hooks to read (SI's path integral, the proximal pull) nor an optimiser step for them to
follow. Consolidation sees sleep's weight changes at the next experience, as before.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import torch
from torch import Tensor, nn

from continual.components.base import Component, CostProbe
from continual.errors import ContinualError, require
from continual.learners.abilities import Sleepable
from continual.learners.base import Learner
from continual.limits import MAX_COUNT
from continual.ranges import Count, NonNegative, Positive, Range, Width, checked
from continual.scenarios.experience import Experience


@dataclass
class SleepStatistics:
    """What sleep may know about the data: no samples, only summaries of those seen so far."""

    input_mean: Tensor  # mean first-layer input
    image_shape: tuple[int, ...]  # shape of the raw inputs (for patch masks)
    max_activation: list[float]  # per layer, the largest ReLU activation on the data
    count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_mean": self.input_mean,
            "image_shape": list(self.image_shape),
            "max_activation": list(self.max_activation),
            "count": self.count,
        }


@dataclass
class SleepReport:
    steps: int = 0
    input_spikes: int = 0
    spikes: list[int] = field(default_factory=list)  # per layer, over the whole phase
    # per layer, the spikes of each window of WINDOW steps (the last one may be shorter)
    spikes_per_window: list[list[int]] = field(default_factory=list)
    threshold_factors: list[float] = field(default_factory=list)  # homeostasis's, at the end


WINDOW = 1000  # steps per window of the spike counts (and of homeostasis's adjustments)


def plasticity_bound(weight: Tensor, scale: float = 0.001) -> Tensor:
    """The reference's weight-dependent factor 2·(1 − 1/(1 + exp(−w/scale))) = 2·σ(−w/scale)
    (``sleepnn_old.m``, its local ``sigmoid`` with scale 0.001): 2 for very negative weights, 1 at
    w = 0, ≈ 0 for w ≫ scale."""
    return 2.0 * torch.sigmoid(-weight / scale)


def stdp(weight: Tensor, pre: Tensor, inc: float, dec: float, scale: float = 0.001) -> Tensor:
    """The SRC weight change for the rows of neurons that spiked: + inc·B(w) where the
    presynaptic neuron spiked, − dec·B(w) where it was silent (B: :func:`plasticity_bound`)."""
    bound = plasticity_bound(weight, scale)
    return torch.where(pre.bool()[None, :], inc * bound, -dec * bound)


def data_based_scales(weights: list[Tensor], max_activation: list[float]) -> list[float]:
    """Per-layer input scale after the data-based normalisation of ANN-to-SNN conversion."""
    factors, previous = [], 1.0
    for weight, activation in zip(weights, max_activation):
        scale = max(float(weight.clamp_min(0).max()), activation, 1e-12)
        applied = scale / previous
        factors.append(1.0 / applied)
        previous = applied
    return factors


def patch_masks(
    steps: int, shape: tuple[int, ...], fraction: float, width: int, generator: torch.Generator
) -> Tensor:
    """A random square patch (side round(``fraction`` × image side)) per step, as a (steps, width)
    0/1 mask over the first-layer input; features beyond the image (e.g. a label code) stay on.
    With fraction 11/28 on 28×28 this is the reference's ``x:x+10`` patch (11×11, 18 corners)."""
    pixels = math.prod(shape)
    mask = torch.ones(steps, width)
    if len(shape) >= 2:
        height, side = shape[-2], shape[-1]
        size = max(1, round(min(height, side) * fraction))
        top = torch.randint(0, height - size + 1, (steps,), generator=generator)
        left = torch.randint(0, side - size + 1, (steps,), generator=generator)
        rows = torch.arange(height)[None, :, None]
        cols = torch.arange(side)[None, None, :]
        inside = (
            (rows >= top[:, None, None])
            & (rows < top[:, None, None] + size)
            & (cols >= left[:, None, None])
            & (cols < left[:, None, None] + size)
        )
        image = inside.float()
        if len(shape) == 3:  # channels first
            image = image[:, None].expand(steps, shape[0], height, side)
        mask[:, :pixels] = image.reshape(steps, pixels)
    else:
        keep = torch.rand(steps, pixels, generator=generator) < fraction**2
        mask[:, :pixels] = keep.float()
    return mask


def input_spikes(
    steps: int,
    probability: Tensor,
    shape: tuple[int, ...],
    patch_fraction: float,
    generator: torch.Generator,
) -> Tensor:
    """The (steps, width) 0/1 input spikes of a sleep phase (on the CPU): Bernoulli with the
    given per-input ``probability`` each step, inside that step's random patch
    (:func:`patch_masks`), drawn from ``generator`` (masks first, then the draws)."""
    width = len(probability)
    mask = patch_masks(steps, shape, patch_fraction, width, generator)
    draws = torch.rand(steps, width, generator=generator)
    return ((draws < probability.cpu()) & (mask > 0)).float()


def spiking_sleep(
    weights: list[Tensor],
    statistics: SleepStatistics,
    steps: int,
    *,
    alpha_scale: float,
    thresholds: tuple[float, ...],
    decay: float,
    inc: float,
    dec: float,
    max_rate: float,
    dt: float,
    input_scale: float,
    patch_fraction: float,
    sigmoid_scale: float,
    generator: torch.Generator,
    output_spikes: Annotated[int, Range(0, MAX_COUNT)] = 0,
    plastic: bool = True,
    homeostasis: float = 0.0,
) -> SleepReport:
    """Run SRC's sleep on ``weights`` (modified in place) using only ``statistics``; with
    ``output_spikes > 0`` the phase ends early once the last layer has spiked that often; with
    ``plastic = False`` nothing is changed (a trial run that only counts spikes); with
    ``homeostasis`` = γ > 0 each layer's threshold adapts after every window (see
    :func:`homeostatic_factors`)."""
    device = weights[0].device
    alpha = [a * alpha_scale for a in data_based_scales(weights, statistics.max_activation)]
    probability = (statistics.input_mean.clamp_min(0) * 2 * dt * max_rate * input_scale).clamp_max(
        1
    )
    report = SleepReport(spikes=[0] * len(weights), spikes_per_window=[[] for _ in weights])
    potentials = [torch.zeros(w.shape[0], device=device) for w in weights]
    factors = [1.0] * len(weights)
    lowered = False  # a threshold fell at the window's start: check every layer once
    for start in range(0, steps, WINDOW):
        n = min(WINDOW, steps - start)
        window_start = list(report.spikes)
        levels = [threshold * factor for threshold, factor in zip(thresholds, factors)]
        shape = statistics.image_shape
        inputs = input_spikes(n, probability, shape, patch_fraction, generator).to(device)
        report.input_spikes += int(inputs.sum())
        ended = False
        for t in range(n):
            spikes: Tensor | None = inputs[t]
            for layer, weight in enumerate(weights):
                v = potentials[layer]
                v.mul_(decay)
                if spikes is None:  # a silent layer below: decay only, and no one can fire (a
                    if not (lowered and t == 0):  # potential below threshold only falls
                        continue  # towards 0 without input, unless the threshold fell)
                    spikes = torch.zeros(weight.shape[1], device=device)
                if spikes.any():
                    v.add_(alpha[layer] * (weight @ spikes))
                rows = (v >= levels[layer]).nonzero().squeeze(1)
                if not len(rows):
                    spikes = None
                    continue
                if plastic:
                    before = weight[rows]
                    weight[rows] = before + stdp(before, spikes, inc, dec, sigmoid_scale)
                v[rows] = 0.0
                report.spikes[layer] += len(rows)
                spikes = torch.zeros_like(v)
                spikes[rows] = 1.0
            if output_spikes and report.spikes[-1] >= output_spikes:
                n, ended = t + 1, True
                break
        report.steps += n
        for layer, (after, earlier) in enumerate(zip(report.spikes, window_start)):
            report.spikes_per_window[layer].append(after - earlier)
        if ended:
            break
        if homeostasis:
            counts = [window[-1] for window in report.spikes_per_window]
            targets = [window[0] for window in report.spikes_per_window]
            updated = homeostatic_factors(factors, counts, targets, homeostasis)
            lowered = any(new < old for new, old in zip(updated, factors))
            factors = updated
    report.threshold_factors = factors
    return report


def homeostatic_factors(
    factors: list[float], counts: list[int], targets: list[int], gain: float
) -> list[float]:
    """Each layer's threshold factor after a window with ``counts`` spikes: multiplied by
    ((count + 1)/(target + 1))^gain, at most ×2 or ×½ per window, where ``target`` is the
    layer's count in the phase's first window. A layer that falls silent lowers its threshold
    until it fires as often as when the phase began; one that fires more raises it.

    A stated deviation from SRC (whose thresholds are fixed): homeostatic threshold adaptation,
    as the adaptive thresholds of Diehl & Cook 2015 ("Unsupervised learning of digit recognition
    using spike-timing-dependent plasticity", Frontiers in Computational Neuroscience), which rise
    with firing and decay otherwise; here one threshold per layer, adapted slowly (per window of
    WINDOW steps), towards the activity at the start of the phase rather than towards silence."""
    return [
        min(1.0, factor * min(2.0, max(0.5, ((count + 1) / (target + 1)) ** gain)))
        for factor, count, target in zip(factors, counts, targets)
    ]


def max_activations(layers: list[nn.Linear], first: Tensor, chunk: int = 4096) -> list[float]:
    """The largest ReLU activation of every layer of the bias-free chain on inputs ``first``."""
    maxima = [0.0] * len(layers)
    for start in range(0, len(first), chunk):
        h = first[start : start + chunk]
        for index, layer in enumerate(layers):
            h = torch.relu(h @ layer.weight.T)
            maxima[index] = max(maxima[index], float(h.max()))
    return maxima


def calibrate_input_scale(
    weights: list[Tensor],
    statistics: SleepStatistics,
    target_rate: float,
    steps: int,
    options: dict[str, Any],
    thresholds: tuple[float, ...],
    generator: torch.Generator,
    iterations: int = 8,
) -> float:
    """The input scale at which the first layer fires ``target_rate`` spikes per neuron per step
    on average in a trial of ``steps`` steps without plasticity (bisection on a log scale)."""
    low, high = 1e-3, 1e3
    trial = {**options, "output_spikes": 0}
    for _ in range(iterations):
        scale = (low * high) ** 0.5
        trial["input_scale"] = scale
        report = spiking_sleep(
            [w.clone() for w in weights],
            statistics,
            steps,
            thresholds=thresholds,
            generator=generator,
            plastic=False,
            **trial,
        )
        if report.spikes[0] / (steps * weights[0].shape[0]) < target_rate:
            low = scale
        else:
            high = scale
    return (low * high) ** 0.5


def synaptic_operations(
    input_spikes: int, layer_spikes: Sequence[int], fan_outs: Sequence[int]
) -> int:
    """SynOps of a spiking phase (NeuroBench): each input spike reaches ``fan_outs[0]`` synapses,
    each spike of layer l reaches ``fan_outs[l + 1]``; the last layer's spikes reach none."""
    synops = input_spikes * fan_outs[0]
    for spikes, fan_out in zip(layer_spikes[:-1], fan_outs[1:]):
        synops += spikes * fan_out
    return int(synops)


class SpikingSleep(Component):
    """SRC sleep after every experience (and optionally every ``every`` training steps).

    ``max_activation``: ``"running"`` (default, no samples stored) or ``"recompute"`` (the
    reference: keep the first-layer inputs seen and recompute the maxima with the current weights
    before each sleep). ``plastic = False`` runs the same phase with STDP off: the control that
    separates sleep's plasticity from its mere presence. ``target_rate`` > 0 (default 0.008)
    replaces ``input_scale`` by the scale at which the first layer fires that fraction of its
    neurons per step, calibrated once before the first sleep without plasticity and then kept
    (recalibrating before every sleep fights the depression that sleep itself causes: the scale
    ran to the bisection's upper end by the fourth sleep); 0.008 is the rate of the tuned digits
    preset (input scale 0.25) at the start of a sleep. ``target_rate = 0`` with
    ``input_scale = 1`` is the reference's fixed drive.

    ``image_shape`` (e.g. ``[28, 28]``) says how the first layer's input pixels form an image,
    for the square patch; by default it is the data's own shape (``(N, 28, 28)`` tensors give
    28×28). Flat data without it gets a random pixel mask instead of the patch, with a warning
    (on split-MNIST through Avalanche, flat inputs lost 9-11 points against 28×28 ones).
    ``homeostasis`` = γ > 0 adapts each layer's threshold after every 1000 steps towards the
    activity of the sleep's first 1000 steps (:func:`homeostatic_factors`), a stated deviation
    from SRC, off by default. The summary counts every layer's spikes over all sleeps and per
    1000 steps of each sleep.
    """

    name = "sleep"
    requires = (Sleepable,)

    @checked
    def __init__(
        self,
        *,
        steps: Annotated[int, Range(0, MAX_COUNT)] = 15000,
        steps_increment: Annotated[int, Range(0, MAX_COUNT)] = 5000,
        every: Annotated[int, Range(0, MAX_COUNT, note="0: only after experiences")] = 0,
        alpha_scale: Positive = 55.882454,
        thresholds: tuple[Positive, ...] = (14.548273, 44.560317, 38.046326),
        decay: Annotated[float, Range(0, 1, open_low=True)] = 0.999,
        inc: NonNegative = 0.032064,
        dec: NonNegative = 0.003344,
        max_rate: Annotated[float, Range(0, 1000, open_low=True)] = 239.515363,
        dt: Annotated[float, Range(0, 1, open_low=True)] = 0.001,
        input_scale: Positive = 1.0,
        patch_fraction: Annotated[float, Range(0, 1, open_low=True)] = 11 / 28,
        sigmoid_scale: Positive = 0.001,
        output_spikes: Annotated[int, Range(0, MAX_COUNT, note="0: no early end")] = 0,
        image_shape: tuple[Width, ...] | None = None,
        homeostasis: NonNegative = 0.0,
        target_rate: Annotated[float, Range(0, note="0: no calibration")] = 0.008,
        calibration_steps: Count = 300,
        max_activation: Literal["running", "recompute"] = "running",
        plastic: bool = True,
    ):
        require(  # a length, which a range does not say
            image_shape is None or 2 <= len(image_shape) <= 3,
            "image_shape",
            f"must be [height, width] or [channels, height, width], got {image_shape}",
        )
        self.image_shape = None if image_shape is None else tuple(image_shape)
        self.warned_flat = False
        self.recompute, self.plastic = max_activation == "recompute", plastic
        self.seen_inputs: list[Tensor] = []  # only with max_activation = "recompute"
        self.target_rate, self.calibration_steps = target_rate, calibration_steps
        self.scales: list[float] = []
        self.steps, self.increment, self.every = steps, steps_increment, every
        self.options = dict(
            alpha_scale=alpha_scale,
            decay=decay,
            inc=inc,
            dec=dec,
            max_rate=max_rate,
            dt=dt,
            input_scale=input_scale,
            patch_fraction=patch_fraction,
            sigmoid_scale=sigmoid_scale,
            output_spikes=output_spikes,
            homeostasis=homeostasis,
        )
        self.thresholds = tuple(thresholds)
        self.generator = torch.Generator().manual_seed(0)  # reseeded from the run seed
        self.statistics: SleepStatistics | None = None
        self.experiences = 0
        self.batches = 0
        self.totals = {"sleeps": 0, "steps": 0, "input_spikes": 0}
        self.layer_spikes: list[int] = []
        self.windows: list[list[list[int]]] = []  # per sleep, per layer: spikes per 1000 steps
        self.threshold_factors: list[list[float]] = []  # per sleep (with homeostasis)

    def check(self, learner: Learner) -> None:
        layers = learner.sleep_layers()
        if len(layers) > len(self.thresholds):
            raise ContinualError(
                f"sleep: the {type(learner).__name__} learner has {len(layers)} layers but "
                f"{len(self.thresholds)} thresholds are given; set sleep's 'thresholds' to "
                f"{len(layers)} values"
            )
        ignored = learner.sleep_conversion()
        if ignored:
            warnings.warn(
                f"sleep runs the {type(learner).__name__} learner's linear layers as a plain "
                f"ReLU spiking chain and ignores: {ignored} (see docs/components.md)",
                stacklevel=2,
            )

    def reseed(self, seed: int) -> None:
        self.generator.manual_seed(seed)

    def observe_data(self, learner: Learner, x: Tensor) -> None:
        """Update the stored statistics with data ``x`` (the only place sleep sees data)."""
        with torch.no_grad():
            first = learner.sleep_input(x)
            activations = max_activations(learner.sleep_layers(), first)
            if self.recompute:
                self.seen_inputs.append(first.detach().clone())
            n = len(x)
            if self.statistics is None:
                shape = self.input_image_shape(x)
                self.statistics = SleepStatistics(first.mean(0), shape, activations, n)
                return
            s = self.statistics
            total = s.count + n
            s.input_mean = (s.input_mean * s.count + first.sum(0)) / total
            s.max_activation = [max(a, b) for a, b in zip(s.max_activation, activations)]
            s.count = total

    def input_image_shape(self, x: Tensor) -> tuple[int, ...]:
        """The image shape of inputs ``x``: ``image_shape`` if given (checked against the data),
        else the data's own shape; a flat one without ``image_shape`` gets a warning."""
        shape = tuple(x.shape[1:])
        if self.image_shape is not None:
            if math.prod(self.image_shape) != math.prod(shape):
                raise ContinualError(
                    f"sleep: image_shape {list(self.image_shape)} has "
                    f"{math.prod(self.image_shape)} pixels but the inputs have "
                    f"{math.prod(shape)} features ({list(shape)}); set image_shape to the "
                    "inputs' image shape"
                )
            return self.image_shape
        if len(shape) < 2 and not self.warned_flat:
            self.warned_flat = True
            warnings.warn(
                f"sleep: the inputs are flat ({math.prod(shape)} features) and no image_shape "
                "is given, so sleep shows them through a random pixel mask instead of SRC's "
                "square patch; if they are images, set sleep's image_shape (e.g. "
                "image_shape = [28, 28])",
                stacklevel=3,
            )
        return shape

    def sleep(self, learner: Learner, steps: int) -> SleepReport:
        """One sleep phase of ``steps`` steps, from stored statistics only."""
        if self.statistics is None:
            raise ContinualError("sleep: no statistics yet (sleep runs after data was seen)")
        layers = learner.sleep_layers()
        weights = [layer.weight.data for layer in layers]
        thresholds = self.thresholds[: len(layers)]
        options = dict(self.options)
        with torch.no_grad():
            if self.recompute and self.seen_inputs:  # the reference: current weights, all data
                self.statistics.max_activation = max_activations(
                    layers, torch.cat(self.seen_inputs)
                )
            if self.target_rate and not self.scales:  # once, on the first sleep
                self.scales.append(
                    calibrate_input_scale(
                        weights,
                        self.statistics,
                        self.target_rate,
                        self.calibration_steps,
                        options,
                        thresholds,
                        self.generator,
                    )
                )
            if self.scales:
                options["input_scale"] = self.scales[0]
            report = spiking_sleep(
                weights,
                self.statistics,
                steps,
                thresholds=thresholds,
                generator=self.generator,
                plastic=self.plastic,
                **options,
            )
        self.totals["sleeps"] += 1
        self.totals["steps"] += report.steps
        self.totals["input_spikes"] += report.input_spikes
        if not self.layer_spikes:
            self.layer_spikes = [0] * len(report.spikes)
        self.layer_spikes = [a + b for a, b in zip(self.layer_spikes, report.spikes)]
        self.windows.append(report.spikes_per_window)
        if self.options["homeostasis"]:
            self.threshold_factors.append(report.threshold_factors)
        return report

    def after_step(self, learner: Learner, batch) -> None:
        self.batches += 1
        if self.every and self.batches % self.every == 0 and self.statistics is not None:
            self.sleep(learner, self.steps)

    def after_experience(self, learner: Learner, experience: Experience) -> None:
        self.observe_data(learner, experience.training_data()[0])
        self.sleep(learner, self.steps + self.increment * self.experiences)
        self.experiences += 1

    def cost(self, learner: Learner, probe: CostProbe) -> dict[str, float]:
        """SynOps of every sleep so far (NeuroBench: a spike of layer l reaches fan-out(l + 1)
        synapses; an input spike reaches fan-out(0)) and STDP synaptic updates (a spike of layer
        l updates the fan-in(l) synapses into it). No FLOPs: sleep is counted in spikes."""
        if not self.layer_spikes:
            return {}
        layers = learner.sleep_layers()
        fan_outs = [layer.out_features for layer in layers]
        synops = synaptic_operations(self.totals["input_spikes"], self.layer_spikes, fan_outs)
        updates = sum(s * layer.in_features for s, layer in zip(self.layer_spikes, layers))
        return {"sleep_synops": float(synops), "sleep_synaptic_updates": float(updates)}

    def summary(self) -> dict[str, Any]:
        summary = {
            **self.totals,
            "spikes_per_layer": self.layer_spikes,
            "spikes_per_1000_steps": self.windows,
        }
        if self.threshold_factors:
            summary["threshold_factors"] = self.threshold_factors
        if self.scales:
            summary["calibrated_input_scale"] = self.scales[0]
        return summary

    def state_dict(self) -> dict[str, Any]:
        return {
            "statistics": None if self.statistics is None else self.statistics.to_dict(),
            "experiences": self.experiences,
            "rng": self.generator.get_state(),
            "seen_inputs": list(self.seen_inputs),
            "batches": self.batches,
            "totals": dict(self.totals),
            "layer_spikes": list(self.layer_spikes),
            "windows": [list(w) for w in self.windows],
            "threshold_factors": list(self.threshold_factors),
            "scales": list(self.scales),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        stats = state["statistics"]
        self.statistics = (
            None
            if stats is None
            else SleepStatistics(
                stats["input_mean"],
                tuple(stats["image_shape"]),
                stats["max_activation"],
                stats["count"],
            )
        )
        self.experiences = state["experiences"]
        self.seen_inputs = list(state.get("seen_inputs", []))
        self.generator.set_state(state["rng"])
        self.batches = state.get("batches", 0)
        self.totals = dict(state.get("totals", self.totals))
        self.layer_spikes = list(state.get("layer_spikes", []))
        self.windows = list(state.get("windows", []))
        self.threshold_factors = list(state.get("threshold_factors", []))
        self.scales = list(state.get("scales", []))
