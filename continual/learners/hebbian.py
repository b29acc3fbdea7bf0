"""Hebbian learner: SoftHebb feature layers (Journé, Rodriguez, Guo & Moraitis, ICLR 2023) with a
delta-rule linear readout. No backprop anywhere.

Each feature layer sees its L2-normalised input x and computes u = W x. Its neurons compete
through a softmax, y = softmax(u / τ); the winner learns Hebbian, the others anti-Hebbian
(y_k → −y_k), and each weight vector moves as

    Δw_k = η_k · y_k · (x − u_k w_k),

a Hebbian term with Oja-like decay that drives ‖w_k‖ towards 1. The per-neuron rate
η_k = η · |‖w_k‖ − 1|^0.5 (SoftHebb's adaptive rate) stops a neuron once it has converged, which
also makes a trained layer stable. The readout is a linear layer on features
f = relu(u)^p (Krotov & Hopfield 2019 use rectified powers), normalised per sample, trained by
the delta rule ΔV = (onehot(y) − softmax(V f)) fᵀ — the cross-entropy gradient of a single layer,
which only needs the readout's own input and error. Both updates go to the seam as ``p.grad``
(``-Δw``), so consolidation components treat them like any other learner's.
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from continual.errors import require
from continual.learners.base import Learner, check_sizes, make_optimizer
from continual.ranges import Positive, Range, Width


def softhebb_update(x: Tensor, weight: Tensor, temperature: float, anti_hebbian: bool) -> Tensor:
    """Δw for one SoftHebb layer on a batch (rows of ``x`` already normalised), batch-averaged
    and before the per-neuron rate: (yᵀ x − diag(Σ_n y u) W) / N."""
    u = x @ weight.T
    y = torch.softmax(u / temperature, dim=1)
    if anti_hebbian:
        winner = F.one_hot(u.argmax(1), weight.shape[0]).bool()
        y = torch.where(winner, y, -y)
    return (y.T @ x - (y * u).sum(0)[:, None] * weight) / len(x)


def adaptive_rate(weight: Tensor, power: float = 0.5) -> Tensor:
    """SoftHebb's per-neuron learning-rate factor |‖w_k‖ − 1|^power, shape (neurons, 1)."""
    return (weight.norm(dim=1, keepdim=True) - 1.0).abs().pow(power)


