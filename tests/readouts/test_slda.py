"""Streaming LDA against scikit-learn's LDA, batch- and order-independence, state, learning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from continual.errors import ConfigError
from continual.readouts.slda import (
    LDAStatistics,
    StreamingLDA,
    covariance,
    fit_statistics,
    lda_predict,
    merge_statistics,
)
from continual.scenarios.sources import digits


def digits_tensors() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    data = digits()
    return (
        data.x_train.flatten(1).float(),
        data.y_train,
        data.x_test.flatten(1).float(),
        data.y_test,
    )


class ShrunkTowardsIdentity:
    """A scikit-learn covariance estimator: (1 − ε) · ML covariance + ε I, SLDA's shrinkage."""

    def __init__(self, epsilon: float = 0.1):
        self.epsilon = epsilon

    def get_params(self, deep: bool = True) -> dict:
        return {"epsilon": self.epsilon}

    def fit(self, x: np.ndarray) -> ShrunkTowardsIdentity:
        c = np.cov(x.T, bias=True)
        self.covariance_ = (1 - self.epsilon) * c + self.epsilon * np.eye(len(c))
        return self


def streamed(x: torch.Tensor, y: torch.Tensor, cuts: list[int], shrinkage: float) -> StreamingLDA:
    model = StreamingLDA(x.shape[1], 10, shrinkage=shrinkage)
    for part_x, part_y in zip(x.tensor_split(cuts), y.tensor_split(cuts)):
        model.update(part_x, part_y)
    return model


def test_scores_equal_sklearn_lda_with_the_same_covariance():
    # sklearn's decision function is Xᵀ Λ μ_c − ½ μ_cᵀ Λ μ_c + log π_c with the prior-weighted
    # per-class covariances; with priors = class frequencies (its default) that weighted sum is
    # the pooled ML covariance, and the estimator gives it SLDA's (1 − ε)Σ + εI. Subtracting
    # log π_c leaves SLDA's scores (which assume equal priors).
    x, y, x_test, _ = digits_tensors()
    sk = LinearDiscriminantAnalysis(solver="lsqr", covariance_estimator=ShrunkTowardsIdentity(0.1))
    sk.fit(x.double().numpy(), y.numpy())
    expected = sk.decision_function(x_test.double().numpy()) - np.log(sk.priors_)
    ours = lda_predict(x_test, fit_statistics(x, y, 10), 0.1).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-7, atol=1e-7)
    streaming = streamed(x, y, [100, 517, 900], 0.1)(x_test).double().numpy()
    np.testing.assert_allclose(streaming, expected, rtol=1e-5, atol=1e-4)  # float32 output


def test_sklearn_shrinkage_convention_maps_to_slda_epsilon():
    # sklearn shrinks towards the mean variance v = tr Σ / D: (1 − s) Σ + s v I ∝ Σ + s v/(1 − s) I;
    # SLDA's (1 − ε) Σ + ε I ∝ Σ + ε/(1 − ε) I. Equal when ε/(1 − ε) = s v/(1 − s): then the
    # scores are proportional (factor (1 − ε)/(1 − s)) and the predictions identical.
    x, y, x_test, _ = digits_tensors()
    s = 0.3
    statistics = fit_statistics(x, y, 10)
    v = float(torch.trace(covariance(statistics))) / x.shape[1]
    ratio = s * v / (1 - s)
    epsilon = ratio / (1 + ratio)
    sk = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=s).fit(x.double().numpy(), y.numpy())
    expected = sk.decision_function(x_test.double().numpy()) - np.log(sk.priors_)
    ours = lda_predict(x_test, statistics, epsilon).numpy()
    np.testing.assert_allclose(ours * (1 - epsilon) / (1 - s), expected, rtol=1e-6, atol=1e-6)
    assert (ours.argmax(1) == sk.predict(x_test.double().numpy())).all()


def test_mean_variance_target_is_sklearns_shrinkage():
    # shrink_to = "mean-variance": (1 − ε) Σ + ε (tr Σ / D) I, scikit-learn's shrunk covariance,
    # so the scores equal its decision function (less log π_c, SLDA assumes equal priors) and
    # the streamed model predicts what it predicts
    x, y, x_test, _ = digits_tensors()
    for s in (1e-4, 0.3):
        sk = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=s)
        sk.fit(x.double().numpy(), y.numpy())
        expected = sk.decision_function(x_test.double().numpy()) - np.log(sk.priors_)
        ours = lda_predict(x_test, fit_statistics(x, y, 10), s, "mean-variance").numpy()
        np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-6)
        model = StreamingLDA(64, 10, shrinkage=s, shrink_to="mean-variance")
        for part_x, part_y in zip(x.tensor_split([200, 900]), y.tensor_split([200, 900])):
            model.update(part_x, part_y)
        assert (model(x_test).argmax(1).numpy() == sk.predict(x_test.double().numpy())).all()


def test_non_finite_statistics_score_nan_instead_of_raising():
    # a diverged learner's features: the run's divergence check must end it, not a Cholesky error
    x, y, x_test, _ = digits_tensors()
    model = StreamingLDA(64, 10)
    x = x.clone()
    x[0, 0] = float("nan")
    model.update(x, y)
    assert torch.isnan(model(x_test)).all()


