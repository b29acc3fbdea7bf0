import numpy as np
import pytest
import torch

from continual.errors import ConfigError, ContinualError
from continual.scenarios.arrays import from_arrays, from_datasets, make_stream


def test_arrays_become_a_stream_with_any_generator():
    rng = np.random.default_rng(0)
    x, y = rng.random((60, 4, 4)).astype(np.float32), np.arange(60) % 6
    data = from_arrays(x, y, torch.from_numpy(x[:12]), torch.from_numpy(y[:12]), name="mine")
    stream = make_stream(data, "class-incremental", seed=0, experiences=3)
    assert [len(e.classes) for e in stream] == [2, 2, 2] and data.name == "mine"
    assert len(make_stream(data, "permuted", experiences=2)) == 2
    with pytest.raises(ConfigError, match="did you mean 'permuted'"):
        make_stream(data, "permutted")


def test_datasets_are_loaded_once_into_tensors():
    x = torch.rand(20, 3)
    y = torch.arange(20) % 2
    dataset = torch.utils.data.TensorDataset(x, y)
    data = from_datasets(dataset, dataset)
    assert torch.equal(data.x_train, x) and torch.equal(data.y_test, y)


def test_bad_arrays_from_python_are_refused():
    with pytest.raises(ContinualError, match="has 3 samples but"):
        from_arrays(np.zeros((3, 2)), np.zeros(2), np.zeros((1, 2)), np.zeros(1))
    with pytest.raises(ContinualError, match="NaN"):
        from_arrays(np.full((2, 2), np.inf), np.zeros(2), np.zeros((1, 2)), np.zeros(1))
