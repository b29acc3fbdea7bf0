"""The batch-local option (labels trick) composes with every backprop baseline: the mask is taken
from the batch the learner trains on, so replayed classes compete; LwF distils on top of it; and
each ``-batch`` preset is its base preset with only that option changed."""

import pytest
import torch

from continual import specs
from continual.components.base import Batch
from continual.consolidation.lwf import LwF
from continual.learners.backprop import Backprop
from continual.replay.experience_replay import Replay
from continual.scenarios.sources import synthetic
from continual.scenarios.split import class_incremental
from continual.strategy import Strategy


def _stream():
    return class_incremental(synthetic(samples=400, classes=4), seed=0, experiences=2)


def test_the_mask_covers_replayed_classes():
    stream = _stream()
    learner = Backprop(stream.input_dim, 4, hidden=(8,), loss_classes="batch")
    replay = Replay(budget=40)
    Strategy(learner, [replay], epochs=1).train_experience(stream[0])
    batch = replay.transform_batch(learner, Batch(*stream[1].batch(torch.arange(16))[:2]))
    old, new = list(stream[0].classes), list(stream[1].classes)
    assert set(batch.y.tolist()) == set(old + new)  # stored samples were mixed in
    learner.zero_update()
    learner.local_update(batch.x, batch.y, None)
    output_bias = learner.net[-1].bias.grad
    assert (output_bias[old] != 0).all() and (output_bias[new] != 0).all()
    current_only = Batch(*stream[1].batch(torch.arange(16))[:2])
    learner.zero_update()
    learner.local_update(current_only.x, current_only.y, None)
    assert (learner.net[-1].bias.grad[old] == 0).all()  # absent classes are left alone


def test_lwf_distils_on_top_of_the_batch_masked_loss():
    stream = _stream()
    learner = Backprop(stream.input_dim, 4, hidden=(8,), loss_classes="batch")
    lwf = LwF(strength=1.0)
    Strategy(learner, [lwf], epochs=2).train_experience(stream[0])
    lwf.before_experience(learner, stream[1])
    batch = Batch(*stream[1].batch(torch.arange(16))[:2])
    with torch.no_grad():
        for p in learner.parameters():
            p.add_(0.1 * torch.randn_like(p))
    learner.zero_update()
    learner.local_update(batch.x, batch.y, None)
    old = list(stream[0].classes)
    assert (learner.net[-1].bias.grad[old] == 0).all()  # the masked loss ignores old classes
    learner.zero_update()
    learner.local_update(
        batch.x, batch.y, None, lambda outputs: lwf.extra_loss(learner, batch, outputs)
    )
    assert (learner.net[-1].bias.grad[old] != 0).all()  # distillation reaches them


@pytest.mark.parametrize(
    "base, variant",
    [
        ("finetune", "finetune-batch"),
        ("ewc", "ewc-batch"),
        ("si", "si-batch"),
        ("lwf", "lwf-batch"),
        ("replay", "replay-batch"),
        ("backprop+sleep", "backprop-batch+sleep"),
    ],
)
def test_batch_presets_differ_from_their_base_only_by_the_option(base, variant):
    a, b = specs.load_strategy(base).to_dict(), specs.load_strategy(variant).to_dict()
    assert b["learner"].pop("loss_classes") == "batch" and "loss_classes" not in a["learner"]
    assert (a["learner"], a["components"], a["training"]) == (
        b["learner"],
        b["components"],
        b["training"],
    )


def test_ewc_fisher_under_the_batch_local_loss_leaves_untrained_classes_free():
    """Under the batch-local loss the Fisher is that of the softmax over the classes trained so
    far: the output rows of classes not yet seen get zero importance (the full softmax gave
    them a Fisher of order one and EWC froze them before their experience)."""
    from continual.consolidation.ewc import fisher_diagonal

    stream = _stream()
    for option, untrained_zero in (("batch", True), ("all", False)):
        torch.manual_seed(0)
        learner = Backprop(stream.input_dim, 4, hidden=(8,), loss_classes=option)
        Strategy(learner, [], epochs=2).train_experience(stream[0])
        x, _, _ = stream[0].training_data()
        fisher = fisher_diagonal(learner, x, None, 200, torch.Generator().manual_seed(0))
        rows = fisher["net.2.weight"]
        old = list(stream[0].classes)
        new = [c for c in range(4) if c not in old]
        assert float(rows[old].sum()) > 0
        assert (float(rows[new].abs().sum()) == 0) == untrained_zero
