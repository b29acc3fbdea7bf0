import torch

from continual.scenarios.sources import digits, synthetic
from continual.scenarios.split import class_incremental, task_incremental


def test_split_digits_has_five_disjoint_pairs_of_classes():
    stream = class_incremental(digits(), seed=0, experiences=5)
    assert len(stream) == 5 and stream.num_classes == 10 and stream.input_shape == (8, 8)
    groups = [set(e.classes) for e in stream]
    assert all(len(g) == 2 for g in groups)
    assert set().union(*groups) == set(range(10))
    for e in stream:
        assert set(e.y_train.tolist()) == set(e.classes) == set(e.y_test.tolist())
        assert e.task is None
    assert not stream.task_labels


def test_class_order_is_seeded():
    data = digits()
    order = lambda seed: [e.classes for e in class_incremental(data, seed=seed)]  # noqa: E731
    assert order(3) == order(3)
    assert order(3) != order(4)


def test_stratified_split_keeps_class_balance_and_fixed_test_set():
    data = digits()
    train_counts = torch.bincount(data.y_train).float()
    test_counts = torch.bincount(data.y_test).float()
    ratio = test_counts / (train_counts + test_counts)
    assert torch.allclose(ratio, torch.full_like(ratio, 0.2), atol=0.01)
    assert torch.equal(digits().x_test, data.x_test)


def test_task_incremental_gives_task_labels():
    stream = task_incremental(synthetic(classes=6), seed=0, experiences=3)
    assert stream.task_labels
    assert [e.task for e in stream] == [0, 1, 2]
    x, y, task = stream[1].batch(torch.arange(4))
    assert task.tolist() == [1, 1, 1, 1] and x.dtype == torch.float32


def test_stream_iterates_twice_the_same():
    stream = class_incremental(synthetic(), seed=1)
    assert [e.classes for e in stream] == [e.classes for e in stream]
