"""Forward-Forward learner (Hinton 2022, "The Forward-Forward Algorithm: Some Preliminary
Investigations").

Each layer is trained on its own to give high goodness (mean or sum of squared activities) to
positive data — an input with its true label written in — and low goodness to negative data — the
same input with a wrong label: loss = softplus(θ − g_pos) + softplus(g_neg − θ). Each layer's
input is length-normalised (divided by its root mean square, no mean subtraction), so a layer
cannot pass its goodness on, and detached, so no gradient crosses layers: every update is local,
while autograd, ``torch.optim`` and ``state_dict`` keep working.

The label is appended to the flattened input as a one-hot vector (on small images such as the 8×8
digits, the first pixels carry ink, so overwriting them as Hinton does on MNIST would lose data).
Classification either runs one pass per candidate label and picks the label with the highest
goodness summed over layers, or (``classify = "readout"``) runs one pass with a neutral label and
a linear readout trained with its own local cross-entropy on the detached activities. Both use
the layers from ``goodness_from_layer`` on: Hinton (2022) leaves the first hidden layer out of the
label prediction, as does the public reproduction github.com/loeweX/Forward-Forward
(``src/ff_model.py``: goodness and classifier inputs from ``idx >= 1``); 0 keeps every layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from continual.errors import ConfigError, did_you_mean, require
from continual.learners.abilities import Sleepable
from continual.learners.base import Learner, make_optimizer
from continual.ranges import Positive, Range, Width, checked


def rms_normalise(h: Tensor, eps: float = 1e-6) -> Tensor:
    """Divide each row by its root mean square: direction kept, goodness removed."""
    return h / (h.square().mean(dim=1, keepdim=True).sqrt() + eps)


def ff_loss(good_positive: Tensor, good_negative: Tensor, threshold: float) -> Tensor:
    """softplus(θ − g_pos) + softplus(g_neg − θ), averaged over the batch."""
    return (F.softplus(threshold - good_positive) + F.softplus(good_negative - threshold)).mean()


def wrong_labels(learner: ForwardForward, x: Tensor, y: Tensor, task: Tensor | None) -> Tensor:
    """A uniformly random wrong label per sample (among the task's classes when tasks are given)."""
    allowed = learner.restrict(torch.zeros(len(y), learner.num_classes, device=y.device), task)
    weights = torch.isfinite(allowed).float().scatter(1, y[:, None], 0.0)
    return torch.multinomial(any_other_label(weights, y), 1).squeeze(1)


def hardest_labels(learner: ForwardForward, x: Tensor, y: Tensor, task: Tensor | None) -> Tensor:
    """The wrong label the network currently finds most plausible (highest goodness); in a
    one-class task, the most plausible label outside it."""
    with torch.no_grad():
        goodness = learner.goodness_scores(x)
        scores = learner.restrict(goodness, task).scatter(1, y[:, None], float("-inf"))
        alone = ~torch.isfinite(scores).any(1)  # no other label in the sample's task
        scores[alone] = goodness[alone].scatter(1, y[alone, None], float("-inf"))
    return scores.argmax(1)


def sampled_labels(learner: ForwardForward, x: Tensor, y: Tensor, task: Tensor | None) -> Tensor:
    """A wrong label drawn in proportion to the probability the network currently gives it
    (the softmax of its class scores, :meth:`ForwardForward.predict`, over the wrong labels of the
    sample's task): Hinton (2022, supervised MNIST) picks negative labels by the predicted
    probabilities, so plausible mistakes are pushed down more often without ``hardest``'s
    always-the-same label. In a one-class task, among the labels outside it."""
    with torch.no_grad():
        scores = learner.predict(x).float()
        restricted = learner.restrict(scores, task).scatter(1, y[:, None], float("-inf"))
        alone = ~torch.isfinite(restricted).any(1)  # no other label in the sample's task
        restricted[alone] = scores[alone].scatter(1, y[alone, None], float("-inf"))
        probabilities = torch.softmax(restricted, dim=1)
    return torch.multinomial(probabilities, 1).squeeze(1)


def batch_labels(learner: ForwardForward, x: Tensor, y: Tensor, task: Tensor | None) -> Tensor:
    """A random wrong label among the classes present in the batch (the labels trick applied to
    negative data: labels absent from the batch are never pushed down)."""
    present = learner.classes_present(y)
    allowed = learner.restrict(torch.zeros(len(y), learner.num_classes, device=y.device), task)
    in_task = torch.isfinite(allowed)
    weights = (in_task & present).float().scatter(1, y[:, None], 0.0)
    alone = weights.sum(1) == 0  # one class in the batch: the task's other classes
    weights[alone] = in_task[alone].float().scatter(1, y[alone, None], 0.0)
    return torch.multinomial(any_other_label(weights, y), 1).squeeze(1)


def any_other_label(weights: Tensor, y: Tensor) -> Tensor:
    """``weights`` (sampling weights of wrong labels per sample, the true label at 0) with rows
    that allow no label (a one-class task or batch) opened to every label but the true one."""
    weights[weights.sum(1) == 0] = 1.0
    return weights.scatter_(1, y[:, None], 0.0)


NegativeLabels = Callable[["ForwardForward", Tensor, Tensor, "Tensor | None"], Tensor]
NEGATIVES: dict[str, NegativeLabels] = {
    "random": wrong_labels,
    "hardest": hardest_labels,
    "batch": batch_labels,
    "sampled": sampled_labels,
}


class ForwardForward(Learner, Sleepable):
    """A stack of ReLU layers trained by the Forward-Forward algorithm (supervised variant).

    Defaults were tuned on scikit-learn digits (i.i.d., 20 epochs, batch 32): summed goodness with
    θ = 50 over 500 units (0.1 per unit) reached 97-98 %; mean goodness with θ = 2 stalled near
    94 %. Negative labels: ``random`` (uniform wrong label), ``hardest`` (the currently most
    plausible wrong label, ~1 point better, ~2x the cost), ``sampled`` (a wrong label drawn by
    its predicted probability, Hinton 2022) or ``batch`` (uniform among the batch's labels).
    Other generators plug into :data:`NEGATIVES`. ``goodness_from_layer = 1`` leaves the first
    layer out of the prediction (goodness or readout), as Hinton 2022 does.
    """

    @checked
    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        *,
        hidden: tuple[Width, ...] = (500, 500),
        threshold: Positive = 50.0,
        goodness: Literal["mean", "sum"] = "sum",
        negatives: Literal["random", "hardest", "batch", "sampled"] = "random",
        classify: Literal["goodness", "readout"] = "goodness",
        goodness_from_layer: Annotated[int, Range(0, 1000)] = 0,
        label_scale: Positive = 1.0,
        optimizer: Literal["sgd", "adam", "adamw"] = "adam",
        lr: Positive = 0.002,
        layer_lrs: tuple[Positive, ...] | None = None,
        readout_lr: Positive = 0.002,
        momentum: Annotated[float, Range(0, 1, open_high=True)] = 0.0,
    ):
        super().__init__(input_dim, num_classes)
        sizes = [input_dim + num_classes, *hidden]
        require(  # a rule between fields: the layer must be one of hidden's
            0 <= goodness_from_layer < len(sizes) - 1,
            "goodness_from_layer",
            f"must index one of the {len(sizes) - 1} layers",
        )
        if negatives not in NEGATIVES:
            raise ConfigError(
                f"unknown negatives {negatives!r}{did_you_mean(negatives, NEGATIVES)}"
            )
        lrs = list(layer_lrs) if layer_lrs is not None else [lr] * (len(sizes) - 1)
        require(len(lrs) == len(sizes) - 1, "layer_lrs", "needs one learning rate per layer")
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.readout = nn.Linear(sum(sizes[1 + goodness_from_layer :]), num_classes)
        self.threshold, self.goodness_kind, self.negatives = threshold, goodness, negatives
        self.classify, self.first_scored, self.label_scale = (
            classify,
            goodness_from_layer,
            label_scale,
        )
        groups = [
            {"params": layer.parameters(), "lr": rate} for layer, rate in zip(self.layers, lrs)
        ]
        groups.append({"params": self.readout.parameters(), "lr": readout_lr})
        self.optimizer = make_optimizer(optimizer, groups, lr, momentum)

    # -- forward passes -----------------------------------------------------------------------
    def embed(self, x: Tensor, labels: Tensor | None) -> Tensor:
        """The flattened input with a one-hot label appended (uniform 1/C for a neutral label)."""
        x = x.flatten(1)
        if labels is None:
            code = torch.full((len(x), self.num_classes), 1.0 / self.num_classes, device=x.device)
        else:
            code = F.one_hot(labels, self.num_classes).to(x.dtype)
        return torch.cat([x, code * self.label_scale], dim=1)

    def activities(self, z: Tensor, detach: bool = True) -> list[Tensor]:
        """Each layer's ReLU activity; every layer sees its normalised input, detached (the
        learning rule's locality) unless ``detach = False`` (the network as a function)."""
        out = []
        h = z
        for layer in self.layers:
            h = F.relu(layer(rms_normalise(h.detach() if detach else h)))
            out.append(h)
        return out

    def goodness(self, h: Tensor) -> Tensor:
        squares = h.square()
        return squares.mean(1) if self.goodness_kind == "mean" else squares.sum(1)

    def goodness_scores(self, x: Tensor, detach: bool = True) -> Tensor:
        """Goodness summed over the scored layers, for every candidate label: ``(N, C)``."""
        n, c = len(x), self.num_classes
        labels = torch.arange(c, device=x.device).repeat_interleave(n)
        z = self.embed(x.flatten(1).repeat(c, 1), labels)
        total = sum(self.goodness(h) for h in self.activities(z, detach)[self.first_scored :])
        return total.view(c, n).T

    def readout_scores(self, x: Tensor, detach: bool = True) -> Tensor:
        hidden = self.activities(self.embed(x, None), detach)[self.first_scored :]
        features = [rms_normalise(h).detach() if detach else rms_normalise(h) for h in hidden]
        return self.readout(torch.cat(features, dim=1))

    def features(self, x: Tensor) -> Tensor:
        """Every hidden layer's RMS-normalised activity under a neutral label, concatenated: the
        input of the ``classify = "readout"`` linear readout. Hinton (2022) reads all layers but
        the first for his linear classifier; all are kept here, as the trained readout does."""
        return torch.cat([rms_normalise(h) for h in self.activities(self.embed(x, None))], dim=1)

    def fisher_scores(self, x: Tensor) -> Tensor:
        """The same scores as :meth:`predict` with no layer detached, so EWC's Fisher is that of
        the predictive distribution, every path from a weight to the scores included (the
        detached, layer-local version gave the first layer 0.245× of it on digits)."""
        if self.classify == "readout":
            return self.readout_scores(x, detach=False)
        return self.goodness_scores(x, detach=False)

    def sleep_layers(self) -> list[nn.Linear]:
        return list(self.layers)

    def sleep_input(self, x: Tensor) -> Tensor:
        return self.embed(x, None)  # the image with a neutral label

    def post_activity(self, name: str, output: Tensor) -> Tensor:
        if name == "readout":
            return torch.softmax(output, dim=-1)
        return F.relu(output)

    def sleep_conversion(self) -> str | None:
        return (
            "the biases, the RMS normalisation between layers and the linear readout; it "
            "drives the image with a neutral label code"
        )

    def predict(self, x: Tensor, task: Tensor | None = None) -> Tensor:
        return self.readout_scores(x) if self.classify == "readout" else self.goodness_scores(x)

    # -- learning -----------------------------------------------------------------------------
    def local_update(self, x: Tensor, y: Tensor, task: Tensor | None) -> dict[str, Tensor]:
        return self._update(x, y, task, negative_only=False)

    def negative_update(self, x: Tensor, y: Tensor, task: Tensor | None) -> dict[str, Tensor]:
        """The negative phase alone (wrong labels for ``x``; no readout step), e.g. during sleep
        (:class:`~continual.learners.abilities.NegativePhase`)."""
        return self._update(x, y, task, negative_only=True)

    def _update(
        self, x: Tensor, y: Tensor, task: Tensor | None, negative_only: bool
    ) -> dict[str, Tensor]:
        negative = NEGATIVES[self.negatives](self, x, y, task)
        negative_h = self.activities(self.embed(x, negative))
        if negative_only:  # only push the goodness of negative data down
            losses = [F.softplus(self.goodness(n) - self.threshold).mean() for n in negative_h]
        else:
            positive_h = self.activities(self.embed(x, y))
            losses = [
                ff_loss(self.goodness(p), self.goodness(n), self.threshold)
                for p, n in zip(positive_h, negative_h)
            ]
        loss = torch.stack(losses).sum()
        if self.classify == "readout" and not negative_only:
            readout_loss = F.cross_entropy(self.restrict(self.readout_scores(x), task), y)
            loss = loss + readout_loss
        loss.backward()  # each term reaches only its own layer: inputs are detached
        return {"loss": loss.detach(), **{f"layer{i}": v.detach() for i, v in enumerate(losses)}}
