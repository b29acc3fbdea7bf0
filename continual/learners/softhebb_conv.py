"""Convolutional SoftHebb: one convolutional layer of filters learned by SoftHebb's local rule
(Journé, Rodriguez, Guo & Moraitis, "Hebbian deep learning without feedback", ICLR 2023), pooled
into a small grid of features, with a delta-rule linear readout. No backprop.

The paper's MNIST and CIFAR results come from convolutional SoftHebb networks; this is their
first layer, with the constants of the reference code's first block (``presets.json``,
``softkrotov-c96-k5-p2-s1-d1-b0-t1-lr0.08-lp0.5``): 96 filters of 5x5, padding 2, temperature 1,
rate 0.08 with the norm-adaptive factor |‖w_k‖ − 1|^0.5, the triangle activation with power 0.7
and an average pool of 4 with stride 2 and padding 1.

Every image position is one sample of the rule: the patch x under filter k gives u_k = w_k·x,
the filters compete by g = softmax(u / τ) over filters (the position's winner Hebbian, every other
filter anti-Hebbian, SoftHebb's "soft-krotov" form), and

    Δw_k = Σ_positions g_k (x − u_k w_k),

divided by the layer's largest |Δw| (both reference codes) and scaled per filter by the adaptive
rate. Summing over positions is weight sharing, as in every convolutional network (and the
paper): each filter's change still needs only its own input patches and its own activity.

What the readout reads: h = relu(u − mean_k u)^0.7 (the triangle: each position's filters
above their mean), average-pooled with the reference's pool, then pooled again to a ``grid`` x
``grid`` map (``grid`` = 4: 96 x 16 = 1,536 features) and L2-normalised per sample, so a
class-statistics readout (streaming LDA) stays small.

Deviations from the reference, stated:
- each image is standardised over its own pixels instead of by a batch-norm layer over the
  current batch (whose statistics would drift with the classes of each experience);
- one convolutional layer instead of three (the paper's MNIST network has more); the second
  pooling to ``grid`` is ours, to keep the feature count small for a covariance readout;
- filters start at radius ``init_radius`` (25, the dense reference layer's) in random Gaussian
  directions.
"""

from __future__ import annotations

import math
from typing import Annotated

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from continual.errors import ConfigError
from continual.learners.base import Learner, delta_rule, make_optimizer
from continual.learners.hebbian import adaptive_rate, scaled_by_largest, softhebb_update
from continual.ranges import NonNegative, Positive, Range, checked


class SoftHebbConv(Learner):
    """``image → conv (SoftHebb) → triangle → pools → features → classes``."""

    @checked
    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        *,
        channels: Annotated[int, Range(1, 4096)] = 96,
        kernel: Annotated[int, Range(1, 15)] = 5,
        in_channels: Annotated[int, Range(1, 16)] = 1,
        temperature: Positive = 1.0,
        hebbian_lr: Positive = 0.08,
        rate_power: NonNegative = 0.5,
        init_radius: Positive = 25.0,
        triangle_power: Positive = 0.7,
        grid: Annotated[int, Range(1, 64)] = 4,
        patches_per_batch: Annotated[int, Range(1, 10_000_000)] = 4096,
        readout_lr: Positive = 5.0,
        momentum: Annotated[float, Range(0, 1, open_high=True)] = 0.9,
    ):
        super().__init__(input_dim, num_classes)
        side = math.isqrt(input_dim // in_channels)
        if side * side * in_channels != input_dim:
            raise ConfigError(
                f"in_channels: {input_dim} inputs are not {in_channels} square image(s); "
                "softhebb-conv needs square images (28x28 MNIST, 8x8 digits)",
                "in_channels",
            )
        if kernel > side:
            raise ConfigError(f"kernel: {kernel} is larger than the {side}x{side} image", "kernel")
        self.shape = (in_channels, side, side)
        self.conv = nn.Conv2d(in_channels, channels, kernel, padding=kernel // 2, bias=False)
        with torch.no_grad():
            weight = torch.randn_like(self.conv.weight)
            flat = weight.flatten(1)
            self.conv.weight.copy_((init_radius * F.normalize(flat, dim=1)).view_as(weight))
        self.grid = grid
        self.temperature, self.rate_power, self.power = temperature, rate_power, triangle_power
        self.patches_per_batch = patches_per_batch
        with torch.no_grad():  # the feature count as the layers give it (an even kernel's
            # "same" padding makes the map one pixel larger than the image)
            width = self.features(torch.zeros(1, input_dim)).shape[1]
        self.readout = nn.Linear(width, num_classes)
        nn.init.zeros_(self.readout.weight)
        nn.init.zeros_(self.readout.bias)
        self.optimizer = make_optimizer(
            "sgd",
            [
                {"params": self.conv.parameters(), "lr": hebbian_lr, "momentum": 0.0},
                {"params": self.readout.parameters(), "lr": readout_lr, "momentum": momentum},
            ],
            hebbian_lr,
        )

    def standardised(self, x: Tensor) -> Tensor:
        """Inputs as images, each standardised to zero mean and unit variance over its own
        pixels (a per-sample normalisation: nothing accumulates, so a frozen layer's features
        of an image never change)."""
        x = x.flatten(1).to(self.conv.weight.dtype)
        x = (x - x.mean(1, keepdim=True)) / (x.std(1, keepdim=True) + 1e-6)
        return x.view(-1, *self.shape)

    def features(self, x: Tensor) -> Tensor:
        """The readout's input: triangle activity, pooled, L2-normalised per sample."""
        u = self.conv(self.standardised(x))
        h = F.relu(u - u.mean(1, keepdim=True)).pow(self.power)
        if h.shape[-1] >= 4:
            h = F.avg_pool2d(h, 4, stride=2, padding=1)
        h = F.adaptive_avg_pool2d(h, min(self.grid, h.shape[-1]))
        return F.normalize(h.flatten(1), dim=1)

    def predict(self, x: Tensor, task: Tensor | None = None) -> Tensor:
        return self.readout(self.features(x))

    def filter_update(self, images: Tensor) -> Tensor:
        """−Δw of the filters for a batch of standardised images: SoftHebb on (a sample of) the
        batch's patches, scaled by the largest entry and the per-filter adaptive rate."""
        weight = self.conv.weight
        patches = F.unfold(images, weight.shape[-1], padding=weight.shape[-1] // 2)
        patches = patches.transpose(1, 2).reshape(-1, patches.shape[1])
        if len(patches) > self.patches_per_batch:  # a random sample of positions per step
            pick = torch.randperm(len(patches), device=patches.device)[: self.patches_per_batch]
            patches = patches[pick]
        flat = weight.flatten(1)
        delta = softhebb_update(patches, flat, self.temperature, anti_hebbian=True)
        step = adaptive_rate(flat, self.rate_power) * scaled_by_largest(delta)
        return -step.view_as(weight)

    def local_update(self, x: Tensor, y: Tensor, task: Tensor | None) -> dict[str, Tensor]:
        with torch.no_grad():
            if not self.frozen_features:
                self.conv.weight.grad = self.filter_update(self.standardised(x))
            features = self.features(x)
            error = delta_rule(
                self.readout, features, y, self.restrict(self.readout(features), task)
            )
        return {"readout_error": error.abs().sum(1).mean()}
