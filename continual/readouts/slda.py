"""Streaming linear discriminant analysis (SLDA; Hayes & Kanan 2020, "Lifelong machine learning
with deep streaming linear discriminant analysis", CVPR Workshops; reference code
github.com/tyler-hayes/Deep_SLDA).

SLDA keeps running class means μ_c and one covariance Σ shared by all classes, and scores

    s_c(f) = w_cᵀ f + b_c,   w_c = Λ μ_c,   b_c = −½ μ_cᵀ Λ μ_c,   Λ = ((1 − ε) Σ + ε I)⁻¹,

the linear discriminant of Gaussian classes with a shared covariance and equal priors; ε is the
shrinkage (default 1e-4, as in the paper). With ``shrink_to = "mean-variance"`` the target is
scaled to the features: Λ = ((1 − ε) Σ + ε v I)⁻¹ with v = tr Σ / D, scikit-learn's convention
(``LinearDiscriminantAnalysis(solver="lsqr", shrinkage=ε)``), so that ε means the same for
features of any scale. The identity target (the paper's) shrinks unit-norm features of large D,
whose per-dimension variance is about 1/D, far more than the same ε shrinks pixels: measured on
an untrained convolutional layer's 1,536 unit-norm features of MNIST (docs/readouts.md), ε = 1e-4
towards I gave 93.8 % and towards v I 97.8 %. Statistics only grow, so nothing is forgotten, and the
result does not depend on the order of the samples or on how they are split into batches.

Deviation from the reference code, measured as none on the result: the reference updates Σ one
sample at a time with ``(x − μ_y)(x − μ_y)ᵀ · n/(n+1)``, n counting all samples, an approximation
of the pooled within-class covariance. Here Σ is that covariance exactly,
Σ = Σ_c Σ_{n: y_n = c} (f_n − μ_c)(f_n − μ_c)ᵀ / N (maximum likelihood), accumulated in float64
batch by batch with the exact merge of Chan, Golub & LeVeque (1979), so its predictions equal
scikit-learn's LDA on the same data (tests/readouts/test_slda.py).

Pure functions (:func:`fit_statistics`, :func:`merge_statistics`, :func:`lda_weights`,
:func:`lda_predict`) hold the mathematics; :class:`StreamingLDA` keeps the statistics in buffers
and caches the discriminant until they change.
"""

from __future__ import annotations

from typing import Annotated, Literal, NamedTuple

import torch
from torch import Tensor

from continual.errors import require
from continual.ranges import Range, checked
from continual.readouts.class_means import (
    ClassStatistics,
    batch_means,
    check_batch,
    merge_means,
    unseen_to_minus_inf,
)

Shrinkage = Annotated[float, Range(0, 1, open_low=True)]


class LDAStatistics(NamedTuple):
    """Class counts ``(K,)``, class means ``(K, D)`` and the pooled within-class scatter
    ``(D, D)`` (the covariance times the number of samples), all float64."""

    counts: Tensor
    means: Tensor
    scatter: Tensor


def fit_statistics(features: Tensor, y: Tensor, num_classes: int) -> LDAStatistics:
    """The statistics of one batch of ``features`` ``(N, D)`` with labels ``y`` ``(N,)``."""
    check_batch(features, y, features.shape[-1], num_classes)
    counts, means = batch_means(features, y, num_classes)
    centred = features.detach().to(torch.float64) - means[y]
    return LDAStatistics(counts, means, centred.T @ centred)


def merge_statistics(a: LDAStatistics, b: LDAStatistics) -> LDAStatistics:
    """The statistics of the union of the data behind ``a`` and ``b`` (Chan et al. 1979):
    S = S_a + S_b + Σ_c n_a n_b / (n_a + n_b) · (μ_b − μ_a)(μ_b − μ_a)ᵀ per class."""
    counts, means = merge_means(a.counts, a.means, b.counts, b.means)
    weight = a.counts * b.counts / counts.clamp(min=1)
    shift = (b.means - a.means) * weight.sqrt()[:, None]
    return LDAStatistics(counts, means, a.scatter + b.scatter + shift.T @ shift)