def test_mean_variance_target_does_not_depend_on_the_features_scale():
    x, y, x_test, _ = digits_tensors()
    small, large = (StreamingLDA(64, 10, shrink_to="mean-variance") for _ in range(2))
    small.update(x * 1e-3, y)
    large.update(x, y)
    assert torch.equal(small(x_test * 1e-3).argmax(1), large(x_test).argmax(1))


@settings(max_examples=25, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 299), max_size=6, unique=True).map(sorted),
    seed=st.integers(0, 1000),
)
def test_statistics_do_not_depend_on_order_or_batching(cuts, seed):
    x, y, x_test, _ = digits_tensors()
    x, y = x[:300], y[:300]
    whole = fit_statistics(x, y, 10)
    order = torch.randperm(300, generator=torch.Generator().manual_seed(seed))
    model = streamed(x[order], y[order], cuts, 1e-2)
    for got, want in zip(model.statistics(), whole):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-9)
    expected = lda_predict(x_test, whole, 1e-2).argmax(1)
    assert torch.equal(model(x_test).argmax(1), expected)


def test_class_incremental_streaming_equals_joint_fit():
    # experiences of disjoint classes, one after another: the final model is the joint one
    x, y, x_test, _ = digits_tensors()
    model = StreamingLDA(64, 10, shrinkage=1e-2)
    for group in ([7, 3], [0, 9], [1, 2], [4, 8], [5, 6]):
        chosen = torch.isin(y, torch.tensor(group))
        model.update(x[chosen], y[chosen])
    joint = lda_predict(x_test, fit_statistics(x, y, 10), 1e-2)
    torch.testing.assert_close(model(x_test).double(), joint, rtol=1e-5, atol=1e-3)


def test_merge_of_two_halves_is_the_whole():
    x, y, _, _ = digits_tensors()
    merged = merge_statistics(
        fit_statistics(x[:400], y[:400], 10), fit_statistics(x[400:], y[400:], 10)
    )
    for got, want in zip(merged, fit_statistics(x, y, 10)):
        torch.testing.assert_close(got, want)


def test_hand_computed_two_class_example():
    # class 0: 0 and 2 (mean 1), class 1: 4 (mean 4); scatter (0−1)² + (2−1)² = 2, Σ = 2/3
    features, labels = torch.tensor([[0.0], [2.0], [4.0]]), torch.tensor([0, 0, 1])
    statistics = fit_statistics(features, labels, 3)
    assert statistics.counts.tolist() == [2, 1, 0]
    assert statistics.means[:2, 0].tolist() == [1.0, 4.0]
    assert statistics.scatter.item() == pytest.approx(2.0)
    epsilon = 0.5  # Λ = 1 / (0.5 · 2/3 + 0.5) = 1.2
    scores = lda_predict(torch.tensor([[3.0]]), statistics, epsilon)
    # w = 1.2 μ, b = −0.6 μ²: class 0: 3.6 − 0.6 = 3.0, class 1: 14.4 − 9.6 = 4.8, class 2 unseen
    assert scores[0, :2].tolist() == pytest.approx([3.0, 4.8])
    assert scores[0, 2] == float("-inf")


def test_unseen_classes_score_minus_infinity_and_first_batch_predicts():
    model = StreamingLDA(3, 4)
    model.update(torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]), torch.tensor([2, 0]))
    scores = model(torch.tensor([[0.9, 0.1, 0.0]]))
    assert torch.isinf(scores[0, [1, 3]]).all() and scores.argmax().item() == 2


def test_state_dict_round_trip_gives_the_same_scores():
    x, y, x_test, _ = digits_tensors()
    model = streamed(x, y, [500], 1e-3)
    before = model(x_test)
    copy = StreamingLDA(64, 10, shrinkage=1e-3)
    copy(x_test)  # a cached discriminant from the empty statistics must not survive loading
    copy.load_state_dict(model.state_dict())
    assert set(model.state_dict()) == {"counts", "means", "scatter"}
    assert torch.equal(copy(x_test), before)


def test_cache_refreshes_after_an_update():
    x, y, x_test, _ = digits_tensors()
    model = streamed(x[:200], y[:200], [], 1e-2)
    first = model(x_test)
    model.update(x[200:], y[200:])
    torch.testing.assert_close(
        model(x_test).double(),
        lda_predict(x_test, fit_statistics(x, y, 10), 1e-2),
        rtol=1e-5,
        atol=1e-3,
    )
    assert not torch.equal(first, model(x_test))


def test_slda_on_digit_pixels_learns_class_incrementally():
    x, y, x_test, y_test = digits_tensors()
    model = StreamingLDA(64, 10)  # the paper's shrinkage, 1e-4
    for group in range(0, 10, 2):
        chosen = (y == group) | (y == group + 1)
        model.update(x[chosen], y[chosen])
    accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    assert accuracy > 0.93  # chance is 0.1; measured 0.958 (0.936 with shrinkage 0.1)


def test_bad_input_is_refused_clearly():
    with pytest.raises(ConfigError, match="shrinkage"):
        StreamingLDA(3, 2, shrinkage=0.0)
    model = StreamingLDA(3, 2)
    with pytest.raises(ConfigError, match="labels must lie"):
        model.update(torch.zeros(2, 3), torch.tensor([0, 2]))
    with pytest.raises(ConfigError, match="shape"):
        model.update(torch.zeros(2, 4), torch.tensor([0, 1]))
    assert isinstance(
        LDAStatistics(*fit_statistics(torch.zeros(1, 3), torch.tensor([1]), 2)), tuple
    )
