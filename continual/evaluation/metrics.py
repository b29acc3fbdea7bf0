"""Continual-learning metrics as pure functions of the accuracy matrix.

``R`` has shape ``(T + 1, T)``: ``R[0, j]`` is the accuracy on experience j's test set before any
training and ``R[i, j]`` (i = 1..T) the accuracy after training experience i. In the formulas
below experiences are numbered 1..T as in the papers, so ``R[i, j]`` is row i, column j − 1 of the
array. A metric that is undefined for the given T (e.g. backward transfer with T = 1) is ``None``.
Nothing here mutates its input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Matrix = Sequence[Sequence[float]] | np.ndarray


def _matrix(R: Matrix) -> np.ndarray:
    R = np.array(R, dtype=np.float64)  # a copy: never touch the caller's data
    if R.ndim != 2 or R.shape[0] != R.shape[1] + 1 or R.shape[1] < 1:
        raise ValueError(f"accuracy matrix must have shape (T + 1, T) with T >= 1, got {R.shape}")
    return R


def average_accuracy(R: Matrix) -> float:
    """ACC = (1/T) Σ_j R[T, j]: mean final accuracy over all experiences
    (Lopez-Paz & Ranzato 2017, GEM)."""
    R = _matrix(R)
    return float(R[-1].mean())


def learning_accuracy(R: Matrix) -> float:
    """LA = (1/T) Σ_j R[j, j]: accuracy on each experience just after learning it
    (Riemer et al. 2019) — how well new things are learned, whatever is forgotten later."""
    R = _matrix(R)
    T = R.shape[1]
    return float(np.mean([R[j + 1, j] for j in range(T)]))


def backward_transfer(R: Matrix) -> float | None:
    """BWT = 1/(T−1) Σ_{j<T} (R[T, j] − R[j, j]) (Lopez-Paz & Ranzato 2017). Negative values
    mean forgetting. ``None`` for T = 1."""
    R = _matrix(R)
    T = R.shape[1]
    if T < 2:
        return None
    return float(np.mean([R[T, j] - R[j + 1, j] for j in range(T - 1)]))


def forward_transfer(R: Matrix, baseline: Sequence[float]) -> float | None:
    """FWT = 1/(T−1) Σ_{j>1} (R[j−1, j] − b_j) (Lopez-Paz & Ranzato 2017), where b_j is the
    accuracy of an independently initialised model on experience j. ``None`` for T = 1."""
    R = _matrix(R)
    b = np.asarray(baseline, dtype=np.float64)
    T = R.shape[1]
    if b.shape != (T,):
        raise ValueError(f"baseline must have one accuracy per experience ({T}), got {b.shape}")
    if T < 2:
        return None
    return float(np.mean([R[j, j] - b[j] for j in range(1, T)]))


def forgetting(R: Matrix) -> float | None:
    """Forgetting (Chaudhry et al. 2018, RWalk): f_j = max_{l ∈ 1..T−1} R[l, j] − R[T, j], the
    drop from the best accuracy ever reached on j to the final one, averaged over j < T.
    ``None`` for T = 1."""
    R = _matrix(R)
    T = R.shape[1]
    if T < 2:
        return None
    best = R[1:T, : T - 1].max(axis=0)
    return float(np.mean(best - R[T, : T - 1]))


def forgetting_since_learned(R: Matrix) -> float | None:
    """The variant Avalanche reports as "forgetting": 1/(T−1) Σ_{j<T} (R[j, j] − R[T, j]), the
    drop from the accuracy just after learning j to the final one (equal to −BWT).
    ``None`` for T = 1."""
    bwt = backward_transfer(R)
    return None if bwt is None else -bwt


METRICS = (
    "average_accuracy",
    "learning_accuracy",
    "forgetting",
    "forgetting_since_learned",
    "backward_transfer",
    "forward_transfer",
)


def final_only(final_row: Sequence[float]) -> dict[str, float | None]:
    """For a run with a single training phase (joint): ACC from the final row; the others,
    which need one row per experience, are undefined."""
    scores: dict[str, float | None] = dict.fromkeys(METRICS)
    scores["average_accuracy"] = float(np.mean(final_row))
    return scores


def all_metrics(R: Matrix, baseline: Sequence[float]) -> dict[str, float | None]:
    """Every metric of a finished sequential run, by name."""
    return {
        "average_accuracy": average_accuracy(R),
        "learning_accuracy": learning_accuracy(R),
        "forgetting": forgetting(R),
        "forgetting_since_learned": forgetting_since_learned(R),
        "backward_transfer": backward_transfer(R),
        "forward_transfer": forward_transfer(R, baseline),
    }


PROBE_METRICS = ("probe_accuracy", "probe_forgetting", "probe_untrained_accuracy")


def probe_metrics(P: Matrix) -> dict[str, float | None]:
    """Metrics of a representation probe matrix ``P`` (:mod:`continual.evaluation.probe`; the
    shape of R, row 0 the probe on the untrained features fitted on every experience):
    probe_accuracy = (1/T) Σ_j P[T, j], the final accuracy the learned features support;
    probe_forgetting = Chaudhry et al.'s forgetting of P (:func:`forgetting`), how much the
    features themselves forgot (Davari et al. 2022); probe_untrained_accuracy =
    (1/T) Σ_j P[0, j], the untrained-feature control."""
    P = _matrix(P)
    return {
        "probe_accuracy": average_accuracy(P),
        "probe_forgetting": forgetting(P),
        "probe_untrained_accuracy": float(P[0].mean()),
    }