class Hebbian(Learner):
    """SoftHebb feature layer(s) + delta-rule readout.

    Two choices matter on small data (measured on scikit-learn digits): every neuron starts with
    the same norm (``init_radius``), otherwise the largest random norms win every competition
    (82 of 500 neurons ever won); and inputs are centred by a running mean of all inputs seen
    (``center``), otherwise all-positive images fall in one orthant and most neurons never win.
    With both, ~360 of 500 neurons win. Defaults (300 neurons, τ = 0.02, η = 1, readout rate 5
    with momentum 0.9) reach ~97.5-98.5 % on digits after 20 epochs against ~96.5-97 % for the
    same layer left untrained (``train_features = False``), the control every Hebbian number
    needs.
    """

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        *,
        hidden: tuple[Width, ...] = (300,),
        temperature: Positive = 0.02,
        anti_hebbian: bool = True,
        hebbian_lr: Positive = 1.0,
        init_radius: Positive = 3.0,
        feature_power: Positive = 3.0,
        readout_lr: Positive = 5.0,
        momentum: Annotated[float, Range(0, 1, open_high=True)] = 0.9,
        train_features: bool = True,
        center: bool = True,
        readout_competition: Literal["all", "batch"] = "all",
    ):
        super().__init__(input_dim, num_classes)
        sizes = [input_dim, *check_sizes(hidden)]
        require(temperature > 0, "temperature", "must be positive")
        require(hebbian_lr > 0, "hebbian_lr", "must be positive")
        self.layers = nn.ModuleList(
            nn.Linear(a, b, bias=False) for a, b in zip(sizes[:-1], sizes[1:])
        )
        require(init_radius > 0, "init_radius", "must be positive")
        for layer in self.layers:
            # Every neuron starts with the same norm, so the competition is decided by direction
            # alone; a radius away from 1 keeps the adaptive rate alive until a neuron converges.
            nn.init.normal_(layer.weight)
            layer.weight.data = init_radius * F.normalize(layer.weight.data, dim=1)
        self.readout = nn.Linear(sizes[-1], num_classes)
        nn.init.zeros_(self.readout.weight)
        nn.init.zeros_(self.readout.bias)
        self.temperature, self.anti_hebbian = temperature, anti_hebbian
        self.power, self.train_features, self.center = feature_power, train_features, center
        self.competition = readout_competition
        self.register_buffer("input_mean", torch.zeros(input_dim))
        self.register_buffer("inputs_seen", torch.zeros((), dtype=torch.long))
        self.optimizer = make_optimizer(
            "sgd",
            [
                {"params": self.layers.parameters(), "lr": hebbian_lr, "momentum": 0.0},
                {"params": self.readout.parameters(), "lr": readout_lr, "momentum": momentum},
            ],
            hebbian_lr,
        )

    def layer_inputs(self, x: Tensor) -> list[Tensor]:
        """The normalised input of every feature layer, and the final features last."""
        h = x.flatten(1)
        if self.center:
            h = h - self.input_mean
        inputs = []
        for layer in self.layers:
            h = F.normalize(h, dim=1)
            inputs.append(h)
            h = F.relu(layer(h))
        inputs.append(F.normalize(h.pow(self.power), dim=1))
        return inputs

    def predict(self, x: Tensor, task: Tensor | None = None) -> Tensor:
        return self.readout(self.layer_inputs(x)[-1])

    def features(self, x: Tensor) -> Tensor:
        """What the readout reads: the last layer's normalised rectified power activity."""
        return self.layer_inputs(x)[-1]

    def sleep_layers(self) -> list[nn.Linear]:
        return [*self.layers, self.readout]

    def post_activity(self, name: str, output: Tensor) -> Tensor:
        if name == "readout":  # the delta rule's output: softmax probabilities
            return torch.softmax(output, dim=-1)
        return F.relu(output)

    def sleep_conversion(self) -> str | None:
        centring = "the input centring, " if self.center else ""
        return (
            f"{centring}the L2 normalisation of each layer's input, the feature power "
            f"{self.power:g} and its normalisation, and the readout bias"
        )

    def local_update(self, x: Tensor, y: Tensor, task: Tensor | None) -> dict[str, Tensor]:
        with torch.no_grad():
            if self.center:  # running mean of all inputs seen: a slow, local adaptation
                total = self.inputs_seen + len(x)
                self.input_mean += (x.flatten(1).sum(0) - len(x) * self.input_mean) / total
                self.inputs_seen.fill_(int(total))
            inputs = self.layer_inputs(x)
            for layer, inp in zip(self.layers, inputs):
                if self.train_features:
                    delta = softhebb_update(inp, layer.weight, self.temperature, self.anti_hebbian)
                    layer.weight.grad = -adaptive_rate(layer.weight) * delta
                else:
                    layer.weight.grad = torch.zeros_like(layer.weight)
            features = inputs[-1]
            scores = self.restrict(self.readout(features), task)
            if self.competition == "batch":  # only classes present in the batch compete
                present = torch.zeros(self.num_classes, dtype=torch.bool, device=y.device)
                present[y] = True
                scores = scores.masked_fill(~present, float("-inf"))
            probabilities = torch.softmax(scores, dim=1)
            error = F.one_hot(y, self.num_classes).to(features.dtype) - probabilities
            self.readout.weight.grad = -(error.T @ features) / len(x)
            self.readout.bias.grad = -error.mean(0)
        return {"readout_error": error.abs().sum(1).mean()}
