import copy

import pytest
import torch

from continual.components.base import Batch
from continual.consolidation.ewc import EWC, fisher_diagonal, linear_fisher, per_sample_fisher
from continual.consolidation.lwf import LwF
from continual.consolidation.si import SynapticIntelligence
from continual.errors import ContinualError
from continual.learners.backprop import Backprop
from continual.learners.forward_forward import ForwardForward
from continual.scenarios.sources import synthetic
from continual.scenarios.split import class_incremental
from continual.strategy import Strategy


def test_ewc_step_is_the_proximal_step_of_the_penalty():
    torch.manual_seed(0)
    learner = Backprop(5, 3, hidden=(4,), optimizer="sgd", lr=0.1)
    ewc = EWC(strength=7.0)
    fisher = {n: torch.rand_like(p) for n, p in learner.named_parameters()}
    ewc.anchor.consolidate(learner, fisher)
    anchor = {n: p.detach().clone() for n, p in learner.named_parameters()}
    with torch.no_grad():
        for p in learner.parameters():
            p.add_(torch.randn_like(p))
    moved = {n: p.detach().clone() for n, p in learner.named_parameters()}
    ewc.after_step(learner, Batch(torch.zeros(1, 5), torch.zeros(1, dtype=torch.long)))
    for name, p in learner.named_parameters():
        pull = 0.1 * 7.0 * fisher[name]  # η·λ·F
        torch.testing.assert_close(p.detach(), (moved[name] + pull * anchor[name]) / (1 + pull))
    # it decreases ½‖θ − v‖²/η + ½ λ Σ F (θ − θ*)²: its gradient vanishes at the result
    penalty = 7.0 * ewc.anchor.penalty(learner) + sum(
        0.5 * (p - moved[n]).square().sum() / 0.1 for n, p in learner.named_parameters()
    )
    for g in torch.autograd.grad(penalty, list(learner.parameters())):
        torch.testing.assert_close(g, torch.zeros_like(g), atol=1e-5, rtol=0)


