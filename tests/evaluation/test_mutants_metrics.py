"""Tests added where mutation testing found a gap in evaluation/metrics.py
(docs/mutation-testing.md)."""

import pytest

from continual.evaluation import metrics


def test_forward_transfer_says_what_is_wrong_with_the_baseline():
    R = [[0.1, 0.1], [0.9, 0.2], [0.8, 0.9]]
    with pytest.raises(ValueError, match=r"one accuracy per experience \(2\), got \(3,\)"):
        metrics.forward_transfer(R, [0.1, 0.1, 0.1])
