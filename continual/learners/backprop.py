"""The reference learner: a multilayer perceptron trained end to end by backpropagation of a
cross-entropy loss (Rumelhart, Hinton & Williams 1986). Its gradient is the update it hands to
the seam.

SRC's protocol (Tadros, Krishnan, Ramyaa & Bazhenov 2022, reference MATLAB
github.com/tmtadros/SleepReplayConsolidation, ``dlt_cnn_map_dropout_nobiasnn/NN``) is expressed
with three options: ``loss = "squared-error"`` (``nnff.m``: L = ½·Σ_k (y_k − a_k)² / m with
one-hot targets y), ``output_activation = "relu"`` (``nn.output = 'relu'``; ``nnbp.m`` passes the
output error back as ``d = −e`` without the ReLU's derivative, so the gradient goes straight
through the output ReLU, here too) and ``dropout`` on the hidden layers (``nnff.m``; the input is
not dropped).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from continual.errors import require
from continual.learners.abilities import ExtraLoss, Sleepable, backpropagate
from continual.learners.base import Learner, make_activation, make_optimizer
from continual.ranges import NonNegative, Positive, Range, Width, checked


class Backprop(Learner, Sleepable):
    """MLP ``input → hidden... → classes`` trained by backprop (multi-headed when tasks are given).

    Defaults follow van de Ven, Tuytelaars & Tolias (2022): 2×400 ReLU, Adam, lr 1e-3.
    ``init_scale`` replaces PyTorch's default initialisation by U(±init_scale).
    ``loss_classes = "batch"`` restricts the softmax to the classes present in the batch (the
    labels trick, Zeno et al. 2018): the reference point for the local learners' batch options.
    ``loss = "squared-error"`` with ``output_activation = "relu"`` and ``dropout = 0.25`` is SRC's
    network (see the module docstring). Dropout here is inverted (kept units scaled by
    1/(1 − rate) during training, nothing at prediction), where the reference multiplies the
    hidden activities by (1 − rate) at test time instead: the same function, reparametrised
    (the layers above a dropped one hold (1 − rate)× the reference's weights), and what
    :meth:`predict` and sleep see is the trained network itself.
    """

    @checked
    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        *,
        hidden: tuple[Width, ...] = (400, 400),
        activation: Literal["relu", "tanh", "gelu", "sigmoid"] = "relu",
        bias: bool = True,
        optimizer: Literal["sgd", "adam", "adamw"] = "adam",
        lr: Positive = 1e-3,
        momentum: Annotated[float, Range(0, 1, open_high=True)] = 0.0,
        weight_decay: NonNegative = 0.0,
        init_scale: Positive | None = None,
        loss_classes: Literal["all", "batch"] = "all",
        loss: Literal["cross-entropy", "squared-error"] = "cross-entropy",
        output_activation: Literal["none", "relu"] = "none",
        dropout: Annotated[float, Range(0, 1, open_high=True)] = 0.0,
    ):
        super().__init__(input_dim, num_classes)
        require(
            not (output_activation == "relu" and loss == "cross-entropy"),
            "output_activation",
            "'relu' goes with loss = 'squared-error' (SRC's output); cross-entropy takes the "
            "raw scores",
        )
        sizes = [input_dim, *hidden]
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(fan_in, fan_out, bias=bias), make_activation(activation)]
        layers.append(nn.Linear(sizes[-1], num_classes, bias=bias))
        self.net = nn.Sequential(*layers)
        if init_scale is not None:  # U(±init_scale), as in the SRC experiments
            for p in self.net.parameters():
                nn.init.uniform_(p, -init_scale, init_scale)
        self.optimizer = make_optimizer(optimizer, self.parameters(), lr, momentum, weight_decay)
        self.loss_classes = loss_classes
        self.bias, self.activation = bias, activation
        self.loss, self.output_activation, self.dropout = loss, output_activation, dropout
        # classes trained so far (the batch-local loss never trains the others' outputs)
        self.register_buffer("trained_classes", torch.zeros(num_classes, dtype=torch.bool))

    def predict(self, x: Tensor, task: Tensor | None = None) -> Tensor:
        return self.output(self.net(x.flatten(1)))

    def output(self, outputs: Tensor) -> Tensor:
        """The scores given the last layer's linear ``outputs``: ReLU'd for SRC's output, whose
        gradient passes the ReLU unchanged (``nnbp.m``: d = −e), else the outputs themselves."""
        if self.output_activation == "relu":
            return outputs + (torch.relu(outputs) - outputs).detach()
        return outputs

    def training_outputs(self, x: Tensor) -> Tensor:
        """The last layer's linear outputs with dropout on every hidden layer's activity."""
        h = x.flatten(1)
        for index, module in enumerate(self.net):
            h = module(h)
            if self.dropout and index % 2 == 1:  # an activation module: a hidden layer's output
                h = inverted_dropout(h, self.dropout)
        return h

    def features(self, x: Tensor) -> Tensor:
        """The last hidden layer's activity after its nonlinearity (the input without one)."""
        return self.net[:-1](x.flatten(1))

    def readout_modules(self) -> list[nn.Module]:
        return [self.net[-1]]

    def _load_from_state_dict(self, state: dict, prefix: str, *args: Any, **kwargs: Any) -> None:
        # a state dict saved before trained_classes existed (checkpoints, LwF teachers) loads with
        # none marked as trained: EWC's Fisher then uses every class, as it did then
        state.setdefault(prefix + "trained_classes", torch.zeros_like(self.trained_classes))
        super()._load_from_state_dict(state, prefix, *args, **kwargs)

    def fisher_scores(self, x: Tensor) -> Tensor:
        """The scores whose softmax EWC's Fisher differentiates. Under the batch-local loss, only
        the classes trained so far: the outputs of classes never in a batch were never trained
        (nor pushed down), so the full softmax gave their untrained rows a Fisher of order one
        and EWC then froze them at their initial values before their experience came."""
        scores = self.predict(x)
        if self.loss_classes == "batch" and bool(self.trained_classes.any()):
            scores = scores.masked_fill(~self.trained_classes, float("-inf"))
        return scores

    def sleep_layers(self) -> list[nn.Linear]:
        return [m for m in self.net if isinstance(m, nn.Linear)]

    def post_activity(self, name: str, output: Tensor) -> Tensor:
        index = int(name.rsplit(".", 1)[-1])
        if index + 1 < len(self.net):  # a hidden layer: its activation module follows
            return self.net[index + 1](output)
        if self.loss == "squared-error":  # the output layer's units themselves
            return torch.relu(output) if self.output_activation == "relu" else output.abs()
        return torch.softmax(output, dim=-1)  # the output layer: the predicted probabilities

    def sleep_conversion(self) -> str | None:
        ignored = ["the biases"] if self.bias else []
        if self.activation != "relu":
            ignored.append(f"the {self.activation} activation (run as ReLU)")
        return ", ".join(ignored) or None

    def local_update(
        self, x: Tensor, y: Tensor, task: Tensor | None, extra_loss: ExtraLoss | None = None
    ) -> dict[str, Tensor]:
        """The gradient of :meth:`training_loss`, plus ``extra_loss``'s term (LwF) if given: a
        global loss (:class:`~continual.learners.abilities.GlobalLoss`)."""
        return backpropagate(*self.training_loss(x, y, task), extra_loss)

    def training_loss(self, x: Tensor, y: Tensor, task: Tensor | None) -> tuple[Tensor, Tensor]:
        """The batch's loss and the last layer's linear outputs it was computed from."""
        outputs = self.training_outputs(x)
        allowed = torch.isfinite(self.restrict(torch.zeros_like(outputs), task))
        if self.loss_classes == "batch":  # only classes present in the batch compete
            present = self.classes_present(y)
            self.trained_classes |= present
            allowed = allowed & present
        scores = self.output(outputs)
        if self.loss == "squared-error":
            error = squared_error(scores, y, allowed)
        else:
            error = F.cross_entropy(scores.masked_fill(~allowed, float("-inf")), y)
        return error, outputs


def squared_error(scores: Tensor, y: Tensor, allowed: Tensor | None = None) -> Tensor:
    """½·Σ_k (onehot(y)_k − score_k)², summed over the ``allowed`` outputs and averaged over the
    batch: SRC's loss (``nnff.m``, ``nn.L = 1/2 * sum(sum(e.^2)) / m``)."""
    error = F.one_hot(y, scores.shape[1]).to(scores.dtype) - scores
    if allowed is not None:
        error = error * allowed
    return 0.5 * error.square().sum(1).mean()


def inverted_dropout(h: Tensor, rate: float, generator: torch.Generator | None = None) -> Tensor:
    """Dropout (Srivastava et al. 2014) as SRC applies it (``nnff.m``: a unit is kept where
    ``rand > rate``), inverted: kept units are divided by 1 − rate, so E[output] = h."""
    keep = torch.rand(h.shape, generator=generator, device=h.device) > rate
    return h * keep / (1.0 - rate)
