"""The Hebbian readout: its statistics are SLDA's, its settling converges to SLDA's precision,
and its truncation is the closed-form spectral filter."""

from __future__ import annotations

import pytest
import torch

from continual import registry
from continual.ranges import RangeError
from continual.readouts.hebbian import HebbianReadout, settle
from continual.readouts.slda import StreamingLDA, covariance, fit_statistics, lda_predict
from continual.scenarios.sources import digits


def digit_pixels():
    data = digits()
    return data.x_train.flatten(1), data.y_train, data.x_test.flatten(1), data.y_test


def test_statistics_are_slda_statistics():
    x, y, _, _ = digit_pixels()
    hebbian, slda = HebbianReadout(64, 10), StreamingLDA(64, 10)
    for part in torch.arange(len(y)).tensor_split([100, 700]):
        hebbian.update(x[part], y[part])
        slda.update(x[part], y[part])
    for got, want in zip(hebbian.statistics(), slda.statistics()):
        assert torch.equal(got, want)


def test_settling_long_enough_is_slda():
    x, y, x_test, _ = digit_pixels()
    statistics = fit_statistics(x, y, 10)
    exact = lda_predict(x_test, statistics, 0.1)
    model = HebbianReadout(64, 10, shrinkage=0.1, settle_steps=3000)
    model.update(x, y)
    torch.testing.assert_close(model(x_test).double(), exact, rtol=1e-4, atol=1e-3)


def test_truncated_settling_is_the_spectral_filter():
    # z_K = Σ_{k<K} η (I − ηA)^k x: each eigenmode (λ, v) of A is scaled by (1 − (1 − ηλ)^K)/λ
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(40, 5, generator=generator) * torch.tensor([3.0, 1.0, 0.5, 0.1, 0.01])
    y = torch.randint(0, 3, (40,), generator=generator)
    statistics = fit_statistics(x, y, 3)
    epsilon, steps = 1e-3, 7
    a = (1 - epsilon) * covariance(statistics) + epsilon * torch.eye(5, dtype=torch.float64)
    rate = 1 / a.abs().sum(1).max()
    values, vectors = torch.linalg.eigh(a)
    gain = (1 - (1 - rate * values) ** steps) / values
    expected = statistics.means @ vectors @ torch.diag(gain) @ vectors.T
    torch.testing.assert_close(settle(statistics.means, statistics, epsilon, steps), expected)
    exact = torch.linalg.solve(a, statistics.means.T).T
    assert not torch.allclose(expected, exact, rtol=0.1)  # 7 steps are far from the inverse


def test_learns_digits_class_incrementally_near_slda():
    x, y, x_test, y_test = digit_pixels()
    model = HebbianReadout(64, 10)
    for group in range(0, 10, 2):
        chosen = (y == group) | (y == group + 1)
        model.update(x[chosen], y[chosen])
    accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    assert accuracy > 0.93  # chance 0.1; measured 0.958, as SLDA


def test_state_dict_round_trip_and_option_ranges():
    x, y, x_test, _ = digit_pixels()
    model = HebbianReadout(64, 10, settle_steps=20)
    model.update(x, y)
    copy = HebbianReadout(64, 10, settle_steps=20)
    copy.load_state_dict(model.state_dict())
    assert torch.equal(copy(x_test), model(x_test))
    factory = registry.READOUTS["hebbian"].load()
    with pytest.raises(RangeError, match="settle_steps"):
        registry.check_fields(factory, {"settle_steps": 0})
    with pytest.raises(RangeError, match="shrinkage"):
        registry.check_fields(factory, {"shrinkage": 1.5})