def test_fisher_matches_a_per_sample_loop():
    torch.manual_seed(0)
    learner = Backprop(6, 3, hidden=(5,))
    x = torch.rand(12, 6)
    fisher = fisher_diagonal(learner, x, None, 12, torch.Generator().manual_seed(1))
    generator = torch.Generator().manual_seed(1)
    order = torch.randperm(12, generator=generator)
    xs = x[order]
    probabilities = torch.softmax(learner.predict(xs), 1)
    labels = (probabilities.cumsum(1) < torch.rand(12, 1, generator=generator)).sum(1)
    expected = {n: torch.zeros_like(p) for n, p in learner.named_parameters()}
    for i in range(12):
        learner.zero_grad()
        torch.log_softmax(learner.predict(xs[i : i + 1]), 1)[0, labels[i]].backward()
        for n, p in learner.named_parameters():
            expected[n] += p.grad.square() / 12
    for n in expected:
        torch.testing.assert_close(fisher[n], expected[n], rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("origin", [[0.0, 0.0, 0.0], [0.5, -1.0, 2.5]])
def test_si_path_integral_is_each_weights_share_of_the_loss_decrease(origin):
    # On L = ½ Σ a (θ − c)² plain gradient descent lowers each weight's loss term by
    # η g² (1 − aη/2) per step, so ω = Σ η g² = ΔL_i / (1 − aη/2) exactly (Zenke et al.'s
    # ω ≈ the weight's contribution to the loss decrease), and Ω = ω / (Δθ² + ξ), Δθ measured
    # from the experience's start (not from 0: the second origin tells them apart).
    from tests.consolidation.test_anchor import CURVATURE, TARGET, Quadratic

    learner = Quadratic("sgd", 0.1)
    with torch.no_grad():
        learner.theta.copy_(torch.tensor(origin))
    start = learner.theta.detach().clone()
    si = SynapticIntelligence(strength=0.0, damping=0.5)
    batch = Batch(torch.zeros(1, 3), torch.zeros(1, dtype=torch.long))
    experience = type("E", (), {"index": 0})()
    si.before_experience(learner, experience)
    for _ in range(7):
        learner.observe(batch.x, batch.y, before_step=lambda lr: si.before_step(lr, batch))
        si.after_step(learner, batch)
    si.after_experience(learner, experience)
    end = learner.theta.detach()
    decrease = 0.5 * CURVATURE * ((start - TARGET).square() - (end - TARGET).square())
    omega = decrease / (1 - CURVATURE * 0.1 / 2)
    expected = omega / ((end - start).square() + 0.5)
    torch.testing.assert_close(si.anchor.importance["theta"], expected)


def test_si_importance_follows_the_path():
    """Weights that never move get no importance: under the batch-local loss the outputs of
    classes absent from the experience receive no update, so their path integral is exactly 0,
    while the present classes' outputs, which did the learning, get a positive one."""
    torch.manual_seed(0)
    stream = class_incremental(synthetic(samples=300, classes=4), seed=0, experiences=2)
    learner = Backprop(
        stream.input_dim, 4, hidden=(8,), optimizer="sgd", lr=0.1, loss_classes="batch"
    )
    si = SynapticIntelligence(strength=1.0)
    Strategy(learner, [si], epochs=3).train_experience(stream[0])
    importance = si.anchor.importance
    absent = [c for c in range(4) if c not in stream[0].classes]
    present = list(stream[0].classes)
    bias, weight = importance["net.2.bias"], importance["net.2.weight"]
    assert (bias[absent] == 0).all() and (weight[absent] == 0).all()
    assert (bias[present] > 0).all() and (weight[present].sum(1) > 0).all()


def test_lwf_is_refused_for_local_learners():
    with pytest.raises(ContinualError, match="backprop"):
        Strategy(ForwardForward(4, 2, hidden=(3,)), [LwF()])


def _lwf_at_second_experience(strength: float, moved: bool, **options):
    """A learner trained on experience 0 with LwF, and LwF ready for experience 1 (its teacher:
    the learner as trained); ``moved`` shifts the student away from its teacher."""
    stream = class_incremental(synthetic(samples=300, classes=4), seed=0, experiences=2)
    learner = Backprop(stream.input_dim, 4, hidden=(8,), **options)
    lwf = LwF(strength=strength)
    strategy = Strategy(learner, [lwf], epochs=2)
    strategy.train_experience(stream[0])
    lwf.before_experience(learner, stream[1])
    if moved:
        with torch.no_grad():
            for p in learner.parameters():
                p.add_(0.1 * torch.randn_like(p))
    return stream, learner, lwf, strategy


def lwf_gradient(lwf: LwF, learner: Backprop, batch: Batch) -> None:
    """p.grad ← ∇ of LwF's loss term alone (on the learner's raw outputs)."""
    learner.zero_update()
    term = lwf.extra_loss(learner, batch, learner.predict(batch.x))
    if term is not None:
        term.backward()
    learner.fill_update()


def test_lwf_term_joins_the_learners_loss_in_its_one_backward_pass():
    """Strategy.train_step hands LwF's term to the learner, whose update is then ∇(CE + term): the
    same as the two gradients added, and not the cross-entropy's alone."""
    stream, learner, lwf, strategy = _lwf_at_second_experience(
        2.0, moved=True, optimizer="sgd", lr=0.1
    )
    batch = Batch(*stream[1].batch(torch.arange(8))[:2])
    before = copy.deepcopy(learner)
    lwf_gradient(lwf, before, batch)
    distillation = [p.grad.clone() for p in before.parameters()]
    before.zero_update()
    torch.nn.functional.cross_entropy(before.predict(batch.x), batch.y).backward()
    expected = [p.detach() - 0.1 * (p.grad + d) for p, d in zip(before.parameters(), distillation)]
    strategy.train_step(batch)  # one SGD step (no momentum) with the joint update
    for p, e in zip(learner.parameters(), expected):
        torch.testing.assert_close(p.detach(), e)
    assert sum(float(d.abs().sum()) for d in distillation) > 0


def test_lwf_adds_a_distillation_gradient_after_the_first_experience():
    stream, learner, lwf, _ = _lwf_at_second_experience(1.0, moved=True)
    batch = Batch(*stream[1].batch(torch.arange(8))[:2])
    lwf_gradient(lwf, learner, batch)
    assert sum(float(p.grad.abs().sum()) for p in learner.parameters()) > 0
    # it is the gradient of λT²·KL(softmax(t/T) ‖ softmax(s/T)) over the old classes
    old = list(stream[0].classes)
    teacher = torch.softmax(lwf.teacher.predict(batch.x)[:, old].detach() / 2.0, 1)
    student = torch.log_softmax(learner.predict(batch.x)[:, old] / 2.0, 1)
    loss = 1.0 * 4.0 * (teacher * (teacher.log() - student)).sum(1).mean()
    expected = torch.autograd.grad(loss, list(learner.parameters()))
    for g, p in zip(expected, learner.parameters()):
        torch.testing.assert_close(p.grad, g)


def test_lwf_gives_no_gradient_while_the_student_matches_its_teacher():
    stream, learner, lwf, _ = _lwf_at_second_experience(1.0, moved=False)
    lwf_gradient(lwf, learner, Batch(*stream[1].batch(torch.arange(8))[:2]))
    for p in learner.parameters():
        torch.testing.assert_close(p.grad, torch.zeros_like(p), atol=1e-7, rtol=0)


def _ff_goodness_by_hand(learner: ForwardForward, x: torch.Tensor) -> torch.Tensor:
    """FF's goodness scores written out with no detach: the network as a function."""
    scores = []
    for label in range(learner.num_classes):
        code = torch.nn.functional.one_hot(torch.full((len(x),), label), learner.num_classes)
        h = torch.cat([x, code.float()], 1)
        total = 0
        for layer in learner.layers:
            h = h / (h.square().mean(1, keepdim=True).sqrt() + 1e-6)
            h = torch.relu(h @ layer.weight.T + layer.bias)
            total = total + h.square().sum(1)
        scores.append(total)
    return torch.stack(scores, 1)


def test_ff_fisher_is_that_of_the_whole_predictive_distribution():
    torch.manual_seed(0)
    learner = ForwardForward(5, 3, hidden=(6, 6), threshold=1.0)
    x = torch.rand(10, 5)
    fisher = fisher_diagonal(learner, x, None, 10, torch.Generator().manual_seed(1))
    generator = torch.Generator().manual_seed(1)
    xs = x[torch.randperm(10, generator=generator)]
    with torch.no_grad():
        probabilities = torch.softmax(_ff_goodness_by_hand(learner, xs), 1)
    labels = (probabilities.cumsum(1) < torch.rand(10, 1, generator=generator)).sum(1)
    first = learner.layers[0].weight
    expected = torch.zeros_like(first)
    for i in range(10):
        log_p = torch.log_softmax(_ff_goodness_by_hand(learner, xs[i : i + 1]), 1)[0, labels[i]]
        expected += torch.autograd.grad(log_p, first)[0].square() / 10
    # the layer-local (detached) Fisher misses the first layer's paths through the second
    torch.testing.assert_close(fisher["layers.0.weight"], expected, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("tasks", [False, True])
def test_linear_fisher_equals_per_sample_gradients_exactly(tasks):
    torch.manual_seed(0)
    learner = Backprop(7, 4, hidden=(6, 5)).double()
    if tasks:
        learner.add_task(0, [0, 1])
        learner.add_task(1, [2, 3])
    x = torch.rand(40, 7, dtype=torch.float64)
    task = torch.arange(40) % 2 if tasks else None
    labels = torch.randint(0, 2, (40,)) + (2 * task if tasks else 0)
    fast = linear_fisher(learner, x, task, labels)
    slow = per_sample_fisher(learner, x, task, labels, chunk=7)
    assert (
        fast is not None and fast.keys() == slow.keys() == dict(learner.named_parameters()).keys()
    )
    for name in slow:
        torch.testing.assert_close(fast[name], slow[name], rtol=1e-12, atol=1e-15)
    assert all(bool(v.abs().sum() > 0) for v in fast.values())


def test_linear_fisher_declines_learners_that_are_not_a_plain_chain():
    torch.manual_seed(0)
    forward_forward = ForwardForward(6, 3, hidden=(5,))  # runs its layers once per label
    x, labels = torch.rand(8, 6), torch.randint(0, 3, (8,))
    assert linear_fisher(forward_forward, x, None, labels) is None
    fisher = fisher_diagonal(forward_forward, x, None, 8, torch.Generator().manual_seed(0))
    assert fisher.keys() == dict(forward_forward.named_parameters()).keys()


# EWC's end-of-experience hook (found untested by mutation testing, docs/mutation-testing.md): its
# online Fisher accumulation (F ← γ·F + F_new), its anchor (θ* ← θ), the learner's mode, and the
# task-restricted output under task labels.


def test_ewc_after_experience_accumulates_online_fisher_and_anchors_the_current_weights():
    torch.manual_seed(0)
    stream = class_incremental(synthetic(samples=120, classes=4), seed=0, experiences=2)
    learner = Backprop(stream.input_dim, 4, hidden=(6,))
    learner.train()
    ewc = EWC(gamma=0.5, fisher_samples=40)
    generator = torch.Generator().manual_seed(0)  # the same draws as the component's own

    ewc.after_experience(learner, stream[0])
    first = fisher_diagonal(learner.eval(), *stream[0].training_data()[::2], 40, generator)
    learner.train()
    with torch.no_grad():
        for p in learner.parameters():
            p.add_(0.3 * torch.randn_like(p))  # training on the next experience moved the weights
    ewc.after_experience(learner, stream[1])
    second = fisher_diagonal(learner.eval(), *stream[1].training_data()[::2], 40, generator)

    assert learner.eval().training is False and learner.train().training is True
    for name, p in learner.named_parameters():
        assert first[name].abs().sum() > 0
        torch.testing.assert_close(ewc.anchor.importance[name], 0.5 * first[name] + second[name])
        torch.testing.assert_close(ewc.anchor.anchor[name], p.detach())


def test_ewc_after_experience_leaves_the_learner_in_the_mode_it_found():
    stream = class_incremental(synthetic(samples=60, classes=2), seed=0, experiences=1)
    learner = Backprop(stream.input_dim, 2, hidden=(4,))
    ewc = EWC(fisher_samples=8)
    learner.train()
    ewc.after_experience(learner, stream[0])
    assert learner.training
    learner.eval()
    ewc.after_experience(learner, stream[0])
    assert not learner.training


def test_task_incremental_fisher_uses_the_task_restricted_output():
    """With task ids, p(y|x) is the softmax over the task's own classes (a multi-headed output),
    so the output weights of the other task's classes carry no Fisher information."""
    torch.manual_seed(0)
    learner = Backprop(5, 4, hidden=(6,))
    learner.add_task(0, [0, 1])
    learner.add_task(1, [2, 3])
    x = torch.rand(30, 5)
    task = torch.zeros(30, dtype=torch.long)
    fisher = fisher_diagonal(learner, x, task, 30, torch.Generator().manual_seed(0))
    assert fisher["net.2.weight"][2:].abs().max() == 0 and fisher["net.2.bias"][2:].max() == 0
    assert fisher["net.2.bias"][:2].min() > 0
    unrestricted = fisher_diagonal(learner, x, None, 30, torch.Generator().manual_seed(0))
    assert unrestricted["net.2.bias"][2:].min() > 0  # without task ids: every class


# Found by mutation testing (docs/mutation-testing.md): the LwF gradient was only checked to be
# non-zero (a wrong temperature or target survived), and the EWC Fisher was only computed on one
# chunk of samples (dropping the sum over chunks survived).


def test_lwf_gradient_is_that_of_the_temperature_scaled_distillation_loss():
    """∇ of λ·T²·(1/B)·Σ_b KL(softmax(t_b/T) ‖ softmax(s_b/T)) over the old classes (Li & Hoiem
    2017; Hinton et al. 2015 for the T² factor), written out by hand."""
    torch.manual_seed(0)
    learner = Backprop(5, 4, hidden=(6,))
    lwf = LwF(strength=0.7, temperature=3.0)
    lwf.seen = {0, 2}
    lwf.before_experience(learner, None)
    with torch.no_grad():
        for p in learner.parameters():
            p.add_(0.2 * torch.randn_like(p))  # the student has moved away from its teacher
    x = torch.rand(9, 5)
    learner.zero_update()
    lwf.extra_loss(
        learner, Batch(x, torch.zeros(9, dtype=torch.long)), learner.predict(x)
    ).backward()
    student = copy.deepcopy(learner)
    with torch.no_grad():
        teacher = torch.softmax(lwf.teacher.predict(x)[:, [0, 2]] / 3.0, dim=1)
    log_student = torch.log_softmax(student.predict(x)[:, [0, 2]] / 3.0, dim=1)
    kl = (teacher * (teacher.log() - log_student)).sum(1).mean()
    grads = torch.autograd.grad(0.7 * 9.0 * kl, list(student.parameters()))
    for expected, p in zip(grads, learner.parameters()):
        torch.testing.assert_close(p.grad, expected)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_fisher_sums_over_every_chunk_of_samples():
    torch.manual_seed(0)
    learner = Backprop(6, 3, hidden=(5,))
    x = torch.rand(50, 6)
    whole = fisher_diagonal(learner, x, None, 50, torch.Generator().manual_seed(1), chunk=1000)
    parts = fisher_diagonal(learner, x, None, 50, torch.Generator().manual_seed(1), chunk=7)
    for name in whole:
        torch.testing.assert_close(parts[name], whole[name])