def covariance(statistics: LDAStatistics) -> Tensor:
    """The pooled within-class covariance Σ = scatter / N."""
    return statistics.scatter / statistics.counts.sum().clamp(min=1)


ShrinkTarget = Literal["identity", "mean-variance"]


def lda_weights(
    statistics: LDAStatistics, shrinkage: float, shrink_to: ShrinkTarget = "identity"
) -> tuple[Tensor, Tensor]:
    """The discriminant ``(W (K, D), b (K,))`` in float64: w_c = Λ μ_c, b_c = −½ μ_cᵀ Λ μ_c with
    Λ = ((1 − ε)Σ + ε T)⁻¹, T = I or (tr Σ / D) I (``shrink_to``), by a Cholesky solve (the
    matrix is positive definite for ε > 0 and a non-zero T). (A pure function called with plain
    values, so it checks ε itself.)"""
    require(0 < shrinkage <= 1, "shrinkage", f"must be in (0, 1], got {shrinkage}")
    sigma = covariance(statistics)
    eye = torch.eye(len(sigma), dtype=sigma.dtype, device=sigma.device)
    if shrink_to == "mean-variance":  # no variance yet (one sample per class): fall back to I
        scale = torch.trace(sigma) / len(sigma)
        eye = eye * (scale if float(scale) > 0 else 1.0)
    factor, failed = torch.linalg.cholesky_ex((1 - shrinkage) * sigma + shrinkage * eye)
    if bool(failed):  # only non-finite statistics (features of a diverged learner) get here:
        # scores of NaN, so that the run's divergence check, not a linear-algebra error, ends it
        nan = torch.full_like(statistics.means, float("nan"))
        return nan, nan[:, 0]
    weight = torch.cholesky_solve(statistics.means.T, factor).T
    return weight, -0.5 * (weight * statistics.means).sum(1)


def lda_predict(
    features: Tensor,
    statistics: LDAStatistics,
    shrinkage: float,
    shrink_to: ShrinkTarget = "identity",
) -> Tensor:
    """Scores ``(N, K)`` of the LDA rule; classes without samples score −inf."""
    weight, bias = lda_weights(statistics, shrinkage, shrink_to)
    scores = features.to(torch.float64) @ weight.T + bias
    return unseen_to_minus_inf(scores, statistics.counts)


class StreamingLDA(ClassStatistics):
    """SLDA as a readout: :meth:`update` adds a batch of features to the running statistics,
    ``forward`` scores features. The discriminant is recomputed (one D×D Cholesky solve) only
    after the statistics changed."""

    @checked
    def __init__(
        self,
        feature_dim: int,
        num_classes: int,
        *,
        shrinkage: Shrinkage = 1e-4,
        shrink_to: ShrinkTarget = "identity",
    ):
        super().__init__(feature_dim, num_classes)
        self.shrinkage, self.shrink_to = shrinkage, shrink_to
        self.register_buffer("scatter", torch.zeros(feature_dim, feature_dim, dtype=torch.float64))

    @torch.no_grad()
    def update(self, features: Tensor, y: Tensor) -> None:
        check_batch(features, y, self.feature_dim, self.num_classes)
        merged = merge_statistics(self.statistics(), fit_statistics(features, y, self.num_classes))
        for buffer, value in zip((self.counts, self.means, self.scatter), merged):
            buffer.copy_(value)
        self.changed()

    def statistics(self) -> LDAStatistics:
        return LDAStatistics(self.counts, self.means, self.scatter)

    def discriminant(self) -> tuple[Tensor, Tensor]:
        """The cached ``(W, b)`` (float64), recomputed after the statistics changed."""
        if self._cache is None or self._cache[0].device != self.means.device:
            self._cache = lda_weights(self.statistics(), self.shrinkage, self.shrink_to)
        return self._cache

    def forward(self, features: Tensor) -> Tensor:
        weight, bias = self.discriminant()  # float64: Λ reaches 1/ε, float32 scores would round
        scores = (features.to(torch.float64) @ weight.T + bias).to(features.dtype)
        return unseen_to_minus_inf(scores, self.counts)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, shrinkage={self.shrinkage:g}, shrink_to={self.shrink_to}"
