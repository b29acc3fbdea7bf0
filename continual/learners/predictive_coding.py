"""Predictive-coding learner (Whittington & Bogacz 2017; exact variant after Millidge, Tschantz &
Buckley 2020 and Song et al. 2020).

Each layer l holds value nodes x_l and predicts the next: μ_{l+1} = W_l φ(x_l) + b_l, with φ the
identity on the input x_0. With the input clamped to the data and the output x_L clamped to the
one-hot target, the value nodes relax for T inference steps at rate γ down the energy
F = Σ_l ½‖ε_l‖², ε_l = x_l − μ_l:

    x_l ← x_l − γ (ε_l − φ'(x_l) ⊙ W_lᵀ ε_{l+1})

Then every weight changes by a purely local product of its layer's prediction error and its
presynaptic activity: ∂F/∂W_l = −ε_{l+1} φ(x_l)ᵀ (:func:`weight_update`), handed to the update
seam as ``p.grad``. No gradient is backpropagated: nothing here calls ``backward``.

``mode = "exact"`` uses the fixed-prediction assumption (Millidge et al. 2020): predictions and
their derivatives stay at their feed-forward values during inference, γ = 1 and T = L − 1 (these
conditions define the mode, so ``inference_rate`` and ``inference_steps`` are not used). Then each
ε_l equals backprop's error signal and the updates equal the gradients of the mean squared error
½‖y − ŷ‖² exactly (Song et al.'s Z-IL reaches the same result by timing the updates).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from continual.learners.abilities import Sleepable
from continual.learners.base import Learner, make_optimizer
from continual.ranges import NonNegative, Positive, Range, Width, checked


def _gelu_derivative(x: Tensor) -> Tensor:
    cdf = 0.5 * (1.0 + torch.erf(x / 2.0**0.5))
    pdf = torch.exp(-0.5 * x.square()) / (2.0 * torch.pi) ** 0.5
    return cdf + x * pdf


# name -> (φ, φ')
ACTIVATIONS: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]] = {
    "tanh": (torch.tanh, lambda x: 1.0 - torch.tanh(x).square()),
    "relu": (F.relu, lambda x: (x > 0).to(x.dtype)),
    "gelu": (F.gelu, _gelu_derivative),
    "sigmoid": (torch.sigmoid, lambda x: torch.sigmoid(x) * (1.0 - torch.sigmoid(x))),
}


def weight_update(error: Tensor, presynaptic: Tensor) -> tuple[Tensor, Tensor]:
    """∂F/∂W = −ε φᵀ and ∂F/∂b = −ε, averaged over the batch: the local PC learning rule."""
    n = len(error)
    return -(error.T @ presynaptic) / n, -error.mean(0)


class PredictiveCoding(Learner, Sleepable):
    """An MLP trained by predictive coding: relax value nodes, then local weight updates."""

    @checked
    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        *,
        hidden: tuple[Width, ...] = (256, 256),
        activation: Literal["tanh", "relu", "gelu", "sigmoid"] = "gelu",
        mode: Literal["standard", "exact"] = "standard",
        inference_steps: Annotated[int, Range(0, 10_000)] = 5,
        inference_rate: Positive = 0.1,
        optimizer: Literal["sgd", "adam", "adamw"] = "adam",
        lr: Positive = 0.001,
        momentum: Annotated[float, Range(0, 1, open_high=True)] = 0.0,
        weight_decay: NonNegative = 0.0,
        output_clamp: Literal["all", "batch"] = "all",
    ):
        super().__init__(input_dim, num_classes)
        sizes = [input_dim, *hidden, num_classes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.phi, self.phi_prime = ACTIVATIONS[activation]
        self.mode, self.steps, self.rate = mode, inference_steps, inference_rate
        self.output_clamp = output_clamp
        self.optimizer = make_optimizer(optimizer, self.parameters(), lr, momentum, weight_decay)
        self.last_errors: list[Tensor] = []  # ε_1..ε_L of the last batch, for inspection
        self.last_presynaptic: list[Tensor] = []  # φ(x_0)..φ(x_{L-1})

    def _presynaptic(self, xs: list[Tensor]) -> list[Tensor]:
        return [xs[0]] + [self.phi(x) for x in xs[1:-1]]

    def feedforward(self, x: Tensor) -> list[Tensor]:
        """Value nodes at their feed-forward values: x_0 = input, x_{l+1} = μ_{l+1}."""
        xs = [x.flatten(1)]
        for index, layer in enumerate(self.layers):
            xs.append(layer(xs[-1] if index == 0 else self.phi(xs[-1])))
        return xs

    def predict(self, x: Tensor, task: Tensor | None = None) -> Tensor:
        return self.feedforward(x)[-1]

    def features(self, x: Tensor) -> Tensor:
        """φ of the last hidden value nodes at their feed-forward values (the input without
        hidden layers): what the output layer reads."""
        return self._presynaptic(self.feedforward(x))[-1]

    def readout_modules(self) -> list[nn.Module]:
        return [self.layers[-1]]

    def sleep_layers(self) -> list[nn.Linear]:
        return list(self.layers)

    def post_activity(self, name: str, output: Tensor) -> Tensor:
        if name == f"layers.{len(self.layers) - 1}":  # the output value nodes are linear
            return output.abs()
        return self.phi(output).abs()  # a hidden value node sends φ(x) on

    def sleep_conversion(self) -> str | None:
        ignored = ["the biases"]
        if self.phi is not F.relu:
            ignored.append("the non-ReLU activation (run as ReLU)")
        return ", ".join(ignored)

    def infer(
        self, x: Tensor, target: Tensor, free: Tensor | None = None
    ) -> tuple[list[Tensor], list[Tensor]]:
        """Relax the hidden value nodes with input and output clamped; return the prediction
        errors ε_1..ε_L and presynaptic activities φ(x_0)..φ(x_{L-1}) the update uses. Output
        nodes marked ``free`` are not clamped: with no layer above them their energy is least at
        their prediction, so they follow it at every step (zero error), as free nodes relax."""
        with torch.no_grad():
            xs = self.feedforward(x)
            xs[-1] = target if free is None else torch.where(free, xs[-1], target)
            exact = self.mode == "exact"
            fixed_mu = [m.clone() for m in xs[1:-1]] + [self.feedforward(x)[-1]] if exact else None
            fixed_slope = [self.phi_prime(m) for m in xs[1:-1]] if exact else None
            fixed_pre = self._presynaptic(self.feedforward(x)) if exact else None
            steps, rate = (len(self.layers) - 1, 1.0) if exact else (self.steps, self.rate)
            for _ in range(steps):
                errors = self._errors(xs, fixed_mu)
                for k in range(1, len(xs) - 1):  # hidden value nodes only
                    slope = fixed_slope[k - 1] if exact else self.phi_prime(xs[k])
                    feedback = slope * (errors[k] @ self.layers[k].weight)
                    xs[k] = xs[k] - rate * (errors[k - 1] - feedback)
                if free is not None and not exact:
                    xs[-1] = torch.where(free, self._prediction(xs), target)
            errors = self._errors(xs, fixed_mu)
            presynaptic = fixed_pre if exact else self._presynaptic(xs)
        return errors, presynaptic

    def _prediction(self, xs: list[Tensor]) -> Tensor:
        """μ_L from the current value nodes."""
        return self.layers[-1](xs[0] if len(xs) == 2 else self.phi(xs[-2]))

    def _errors(self, xs: list[Tensor], fixed_mu: list[Tensor] | None) -> list[Tensor]:
        """ε_{l+1} = x_{l+1} − μ_{l+1} for every layer (predictions fixed in exact mode)."""
        if fixed_mu is not None:
            return [x - m for x, m in zip(xs[1:], fixed_mu)]
        pre = self._presynaptic(xs)
        return [xs[i + 1] - layer(pre[i]) for i, layer in enumerate(self.layers)]

    def target(self, x: Tensor, y: Tensor, task: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """One-hot target and the mask of free outputs (``None``: all clamped). Outputs outside
        the sample's task (task labels given), or of classes absent from the batch
        (``output_clamp = "batch"``), are free: they relax with the hidden nodes and end with
        zero error, so absent classes are neither pushed down nor up."""
        onehot = F.one_hot(y, self.num_classes).to(x.dtype)
        outside = torch.isinf(self.restrict(torch.zeros_like(onehot), task))
        if self.output_clamp == "batch":
            outside = outside | ~self.classes_present(y)
        return onehot, (outside if bool(outside.any()) else None)

    def local_update(self, x: Tensor, y: Tensor, task: Tensor | None) -> dict[str, Tensor]:
        errors, presynaptic = self.infer(x, *self.target(x, y, task))
        for layer, error, pre in zip(self.layers, errors, presynaptic):
            layer.weight.grad, layer.bias.grad = weight_update(error, pre)
        self.last_errors, self.last_presynaptic = errors, presynaptic
        energy = sum(0.5 * e.square().sum(1).mean() for e in errors)
        return {"energy": energy, "output_error": 0.5 * errors[-1].square().sum(1).mean()}
