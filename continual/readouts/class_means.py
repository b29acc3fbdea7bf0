"""Nearest class mean (NCM): each class is represented by the mean of its features, a sample
goes to the nearest mean (Mensink, Verbeek, Perronnin & Csurka 2013, "Distance-based image
classification: generalizing to new classes at near-zero cost", TPAMI; the classifier of iCaRL,
Rebuffi, Kolesnikov, Sperl & Lampert 2017). The means are running averages, updated a batch at a
time in float64, so the classifier is the same however the data are split into batches or
experiences, and a class seen once is never forgotten."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from continual.errors import ConfigError


def check_batch(features: Tensor, y: Tensor, feature_dim: int, num_classes: int) -> None:
    """Refuse a batch of the wrong shape or with labels outside ``[0, num_classes)``."""
    if features.dim() != 2 or features.shape[1] != feature_dim:
        raise ConfigError(
            f"features must have shape (N, {feature_dim}), got {tuple(features.shape)}"
        )
    if y.shape != features.shape[:1]:
        raise ConfigError(f"labels must have shape ({len(features)},), got {tuple(y.shape)}")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ConfigError(f"labels must lie in [0, {num_classes}), got {y.unique().tolist()}")


def batch_means(features: Tensor, y: Tensor, num_classes: int) -> tuple[Tensor, Tensor]:
    """Per-class counts ``(K,)`` and means ``(K, D)`` of one batch in float64 (zero rows for
    classes absent from it)."""
    f = features.detach().to(torch.float64)
    counts = torch.bincount(y, minlength=num_classes).to(torch.float64)
    sums = torch.zeros(num_classes, f.shape[1], dtype=torch.float64, device=f.device)
    sums.index_add_(0, y, f)
    return counts, sums / counts.clamp(min=1)[:, None]


def merge_means(
    counts: Tensor, means: Tensor, new_counts: Tensor, new_means: Tensor
) -> tuple[Tensor, Tensor]:
    """Running class means after a batch: ``m_c += n_b / (n_a + n_b) · (m_b − m_c)``, the
    batched form of ``Δm_c = (f − m_c) / n_c`` per sample. Returns (counts, means)."""
    total = counts + new_counts
    rate = (new_counts / total.clamp(min=1))[:, None]
    return total, means + rate * (new_means - means)


def unseen_to_minus_inf(scores: Tensor, counts: Tensor) -> Tensor:
    """Scores of classes never seen set to −inf, so class-incremental prediction never picks
    them."""
    return scores.masked_fill(counts.to(scores.device)[None, :] == 0, float("-inf"))


class ClassStatistics(nn.Module):
    """Running class counts and means in float64 buffers (so ``state_dict`` carries them), the
    part every class-statistics readout shares. ``update`` takes a batch of features and labels;
    a subclass computes its scores in ``forward`` and refreshes what it derives from the
    statistics (a precision matrix) only after they changed (:meth:`changed`)."""

    def __init__(self, feature_dim: int, num_classes: int):
        super().__init__()
        self.feature_dim, self.num_classes = feature_dim, num_classes
        self.register_buffer("counts", torch.zeros(num_classes, dtype=torch.float64))
        self.register_buffer("means", torch.zeros(num_classes, feature_dim, dtype=torch.float64))
        self._cache: Any = None  # what forward derives from the statistics; None when stale

    @torch.no_grad()
    def update(self, features: Tensor, y: Tensor) -> None:
        """Add a batch to the running statistics."""
        check_batch(features, y, self.feature_dim, self.num_classes)
        new_counts, new_means = batch_means(features, y, self.num_classes)
        counts, means = merge_means(self.counts, self.means, new_counts, new_means)
        self.counts.copy_(counts)
        self.means.copy_(means)
        self.changed()

    def changed(self) -> None:
        """Mark what ``forward`` derived from the statistics as stale."""
        self._cache = None

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._cache = None

    def extra_repr(self) -> str:
        return f"feature_dim={self.feature_dim}, num_classes={self.num_classes}"


class NearestClassMean(ClassStatistics):
    """NCM: score of class c = −‖f − μ_c‖² (squared Euclidean distance to the class mean);
    classes never seen score −inf."""

    def __init__(self, feature_dim: int, num_classes: int):
        super().__init__(feature_dim, num_classes)

    def forward(self, features: Tensor) -> Tensor:
        means = self.means.to(features.dtype)
        scores = (
            2 * features @ means.T
            - (means * means).sum(1)[None, :]
            - (features * features).sum(1, keepdim=True)
        )
        return unseen_to_minus_inf(scores, self.counts)
