"""Statistics over seeds, from scipy: the mean with its Student-t 95 % confidence interval, and
the paired difference of two strategies run on the same seeds (paired t interval, Wilcoxon
signed-rank p-value as a check that does not assume normality). Pure functions of the numbers
they are given; the report layer decides what to compare."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Paired:
    """The per-seed difference ``a − b`` of two runs on the same seeds: its estimate (paired t
    interval), the seeds it used, and the Wilcoxon signed-rank p-value (None when undefined).
    ``distinguishable`` is True when the interval excludes zero; an interval of zero width (all
    differences equal) counts only from 3 seeds on, since 2 equal values say nothing of the
    spread."""

    difference: Estimate
    seeds: tuple[int, ...]
    wilcoxon_p: float | None

    @property
    def distinguishable(self) -> bool:
        d = self.difference
        if d.low is None or d.high is None or (d.std == 0 and d.n < 3):
            return False
        return d.low > 0 or d.high < 0


def paired(
    a: Mapping[int, float | None],
    b: Mapping[int, float | None],
    confidence: float = CONFIDENCE,
) -> Paired | None:
    """Paired difference over the seeds both ``a`` and ``b`` (seed → value) define; None if no
    seed is shared. Unpaired seeds are ignored, never mixed in."""
    from scipy import stats

    seeds = tuple(sorted(s for s in a if s in b and a[s] is not None and b[s] is not None))
    if not seeds:
        return None
    differences = [float(a[s]) - float(b[s]) for s in seeds]  # type: ignore[arg-type]
    difference = estimate(differences, confidence)
    assert difference is not None
    p_value = None
    if len(seeds) >= 2 and any(d != 0 for d in differences):
        result = stats.wilcoxon(differences)
        p_value = float(result.pvalue) if math.isfinite(result.pvalue) else None
    return Paired(difference, seeds, p_value)
