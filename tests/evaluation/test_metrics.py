"""Golden tests: every metric on small accuracy matrices computed by hand."""

import numpy as np
import pytest

from continual.evaluation import metrics

# Rows: before training, after experience 1, 2, 3. Columns: experiences 1, 2, 3.
R3 = [
    [0.10, 0.20, 0.30],
    [0.90, 0.25, 0.35],
    [0.60, 0.80, 0.40],
    [0.50, 0.70, 0.95],
]
B3 = [0.10, 0.15, 0.30]


def test_average_accuracy_is_mean_of_final_row():
    assert metrics.average_accuracy(R3) == pytest.approx((0.50 + 0.70 + 0.95) / 3)


def test_learning_accuracy_is_mean_of_diagonal_after_training():
    assert metrics.learning_accuracy(R3) == pytest.approx((0.90 + 0.80 + 0.95) / 3)


def test_backward_transfer_divides_by_t_minus_one():
    # (R[3,1] − R[1,1]) + (R[3,2] − R[2,2]) = (0.5 − 0.9) + (0.7 − 0.8) = −0.5, over T − 1 = 2
    assert metrics.backward_transfer(R3) == pytest.approx(-0.25)


def test_forward_transfer_uses_row_before_each_experience_and_baseline():
    # (R[1,2] − b2) + (R[2,3] − b3) = (0.25 − 0.15) + (0.40 − 0.30) = 0.2, over 2
    assert metrics.forward_transfer(R3, B3) == pytest.approx(0.10)


def test_chaudhry_forgetting_uses_best_earlier_accuracy():
    # j=1: max(0.9, 0.6) − 0.5 = 0.4; j=2: max(0.25, 0.8) − 0.7 = 0.1; mean 0.25
    assert metrics.forgetting(R3) == pytest.approx(0.25)


def test_best_accuracy_may_come_before_learning_the_experience():
    # Experience 2 peaks (0.9) after experience 1 (domain-incremental transfer), then drops.
    R = [[0.0, 0.0, 0.0], [0.8, 0.9, 0.1], [0.7, 0.6, 0.1], [0.7, 0.5, 0.9]]
    # j=1: 0.8 − 0.7 = 0.1; j=2: 0.9 − 0.5 = 0.4
    assert metrics.forgetting(R) == pytest.approx(0.25)
    # the Avalanche variant only looks at the accuracy just after learning: (0.8−0.7 + 0.6−0.5)/2
    assert metrics.forgetting_since_learned(R) == pytest.approx(0.1)


def test_forgetting_since_learned_is_minus_bwt():
    assert metrics.forgetting_since_learned(R3) == pytest.approx(0.25)


def test_single_experience_has_no_transfer_or_forgetting():
    R1 = [[0.1], [0.9]]
    assert metrics.average_accuracy(R1) == pytest.approx(0.9)
    assert metrics.learning_accuracy(R1) == pytest.approx(0.9)
    assert metrics.backward_transfer(R1) is None
    assert metrics.forward_transfer(R1, [0.1]) is None
    assert metrics.forgetting(R1) is None
    assert metrics.forgetting_since_learned(R1) is None


def test_two_experiences():
    R2 = [[0.5, 0.4], [1.0, 0.3], [0.2, 0.9]]
    assert metrics.average_accuracy(R2) == pytest.approx(0.55)
    assert metrics.backward_transfer(R2) == pytest.approx(-0.8)
    assert metrics.forgetting(R2) == pytest.approx(0.8)
    assert metrics.forward_transfer(R2, [0.5, 0.5]) == pytest.approx(-0.2)


def test_metrics_do_not_mutate_their_input():
    R = np.array(R3)
    before = R.copy()
    metrics.all_metrics(R, B3)
    np.testing.assert_array_equal(R, before)


@pytest.mark.parametrize("bad", [[[0.1, 0.2]], [[0.1], [0.2], [0.3]], [[]]])
def test_matrix_shape_is_checked(bad):
    with pytest.raises(ValueError, match="shape"):
        metrics.average_accuracy(bad)


def test_final_only_defines_accuracy_and_nothing_else():
    scores = metrics.final_only([0.9, 0.7])
    assert scores["average_accuracy"] == pytest.approx(0.8)
    assert set(scores) == set(metrics.all_metrics(R3, B3))
    assert all(v is None for k, v in scores.items() if k != "average_accuracy")


def test_probe_metrics_by_hand():
    # rows: untrained features fitted on everything, then after experience 1, 2, 3
    P = [
        [0.60, 0.50, 0.40],
        [0.95, 0.00, 0.00],
        [0.85, 0.90, 0.00],
        [0.80, 0.70, 0.90],
    ]
    scores = metrics.probe_metrics(P)
    assert scores["probe_accuracy"] == pytest.approx((0.80 + 0.70 + 0.90) / 3)
    # best before the end minus final: (0.95 − 0.80) and (0.90 − 0.70), over T − 1 = 2
    assert scores["probe_forgetting"] == pytest.approx(0.175)
    assert scores["probe_untrained_accuracy"] == pytest.approx(0.5)


# Error messages (found missing by mutation testing, docs/mutation-testing.md).


def test_forward_transfer_says_what_is_wrong_with_the_baseline():
    R = [[0.1, 0.1], [0.9, 0.2], [0.8, 0.9]]
    with pytest.raises(ValueError, match=r"one accuracy per experience \(2\), got \(3,\)"):
        metrics.forward_transfer(R, [0.1, 0.1, 0.1])
