"""Nearest class mean: hand-computed scores, batching independence, state, learning."""

from __future__ import annotations

import pytest
import torch

from continual.readouts.class_means import NearestClassMean, merge_means
from continual.scenarios.sources import digits


def test_hand_computed_scores_and_unseen_classes():
    model = NearestClassMean(2, 3)
    model.update(torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]]), torch.tensor([0, 0, 1]))
    assert model.means.tolist() == [[1.0, 0.0], [0.0, 4.0], [0.0, 0.0]]
    scores = model(torch.tensor([[1.0, 1.0]]))
    # −‖(1, 1) − (1, 0)‖² = −1, −‖(1, 1) − (0, 4)‖² = −(1 + 9) = −10, class 2 never seen
    assert scores[0, :2].tolist() == pytest.approx([-1.0, -10.0])
    assert scores[0, 2] == float("-inf")


def test_running_mean_rule_is_the_mean():
    # m += n_b/(n_a + n_b) (m_b − m): 2 samples with mean 1, then 3 with mean 6 -> mean 4
    counts, means = merge_means(
        torch.tensor([2.0]), torch.tensor([[1.0]]), torch.tensor([3.0]), torch.tensor([[6.0]])
    )
    assert counts.item() == 5 and means.item() == pytest.approx(4.0)


def test_any_split_and_order_give_the_same_means():
    data = digits()
    x, y = data.x_train.flatten(1), data.y_train
    whole = NearestClassMean(64, 10)
    whole.update(x, y)
    pieces = NearestClassMean(64, 10)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(3))
    for part in order.tensor_split([5, 300, 301, 1000]):
        pieces.update(x[part], y[part])
    torch.testing.assert_close(pieces.means, whole.means, rtol=1e-12, atol=1e-12)
    assert torch.equal(pieces.counts, whole.counts)


def test_state_dict_round_trip_and_class_incremental_learning():
    data = digits()
    x, y = data.x_train.flatten(1), data.y_train
    model = NearestClassMean(64, 10)
    for group in range(0, 10, 2):
        chosen = (y == group) | (y == group + 1)
        model.update(x[chosen], y[chosen])
    scores = model(data.x_test.flatten(1))
    accuracy = (scores.argmax(1) == data.y_test).float().mean().item()
    assert accuracy > 0.85  # chance 0.1; measured 0.900
    copy = NearestClassMean(64, 10)
    copy.load_state_dict(model.state_dict())
    assert torch.equal(copy(data.x_test.flatten(1)), scores)
