"""Statistics over seeds, from scipy: the mean with its Student-t 95 % confidence interval, and
the paired difference of two strategies run on the same seeds (paired t interval and p-value,
the Wilcoxon signed-rank p-value as a check that does not assume normality), with Holm's
correction (Holm 1979) over a family of such comparisons. Pure functions of the numbers they are
given; the report layer decides what to compare and which comparisons form a family.

The rules a star (*distinguishable from zero*) follows:

- the paired t p-value of the comparison, Holm-adjusted within its family (the comparisons of
  one ablation ladder, or every strategy against the reference in one report table, for one
  metric), is below 1 − confidence (0.05); without a family the raw p-value is used, which is
  the same as the 95 % interval excluding zero;
- differences without spread (all equal, or fewer than two) are never starred: a zero-width
  interval says nothing of the seed-to-seed spread, so it makes no claim;
- the Wilcoxon signed-rank check is reported only from 6 pairs on: with n pairs its exact
  two-sided p-value cannot go below 2/2^n (0.0625 at n = 5, 0.031 at n = 6), so below 6 it
  could never confirm anything and is shown as "n too small".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """Mean, sample standard deviation (ddof = 1), count and the two-sided confidence interval
    mean ± t_{1−α/2, n−1} · std / √n (None for fewer than two values)."""

    mean: float
    std: float
    n: int
    low: float | None
    high: float | None
    confidence: float = CONFIDENCE

    @property
    def half_width(self) -> float | None:
        return None if self.low is None or self.high is None else (self.high - self.low) / 2


def estimate(values: Iterable[float | None], confidence: float = CONFIDENCE) -> Estimate | None:
    """The :class:`Estimate` of the defined (non-None) values, or None if there are none."""
    from scipy import stats

    data = np.asarray([float(v) for v in values if v is not None], dtype=np.float64)
    if data.size == 0:
        return None
    mean = float(data.mean())
    if data.size < 2:
        return Estimate(mean, 0.0, 1, None, None, confidence)
    std = float(data.std(ddof=1))
    if std == 0.0:
        return Estimate(mean, 0.0, int(data.size), mean, mean, confidence)
    low, high = stats.t.interval(confidence, data.size - 1, loc=mean, scale=stats.sem(data))
    return Estimate(mean, std, int(data.size), float(low), float(high), confidence)


WILCOXON_MIN_PAIRS = 6  # the fewest pairs whose exact two-sided p can go below 0.05 (2/2^6)
N_TOO_SMALL = "n too small"
NO_DIFFERENCE = "all differences zero"
# a spread this small relative to the mean is rounding, not seed-to-seed variation (the
# differences of 0.1 added to each seed's accuracy are not exactly equal in floating point)
RELATIVE_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Paired:
    """The per-seed difference ``a − b`` of two runs on the same seeds: its estimate (paired t
    interval), the seeds it used, the paired t test's two-sided p-value ``t_p`` (None without
    spread: fewer than two differences, or all equal), its Holm-adjusted value ``holm_p`` within
    a family of ``family`` comparisons (``holm_p == t_p`` for a family of one, see
    :func:`holm_family`), and the Wilcoxon signed-rank p-value (None, with the reason in
    ``wilcoxon_note``, below :data:`WILCOXON_MIN_PAIRS` pairs or when every difference is 0)."""

    difference: Estimate
    seeds: tuple[int, ...]
    wilcoxon_p: float | None
    t_p: float | None = None
    holm_p: float | None = None
    family: int = 1
    wilcoxon_note: str | None = None

    @property
    def distinguishable(self) -> bool:
        """The (Holm-adjusted, in a family) p-value is below 1 − confidence; never without
        spread (all differences equal: a zero-width interval makes no claim)."""
        return self.holm_p is not None and self.holm_p < 1 - self.difference.confidence

    @property
    def simultaneous(self) -> tuple[float, float] | None:
        """The Bonferroni interval of this comparison, at confidence 1 − α/``family``: the
        ``family`` intervals of a family hold together with probability ≥ 1 − α (it is wider
        than Holm's test needs: an interval may straddle zero while the Holm-adjusted p is
        below α). None without spread."""
        d = self.difference
        if self.t_p is None:
            return None
        from scipy import stats

        level = 1 - (1 - d.confidence) / self.family
        half = float(stats.t.ppf(1 - (1 - level) / 2, d.n - 1)) * d.std / math.sqrt(d.n)
        return d.mean - half, d.mean + half


def has_spread(difference: Estimate) -> bool:
    """At least two values that are not all equal (beyond floating-point rounding)."""
    scale = max(1.0, abs(difference.mean))
    return difference.n >= 2 and difference.std > RELATIVE_TOLERANCE * scale


def paired_t_p(difference: Estimate) -> float | None:
    """The two-sided p-value of the paired t test of a zero mean difference (the test whose
    inversion is the paired t interval: p < α exactly when the 1 − α interval excludes 0);
    None without spread."""
    if not has_spread(difference):
        return None
    from scipy import stats

    t = difference.mean / (difference.std / math.sqrt(difference.n))
    return float(2 * stats.t.sf(abs(t), difference.n - 1))


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (Holm 1979, "A simple sequentially rejective multiple
    test procedure"): with the m p-values sorted p_(1) ≤ … ≤ p_(m),
    adjusted p_(i) = max_{j ≤ i} min(1, (m − j + 1) · p_(j)), in the input order. Rejecting
    where the adjusted p < α keeps the family-wise error rate at α under any dependence. An
    undefined p-value (None) stays None but counts in m as p = 1 (a comparison that was made
    and cannot be rejected; the conservative choice)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: 1.0 if p_values[i] is None else p_values[i])
    adjusted: list[float | None] = [None] * m
    running = 0.0
    for rank, i in enumerate(order):
        p = p_values[i]
        value = 1.0 if p is None else min(1.0, (m - rank) * p)
        running = max(running, value)
        adjusted[i] = None if p is None else running
    return adjusted


def holm_family(comparisons: Sequence[Paired | None]) -> list[Paired | None]:
    """The comparisons of one family (one metric) with their Holm-adjusted p-values; ``None``
    (nothing paired) is left out of the family and returned as is."""
    present = [c for c in comparisons if c is not None]
    adjusted = iter(holm([c.t_p for c in present]))
    return [
        None if c is None else replace(c, holm_p=next(adjusted), family=len(present))
        for c in comparisons
    ]


def paired(
    a: Mapping[int, float | None],
    b: Mapping[int, float | None],
    confidence: float = CONFIDENCE,
) -> Paired | None:
    """Paired difference over the seeds both ``a`` and ``b`` (seed → value) define; None if no
    seed is shared. Unpaired seeds are ignored, never mixed in. A family of one: pass the
    comparisons of a family through :func:`holm_family`."""
    from scipy import stats

    seeds = tuple(sorted(s for s in a if s in b and a[s] is not None and b[s] is not None))
    if not seeds:
        return None
    differences = [float(a[s]) - float(b[s]) for s in seeds]  # type: ignore[arg-type]
    difference = estimate(differences, confidence)
    assert difference is not None
    p_value, note = None, None
    if len(seeds) < WILCOXON_MIN_PAIRS:
        note = N_TOO_SMALL
    elif all(d == 0 for d in differences):
        note = NO_DIFFERENCE
    else:
        result = stats.wilcoxon(differences)
        p_value = float(result.pvalue) if math.isfinite(result.pvalue) else None
    t_p = paired_t_p(difference)
    return Paired(difference, seeds, p_value, t_p, t_p, 1, note)


def format_p(value: float | None, note: str | None = None) -> str:
    """A p-value as text: three decimals, '<0.001' below that, the ``note`` (e.g. 'n too
    small') or '—' when there is none."""
    if value is None:
        return note or "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"
