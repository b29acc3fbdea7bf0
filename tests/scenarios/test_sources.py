import pytest
import torch

from continual.errors import ConfigError
from continual.scenarios.sources import digits


def test_digits_upsampled_to_28_keep_images_labels_and_split():
    small, large = digits(), digits(size=28)
    assert large.x_train.shape[1:] == (28, 28) and large.name == "digits-28"
    assert torch.equal(small.y_train, large.y_train) and torch.equal(small.y_test, large.y_test)
    assert 0.0 <= float(large.x_train.min()) and float(large.x_train.max()) <= 1.0
    # the same picture, smoothed: pooled back to 8×8 it correlates with the original
    back = torch.nn.functional.adaptive_avg_pool2d(large.x_train[:, None], 8)[:, 0].flatten(1)
    original = small.x_train.flatten(1)
    a, b = back - back.mean(1, keepdim=True), original - original.mean(1, keepdim=True)
    correlation = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))
    assert float(correlation.mean()) > 0.9


def test_digits_size_is_validated():
    with pytest.raises(ConfigError, match="size"):
        digits(size=4)
