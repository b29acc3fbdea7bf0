"""Statistics over seeds on hand-computed samples."""

import math

import pytest

from continual.statistics import (
    N_TOO_SMALL,
    estimate,
    format_p,
    holm,
    holm_family,
    paired,
    paired_t_p,
)


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
    # t = 1 / (0.5/√3) = √12 with 2 degrees of freedom, where P(|T| > t) = 1 − t/√(t² + 2)
    assert p.t_p == pytest.approx(1 - math.sqrt(12 / 14)) and p.t_p == p.holm_p
    assert p.t_p > 0.05  # the test that the interval inverts agrees with it
    assert p.wilcoxon_p is None and p.wilcoxon_note == N_TOO_SMALL  # 3 pairs: p ≥ 2/8


def test_a_consistent_gain_is_distinguishable_and_pairing_matters():
    # Large spread across seeds, constant +1 gain: unpaired it would be noise, paired it is clear.
    a = {s: 10.0 * s + 1.0 + 0.01 * (s % 2) for s in range(5)}
    b = {s: 10.0 * s for s in range(5)}
    p = paired(a, b)
    assert p.distinguishable and p.difference.low > 0.9
    assert paired({0: 1.0}, {1: 1.0}) is None


def test_equal_differences_are_never_called_distinguishable():
    p = paired({0: 1.0, 1: 2.0}, {0: 0.5, 1: 1.5})  # differences 0.5, 0.5: zero width
    assert p.difference.low == p.difference.high == 0.5 and not p.distinguishable
    for n in (3, 10):  # no spread, no claim, however many seeds
        p = paired({s: 1.0 + s for s in range(n)}, {s: 0.5 + s for s in range(n)})
        assert p.difference.std == 0 and p.t_p is None and not p.distinguishable
    # + 0.1 in floating point is not exactly the same difference on every seed: still no spread
    a = {s: 0.1 * s + 0.03 for s in range(6)}
    p = paired({s: v + 0.1 for s, v in a.items()}, a)
    assert 0 < p.difference.std < 1e-15 and p.t_p is None and not p.distinguishable
    assert p.simultaneous is None


def test_wilcoxon_from_six_pairs_on():
    five = paired({s: float(s + 1) for s in range(5)}, {s: 0.0 for s in range(5)})
    assert five.wilcoxon_p is None and five.wilcoxon_note == "n too small"
    six = paired({s: float(s + 1) for s in range(6)}, {s: 0.0 for s in range(6)})
    # all six differences positive: the exact two-sided p is 2/2^6
    assert six.wilcoxon_p == pytest.approx(2 / 64) and six.wilcoxon_note is None
    zero = paired({s: 1.0 for s in range(6)}, {s: 1.0 for s in range(6)})
    assert zero.wilcoxon_p is None and zero.wilcoxon_note == "all differences zero"
    assert format_p(None, five.wilcoxon_note) == "n too small" and format_p(None) == "—"
    assert format_p(0.0004) == "<0.001" and format_p(0.03125) == "0.031"


def test_holm_on_hand_computed_values():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04; the running
    # maximum makes the last 0.06; back in the input order:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # capped at 1, then monotone
    assert holm([0.01]) == [0.01] and holm([]) == []
    # an undefined p counts in m (as p = 1) and stays undefined
    adjusted = holm([0.01, None, 0.02])
    assert adjusted[1] is None and adjusted[0] == pytest.approx(0.03)
    assert adjusted[2] == pytest.approx(0.04)


def test_holm_family_stars_only_what_survives_the_correction():
    base = {s: 0.0 for s in range(6)}
    spread = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]
    means = [3.0, 1.3, 1.4]  # raw p 0.0011, 0.0335, 0.0259: each below 0.05 alone
    comparisons = [paired({s: m + spread[s] for s in base}, base) for m in means]
    raw = [c.t_p for c in comparisons]
    assert raw == pytest.approx([0.0011144, 0.0335208, 0.0259429], rel=1e-4)
    family = holm_family([comparisons[0], None, *comparisons[1:]])
    assert family[1] is None  # nothing paired: not part of the family
    kept = [family[0], family[2], family[3]]
    # 3 · 0.0011 = 0.0033; 2 · 0.0259 = 0.0519; max(0.0519, 1 · 0.0335) = 0.0519
    assert [c.holm_p for c in kept] == pytest.approx([3 * raw[0], 2 * raw[2], 2 * raw[2]])
    assert all(c.family == 3 and c.t_p == r for c, r in zip(kept, raw))
    assert all(c.difference.low > 0 for c in comparisons)  # every raw interval excludes 0
    assert [c.distinguishable for c in kept] == [True, False, False]  # Holm keeps one


def test_holm_against_the_t_test_and_a_looser_bonferroni_interval():
    scipy_stats = pytest.importorskip("scipy.stats")
    a = {0: 0.61, 1: 0.70, 2: 0.58, 3: 0.66, 4: 0.73, 5: 0.64}
    b = {0: 0.55, 1: 0.69, 2: 0.50, 3: 0.60, 4: 0.70, 5: 0.62}
    p = paired(a, b)
    reference = scipy_stats.ttest_rel(list(a.values()), list(b.values()))
    assert p.t_p == pytest.approx(reference.pvalue)
    assert paired_t_p(p.difference) == p.t_p
    (three,) = holm_family([p])
    assert three.simultaneous == pytest.approx((three.difference.low, three.difference.high))
    wider = holm_family([p, p, p])[0]
    low, high = wider.simultaneous
    # Bonferroni at 1 − 0.05/3: the t quantile at 1 − 0.05/6 with 5 degrees of freedom
    half = scipy_stats.t.ppf(1 - 0.05 / 6, 5) * p.difference.std / math.sqrt(6)
    assert (low, high) == pytest.approx((p.difference.mean - half, p.difference.mean + half))
