"""Statistics over seeds on hand-computed samples."""

import math

import pytest

from continual.report.statistics import estimate, paired


def test_estimate_of_a_known_sample():
    e = estimate([1.0, 2.0, 3.0, 4.0])
    assert e.mean == 2.5 and e.n == 4
    assert e.std == pytest.approx(math.sqrt(5 / 3))  # sample std, ddof = 1
    # t_{0.975, 3} = 3.182446; half width = t * s / sqrt(n)
    assert e.half_width == pytest.approx(3.182446 * math.sqrt(5 / 3) / 2, rel=1e-6)
    assert e.low == pytest.approx(2.5 - e.half_width) and e.high == pytest.approx(
        2.5 + e.half_width
    )


def test_estimate_edge_cases():
    assert estimate([]) is None and estimate([None, None]) is None
    one = estimate([0.7, None])
    assert one.mean == 0.7 and one.n == 1 and one.low is None
    flat = estimate([0.5, 0.5, 0.5])
    assert flat.std == 0 and flat.low == flat.high == 0.5


def test_paired_difference_uses_shared_seeds_only():
    a = {0: 1.0, 1: 2.0, 2: 3.5, 7: 100.0}
    b = {0: 0.5, 1: 1.0, 2: 2.0, 9: -100.0}
    p = paired(a, b)
    assert p.seeds == (0, 1, 2)
    assert p.difference.mean == pytest.approx(1.0) and p.difference.std == pytest.approx(0.5)
    # t_{0.975, 2} = 4.302653
    assert p.difference.half_width == pytest.approx(4.302653 * 0.5 / math.sqrt(3), rel=1e-6)
    assert not p.distinguishable  # the interval [-0.24, 2.24] contains zero
    assert p.wilcoxon_p == pytest.approx(0.25)


def test_a_consistent_gain_is_distinguishable_and_pairing_matters():
    # Large spread across seeds, constant +1 gain: unpaired it would be noise, paired it is clear.
    a = {s: 10.0 * s + 1.0 + 0.01 * (s % 2) for s in range(5)}
    b = {s: 10.0 * s for s in range(5)}
    p = paired(a, b)
    assert p.distinguishable and p.difference.low > 0.9
    assert paired({0: 1.0}, {1: 1.0}) is None


def test_two_equal_differences_are_not_called_distinguishable():
    p = paired({0: 1.0, 1: 2.0}, {0: 0.5, 1: 1.5})  # differences 0.5, 0.5: zero width
    assert p.difference.low == p.difference.high == 0.5 and not p.distinguishable
    assert paired({s: 1.0 + s for s in range(3)}, {s: 0.5 + s for s in range(3)}).distinguishable
