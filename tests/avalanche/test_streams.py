"""Streams both ways: our stream -> Avalanche benchmark -> our stream is the identity, and an
Avalanche-built class-incremental benchmark becomes our stream with its classes and data."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from continual.errors import ContinualError
from continual.scenarios.experience import OnlineSchedule
from continual.scenarios.sources import synthetic
from continual.scenarios.split import task_incremental


def test_round_trip_keeps_data_classes_and_order(stream, benchmark):
    from continual.avalanche import to_stream

    assert len(benchmark.train_stream) == len(stream) == 3
    for ours, theirs in zip(stream, benchmark.train_stream):
        assert set(theirs.classes_in_this_experience) == set(ours.classes)
    back = to_stream(benchmark, "back")
    assert (back.num_classes, back.input_shape, back.task_labels) == (6, (16,), False)
    for a, b in zip(stream, back):
        assert a.classes == b.classes and b.task is None
        for name in ("x_train", "y_train", "x_test", "y_test"):
            assert torch.equal(getattr(a, name), getattr(b, name))


def test_task_labels_survive_the_round_trip():
    from continual.avalanche import to_benchmark, to_stream

    ours = task_incremental(synthetic(samples=300, features=8, classes=4), 0, experiences=2)
    benchmark = to_benchmark(ours)
    assert [e.task_labels for e in benchmark.train_stream] == [[0], [1]]
    assert [e.task for e in to_stream(benchmark)] == [0, 1]


def test_avalanche_class_incremental_benchmark_becomes_our_stream():
    from avalanche.benchmarks.scenarios.supervised import class_incremental_benchmark
    from avalanche.benchmarks.utils import _make_taskaware_tensor_classification_dataset as make

    from continual.avalanche import to_stream

    generator = torch.Generator().manual_seed(0)
    x, y = torch.rand(120, 3, 4, generator=generator), torch.arange(120) % 4
    data = {"train": make(x, y, targets=y), "test": make(x[:40], y[:40], targets=y[:40])}
    benchmark = class_incremental_benchmark(data, class_order=[3, 1, 0, 2], num_experiences=2)
    ours = to_stream(benchmark, "avalanche-split")
    assert [e.classes for e in ours] == [(1, 3), (0, 2)]
    assert ours.input_shape == (3, 4) and ours.num_classes == 4
    assert [e.train_size for e in ours] == [60, 60]
    first = ours[0]
    assert torch.isin(first.y_test, torch.tensor([1, 3])).all() and len(first.y_test) == 20
    rows = (x[:, None] == first.x_train[None]).flatten(2).all(-1).any(0)  # each sample is one of x
    assert rows.all()


def test_unpairable_and_task_free_streams_are_refused(stream, benchmark):
    from continual.avalanche import to_benchmark, to_stream

    class Uneven:
        train_stream = list(benchmark.train_stream)
        test_stream = list(benchmark.test_stream)[:2]

    with pytest.raises(ContinualError, match="pair them one to one"):
        to_stream(Uneven())
    online = dataclasses.replace(stream, online=OnlineSchedule(torch.arange(10), (5, 10)))
    with pytest.raises(ContinualError, match="split_online_stream"):
        to_benchmark(online)
