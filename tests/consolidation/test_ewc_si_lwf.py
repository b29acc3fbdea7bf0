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


def test_ewc_penalty_gradient_is_lambda_fisher_times_displacement():
    torch.manual_seed(0)
    learner = Backprop(5, 3, hidden=(4,))
    ewc = EWC(strength=7.0)
    fisher = {n: torch.rand_like(p) for n, p in learner.named_parameters()}
    ewc.anchor.consolidate(learner, fisher)
    anchor = {n: p.detach().clone() for n, p in learner.named_parameters()}
    with torch.no_grad():
        for p in learner.parameters():
            p.add_(torch.randn_like(p))
    learner.zero_update()
    ewc.adjust_update(learner, Batch(torch.zeros(1, 5), torch.zeros(1, dtype=torch.long)))
    for name, p in learner.named_parameters():
        torch.testing.assert_close(p.grad, 7.0 * fisher[name] * (p.detach() - anchor[name]))
    # and it is the gradient of the penalty ½ λ Σ F (θ − θ*)²
    penalty = 7.0 * ewc.anchor.penalty(learner)
    grads = torch.autograd.grad(penalty, list(learner.parameters()))
    for g, p in zip(grads, learner.parameters()):
        torch.testing.assert_close(g, p.grad)


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


def test_si_importance_is_nonnegative_and_follows_the_path():
    stream = class_incremental(synthetic(samples=300, classes=4), seed=0, experiences=2)
    learner = Backprop(stream.input_dim, 4, hidden=(8,), optimizer="sgd", lr=0.1)
    si = SynapticIntelligence(strength=1.0)
    Strategy(learner, [si], epochs=3).train_experience(stream[0])
    importance = si.anchor.importance
    assert all((v >= 0).all() for v in importance.values())
    # weights that never received an update (outputs of classes not in the experience) have ~0
    absent = [c for c in range(4) if c not in stream[0].classes]
    present = list(stream[0].classes)
    out = importance["net.2.bias"]
    assert out[present].min() > out[absent].max()


def test_lwf_is_refused_for_local_learners():
    with pytest.raises(ContinualError, match="backprop"):
        Strategy(ForwardForward(4, 2, hidden=(3,)), [LwF()])


def test_lwf_adds_a_distillation_gradient_after_the_first_experience():
    stream = class_incremental(synthetic(samples=300, classes=4), seed=0, experiences=2)
    learner = Backprop(stream.input_dim, 4, hidden=(8,))
    lwf = LwF(strength=1.0)
    Strategy(learner, [lwf], epochs=2).train_experience(stream[0])
    lwf.before_experience(learner, stream[1])
    batch = Batch(*stream[1].batch(torch.arange(8))[:2])
    with torch.no_grad():
        for p in learner.parameters():
            p.add_(0.1 * torch.randn_like(p))  # make the student differ from its teacher
    learner.zero_update()
    lwf.adjust_update(learner, batch)
    assert sum(float(p.grad.abs().sum()) for p in learner.parameters()) > 0


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
