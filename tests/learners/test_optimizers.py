"""The optimisers every learner steps with: the fast forms do the arithmetic of the plain ones."""

from __future__ import annotations

import pytest
import torch

from continual.learners import base
from continual.learners.base import fused_adam, make_optimizer

SHAPES = [(40, 12), (40,), (5, 40), (5,)]


def _train(build, steps: int = 60) -> list[torch.Tensor]:
    torch.manual_seed(0)
    params = [torch.randn(shape, requires_grad=True) for shape in SHAPES]
    optimizer = build(params)
    generator = torch.Generator().manual_seed(1)
    for step in range(steps):
        scale = 1e-21 if step % 7 == 3 else 1e-2  # now and then a denormal second moment
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator) * scale
        optimizer.step()
    return [p.detach() for p in params]


@pytest.mark.parametrize("momentum, decay", [(0.0, 0.0), (0.9, 0.0), (0.9, 1e-3)])
def test_sgd_is_bitwise_the_single_tensor_loop(momentum, decay):
    ours = _train(lambda ps: make_optimizer("sgd", ps, 0.05, momentum, decay))
    plain = _train(
        lambda ps: torch.optim.SGD(
            ps, lr=0.05, momentum=momentum, weight_decay=decay, foreach=False
        )
    )
    assert all(torch.equal(a, b) for a, b in zip(ours, plain))


@pytest.mark.parametrize("name, decay", [("adam", 0.0), ("adam", 1e-3), ("adamw", 1e-2)])
def test_adam_is_fused_where_torch_has_it_and_steps_like_the_plain_loop(name, decay):
    optimizer = make_optimizer(name, [torch.zeros(2, requires_grad=True)], 1e-3, 0.0, decay)
    assert optimizer.defaults["fused"] is (True if fused_adam() else None)
    ours = _train(lambda ps: make_optimizer(name, ps, 1e-2, 0.0, decay))
    kind = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    plain = _train(lambda ps: kind(ps, lr=1e-2, weight_decay=decay, foreach=False))
    start = _train(lambda ps: kind(ps, lr=1e-2), steps=0)
    assert min(float((a - b).abs().max()) for a, b in zip(plain, start)) > 0.05  # real steps
    for a, b in zip(ours, plain):  # rounded differently, never more than float noise apart
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_without_a_fused_kernel_adam_falls_back_to_foreach(monkeypatch):
    real = torch.optim.Adam

    def no_fused(params, **options):
        if options.get("fused"):
            raise RuntimeError("`fused=True` requires all the params to be on CUDA")
        return real(params, **options)

    monkeypatch.setattr(torch.optim, "Adam", no_fused)
    monkeypatch.setitem(base.OPTIMIZERS, "adam", no_fused)
    fused_adam.cache_clear()
    try:
        assert not fused_adam()
        optimizer = make_optimizer("adam", [torch.zeros(2, requires_grad=True)], 1e-3)
        assert optimizer.defaults["foreach"] is True and not optimizer.defaults["fused"]
    finally:
        fused_adam.cache_clear()
