"""The reference learner: a multilayer perceptron trained end to end by backpropagation of a
cross-entropy loss (Rumelhart, Hinton & Williams 1986). Its gradient is the update it hands to
the seam."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from continual.learners.base import Learner, check_sizes, make_activation, make_optimizer
from continual.ranges import NonNegative, Positive, Range, Width


class Backprop(Learner):
    """MLP ``input → hidden... → classes`` trained by backprop (multi-headed when tasks are given).

    Defaults follow van de Ven, Tuytelaars & Tolias (2022): 2×400 ReLU, Adam, lr 1e-3.
    ``init_scale`` replaces PyTorch's default initialisation by U(±init_scale).
    ``loss_classes = "batch"`` restricts the softmax to the classes present in the batch (the
    labels trick, Zeno et al. 2018): the reference point for the local learners' batch options.
    """

    global_loss = True  # one cross-entropy: components' loss terms (LwF) are added to it

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
    ):
        super().__init__(input_dim, num_classes)
        sizes = [input_dim, *check_sizes(hidden)]
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
        # classes trained so far (the batch-local loss never trains the others' outputs)
        self.register_buffer("trained_classes", torch.zeros(num_classes, dtype=torch.bool))

    def predict(self, x: Tensor, task: Tensor | None = None) -> Tensor:
        return self.net(x.flatten(1))

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
        return torch.softmax(output, dim=-1)  # the output layer: the predicted probabilities

    def sleep_conversion(self) -> str | None:
        ignored = ["the biases"] if self.bias else []
        if self.activation != "relu":
            ignored.append(f"the {self.activation} activation (run as ReLU)")
        return ", ".join(ignored) or None

    def local_update(self, x: Tensor, y: Tensor, task: Tensor | None) -> dict[str, Tensor]:
        outputs = self.net(x.flatten(1))
        scores = self.restrict(outputs, task)
        if self.loss_classes == "batch":  # only classes present in the batch compete
            present = torch.zeros(self.num_classes, dtype=torch.bool, device=y.device)
            present[y] = True
            self.trained_classes |= present
            scores = scores.masked_fill(~present, float("-inf"))
        loss = self.plus_objective(F.cross_entropy(scores, y), outputs)  # + LwF's term, if any
        loss.backward()
        return {"loss": loss.detach()}
