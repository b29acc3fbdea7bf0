"""Invariants of every generator."""

import math

import pytest
import torch

from continual.errors import ConfigError
from continual.scenarios.domain import permutations, permuted, rotate, rotated
from continual.scenarios.experience import online_experiences
from continual.scenarios.sources import digits, synthetic
from continual.scenarios.split import class_incremental, task_incremental
from continual.scenarios.task_free import task_free


@pytest.fixture(scope="module")
def data():
    return digits()


def test_class_incremental_experiences_are_disjoint_and_cover_the_classes(data):
    stream = class_incremental(data, seed=0, experiences=5)
    groups = [set(e.classes) for e in stream]
    assert all(a.isdisjoint(b) for i, a in enumerate(groups) for b in groups[i + 1 :])
    assert set().union(*groups) == set(range(10))
    assert all(len(g) == 2 for g in groups)


def test_explicit_class_groups_and_classes_per_experience(data):
    stream = class_incremental(data, seed=0, class_groups=[[0, 1, 2], [7]])
    assert [e.classes for e in stream] == [(0, 1, 2), (7,)]
    stream = class_incremental(data, seed=0, experiences=3, classes_per_experience=3)
    assert [len(e.classes) for e in stream] == [3, 3, 3]
    with pytest.raises(ConfigError, match="appear twice"):
        class_incremental(data, seed=0, class_groups=[[0, 1], [1, 2]])
    with pytest.raises(ConfigError, match="not in the data"):
        class_incremental(data, seed=0, class_groups=[[0, 11]])
    with pytest.raises(ConfigError, match="need 12 classes"):
        class_incremental(data, seed=0, experiences=4, classes_per_experience=3)


def test_samples_per_experience_subsamples_training_data_only(data):
    stream = class_incremental(data, seed=0, experiences=5, samples_per_experience=50)
    assert all(e.train_size == 50 for e in stream)
    full = class_incremental(data, seed=0, experiences=5)
    assert all(len(a.y_test) == len(b.y_test) for a, b in zip(stream, full))


def test_task_incremental_label_remapping(data):
    stream = task_incremental(data, seed=0, experiences=5, remap_labels=True)
    assert stream.num_classes == 2
    for e in stream:
        assert e.classes == (0, 1) and set(e.y_train.tolist()) == {0, 1}


def test_permuted_experiences_share_labels_and_use_fixed_permutations(data):
    stream = permuted(data, seed=3, experiences=4)
    assert all(e.classes == tuple(range(10)) for e in stream)
    assert all(torch.equal(e.y_train, data.y_train) for e in stream)
    assert torch.equal(stream[0].x_train, data.x_train)  # the first is unpermuted
    orders = permutations(64, 4, seed=3, first_unpermuted=True)
    for e, order in zip(stream, orders):
        assert torch.equal(order.sort().values, torch.arange(64))  # a permutation
        assert torch.equal(e.x_train.flatten(1), data.x_train.flatten(1)[:, order])
        assert torch.equal(e.x_test.flatten(1), data.x_test.flatten(1)[:, order])  # same one
    assert not torch.equal(orders[1], orders[2])
    again = permuted(data, seed=3, experiences=4)
    assert all(torch.equal(a.x_train, b.x_train) for a, b in zip(stream, again))
    other = permuted(data, seed=4, experiences=4)
    assert not torch.equal(stream[1].x_train, other[1].x_train)


def test_rotation_preserves_shape_and_is_fixed_per_experience(data):
    stream = rotated(data, seed=0, experiences=5)
    assert all(e.x_train.shape == data.x_train.shape for e in stream)
    assert torch.equal(stream[0].x_train, data.x_train)
    image = torch.zeros(1, 8, 8)
    image[0, 0, 3:5] = 1.0  # a bar along the top edge
    turned = rotate(image, 180)
    assert turned[0, 7, 3:5].sum() > 1.5 and turned[0, 0].sum() < 0.1
    quarter = rotate(rotate(image, 90), 90)
    assert torch.allclose(quarter, turned, atol=1e-5)
    uint8 = (data.x_train[:4] * 255).to(torch.uint8)
    assert rotate(uint8, 45).dtype == torch.uint8


def test_rotation_needs_images():
    with pytest.raises(ConfigError, match="image"):
        rotated(synthetic(), seed=0)


def test_task_free_stream_sees_every_sample_once_with_blurry_boundaries(data):
    stream = task_free(data, seed=0, experiences=5, blur=0.5)
    (online,) = online_experiences(stream)
    total = sum(e.train_size for e in stream)
    assert online.train_size == total and len(stream.online.order.unique()) == total
    assert stream.online.task_ends[-1] == total and list(stream.online.task_ends) == sorted(
        stream.online.task_ends
    )
    # tasks follow each other, mixing near the boundaries
    owner = torch.cat([torch.full((e.train_size,), k) for k, e in enumerate(stream)])
    sequence = owner[stream.online.order]
    tenth = total // 10
    assert (sequence[:tenth] == 0).float().mean() > 0.9  # the start is task 0
    assert (sequence[-tenth:] == 4).float().mean() > 0.9  # the end is task 4
    boundary = sum(e.train_size for e in list(stream)[:2])  # around the 2 → 3 boundary
    window = sequence[boundary - tenth // 2 : boundary + tenth // 2]
    assert {1, 2} <= set(window.tolist())  # both tasks present: a blurry boundary
    # with blur 0 the boundaries are sharp: tasks never interleave
    sharp = task_free(data, seed=0, experiences=5, blur=0.0)
    sharp_sequence = owner[sharp.online.order]
    assert torch.equal(sharp_sequence, sharp_sequence.sort().values)


def test_task_free_mixing_ramps_linearly(data):
    # many samples per task: the share of the next task rises steadily across the window
    stream = task_free(
        synthetic(samples=20000, classes=2, features=4), seed=0, experiences=2, blur=1.0
    )
    owner = torch.cat([torch.full((e.train_size,), k) for k, e in enumerate(stream)])
    sequence = owner[stream.online.order].float()
    middle = len(sequence) // 2
    width = len(sequence) // 2  # the window spans half the stream at blur 1
    shares = [
        sequence[
            middle - width // 2 + i * width // 5 : middle - width // 2 + (i + 1) * width // 5
        ].mean()
        for i in range(5)
    ]
    assert all(a < b for a, b in zip(shares, shares[1:]))
    assert abs(shares[2] - 0.5) < 0.1
    assert math.isclose(float(sequence.mean()), 0.5, abs_tol=0.02)


def test_every_generator_is_deterministic_per_seed(data):
    for make in (
        lambda s: class_incremental(data, s),
        lambda s: permuted(data, s, experiences=3),
        lambda s: rotated(data, s, experiences=3),
        lambda s: task_free(data, s),
    ):
        a, b = make(5), make(5)
        assert all(torch.equal(x.x_train, y.x_train) for x, y in zip(a, b))


def test_task_free_boundaries_cut_the_same_pass_into_one_chunk_per_task(data):
    hidden = task_free(data, seed=0, experiences=5, blur=0.5)
    told = task_free(data, seed=0, experiences=5, blur=0.5, boundaries=True)
    chunks = online_experiences(told)
    (single,) = online_experiences(hidden)
    assert len(chunks) == 5
    assert [c.train_size for c in chunks] == [
        b - a for a, b in zip((0, *told.online.task_ends), told.online.task_ends)
    ]
    assert torch.equal(torch.cat([c.x_train for c in chunks]), single.x_train)  # same order
