"""A Hebbian readout that cannot forget: streaming LDA computed by local rules.

Class units and lateral connections learn running statistics by Hebbian co-activation:

- the synapses m_c of class unit c: Δm_c = [y = c] (f − m_c) / n_c, a label × feature
  co-activation with decay at rate 1/n_c — exactly the running class mean;
- the lateral synapses C between feature units: ΔC = (f − m_y)(f − m_y′)ᵀ between the deviations
  of the features from the class unit's prediction before (m_y) and after (m_y′) the update,
  divided by the number of samples — exactly the running pooled within-class covariance
  (Welford's update; the batched form is the merge of :mod:`continual.readouts.slda`, so the
  statistics equal SLDA's bit for bit in the limit of exact arithmetic).

What differs from SLDA is how the precision Λ = ((1 − ε)C + εI)⁻¹ is applied: no matrix is
inverted. The feature layer settles under lateral inhibition, z ← z + η (f − ((1 − ε)C + εI) z)
from z = 0, the gradient descent on the energy ½ zᵀ A z − fᵀ z whose fixed point is Λ f — the
recurrent, anti-Hebbian lateral decorrelation of Földiák (1990, "Forming sparse representations
by local anti-Hebbian learning", Biol. Cybern.), whose lateral weights grow with co-activation as
C does here; see also Pehlevan & Chklovskii (2015) for the similarity-matching derivation of
such Hebbian/anti-Hebbian whitening circuits. The class units then compute
s_c = m_cᵀ z − ½ m_cᵀ z(m_c). The step η = 1 / max_i Σ_j |A_ij| (Gershgorin: below 1/λ_max, so
every mode converges monotonically) is a bound each unit can form from its own incoming lateral
weights. Because the settled map is a polynomial in the symmetric A, m_cᵀ z(f) = z(m_c)ᵀ f: the
class units' effective weights z(m_c) are settled once per change of the statistics instead of
once per sample, with the same scores.

Deviation from exact SLDA, by design: ``settle_steps`` K truncates the dynamics. A mode of A with
eigenvalue λ is inverted as (1 − (1 − ηλ)^K)/λ instead of 1/λ, so directions of small
within-class variance (λ ≲ 1/(ηK)) are damped: an extra, spectral shrinkage. Measured against
SLDA on the same features (docs/readouts.md).
"""

from __future__ import annotations

from typing import Annotated

import torch
from torch import Tensor

from continual.ranges import Range, checked
from continual.readouts.slda import LDAStatistics, Shrinkage, StreamingLDA, covariance


def settle(inputs: Tensor, statistics: LDAStatistics, shrinkage: float, steps: int) -> Tensor:
    """``steps`` iterations of z ← z + η (x − A z) from z = 0 for every row x of ``inputs``,
    A = (1 − ε)Σ + εI, η = 1 / (largest absolute row sum of A): an approximation of A⁻¹ x that
    becomes exact as ``steps`` grows."""
    sigma = covariance(statistics)
    eye = torch.eye(len(sigma), dtype=sigma.dtype, device=sigma.device)
    lateral = (1 - shrinkage) * sigma + shrinkage * eye
    rate = 1.0 / float(lateral.abs().sum(1).max())
    x = inputs.to(sigma.dtype)
    z = torch.zeros_like(x)
    for _ in range(steps):
        z = z + rate * (x - z @ lateral)  # A is symmetric: (A zᵀ)ᵀ = z A
    return z


class HebbianReadout(StreamingLDA):
    """Class means and covariance learned by Hebbian rules, the precision applied by
    ``settle_steps`` steps of lateral-inhibition dynamics instead of a matrix inverse."""

    @checked
    def __init__(
        self,
        feature_dim: int,
        num_classes: int,
        *,
        shrinkage: Shrinkage = 1e-4,
        settle_steps: Annotated[int, Range(1, 100_000)] = 100,
    ):
        super().__init__(feature_dim, num_classes, shrinkage=shrinkage)
        self.settle_steps = settle_steps

    def discriminant(self) -> tuple[Tensor, Tensor]:
        if self._cache is None or self._cache[0].device != self.means.device:
            statistics = self.statistics()
            weight = settle(statistics.means, statistics, self.shrinkage, self.settle_steps)
            self._cache = (weight, -0.5 * (weight * statistics.means).sum(1))
        return self._cache

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, settle_steps={self.settle_steps}"
