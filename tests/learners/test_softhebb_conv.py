import pytest
import torch
import torch.nn.functional as F

from continual.errors import ConfigError
from continual.learners.hebbian import adaptive_rate, scaled_by_largest, softhebb_update
from continual.learners.softhebb_conv import SoftHebbConv
from continual.readouts.slda import StreamingLDA
from continual.scenarios.sources import digits
from continual.scenarios.split import class_incremental
from continual.strategy import Strategy
from tests.learners.helpers import digits_iid_accuracy, perturbed, update_of, updates_by_module


def naive_filter_update(learner: SoftHebbConv, x: torch.Tensor) -> torch.Tensor:
    """The rule written position by position: every image position's patch is one sample of
    SoftHebb (g = softmax(u / τ) over filters, losers anti-Hebbian), the batch's Δw summed
    over positions and divided by their number, then scaled as the learner does."""
    images = learner.standardised(x)
    weight = learner.conv.weight.flatten(1)
    k = learner.conv.weight.shape[-1]
    padded = F.pad(images, (k // 2,) * 4)
    delta = torch.zeros_like(weight)
    count = 0
    for n in range(images.shape[0]):
        for i in range(images.shape[2]):
            for j in range(images.shape[3]):
                patch = padded[n, :, i : i + k, j : j + k].reshape(1, -1)
                u = patch @ weight.T
                g = torch.softmax(u / learner.temperature, dim=1)
                winner = u.argmax(1)
                g = -g
                g[0, winner] = -g[0, winner]
                delta += g.T * patch - (g * u).T * weight
                count += 1
    delta /= count
    step = adaptive_rate(weight, learner.rate_power) * scaled_by_largest(delta)
    return -step.view_as(learner.conv.weight)


def test_filter_update_is_softhebb_at_every_position():
    torch.manual_seed(0)
    learner = SoftHebbConv(36, 3, channels=4, kernel=3, temperature=0.5, init_radius=2.0)
    x = torch.rand(2, 36)
    got = update_of(learner, x, torch.tensor([0, 1]))[0]
    torch.testing.assert_close(got, naive_filter_update(learner, x), rtol=1e-4, atol=1e-6)


def test_filter_update_samples_positions_when_asked():
    torch.manual_seed(0)
    learner = SoftHebbConv(64, 3, channels=4, kernel=3, patches_per_batch=10)
    images = learner.standardised(torch.rand(2, 64))
    patches = F.unfold(images, 3, padding=1).transpose(1, 2).reshape(-1, 9)
    torch.manual_seed(1)
    got = learner.filter_update(images)
    torch.manual_seed(1)
    pick = torch.randperm(len(patches))[:10]
    flat = learner.conv.weight.flatten(1)
    delta = softhebb_update(patches[pick], flat, learner.temperature, anti_hebbian=True)
    expected = -(adaptive_rate(flat, learner.rate_power) * scaled_by_largest(delta))
    torch.testing.assert_close(got, expected.view_as(got))


def test_filter_update_ignores_the_readout():
    torch.manual_seed(0)
    learner = SoftHebbConv(64, 10, channels=8)
    x, y = torch.rand(16, 64), torch.randint(0, 10, (16,))
    other = perturbed(learner, ["readout"])
    mine = updates_by_module(learner, update_of(learner, x, y))
    theirs = updates_by_module(other, update_of(other, x, y))
    assert torch.equal(mine["conv.weight"], theirs["conv.weight"])


def test_filters_move_towards_unit_norm():
    # the rule's fixed point is ‖w_k‖ = 1 (Oja-like decay), reached through the adaptive rate
    torch.manual_seed(0)
    learner = SoftHebbConv(64, 10, channels=8, init_radius=3.0, hebbian_lr=0.1)
    stream = class_incremental(digits(), seed=0, experiences=1)
    before = (learner.conv.weight.flatten(1).norm(dim=1) - 1).abs().mean()
    Strategy(learner, epochs=2, batch_size=64).train_experience(stream[0])
    after = (learner.conv.weight.flatten(1).norm(dim=1) - 1).abs().mean()
    assert after < 0.1 * before  # from |3 - 1| = 2 to about 0.05


def test_learns_digits_with_its_own_readout():
    torch.manual_seed(0)
    assert digits_iid_accuracy(SoftHebbConv(64, 10, channels=32), epochs=5) > 0.85


def test_frozen_features_stay_at_initialisation_and_slda_does_not_forget():
    torch.manual_seed(0)
    learner = SoftHebbConv(64, 10, channels=16, grid=2)
    learner.attach_readout(StreamingLDA(16 * 4, 10), train_features=False)
    start = learner.conv.weight.detach().clone()
    stream = class_incremental(digits(), seed=0, experiences=5)
    strategy = Strategy(learner, epochs=1, batch_size=64)
    for experience in stream:
        strategy.train_experience(experience)
    assert torch.equal(learner.conv.weight, start)
    x = torch.cat([e.x_test for e in stream])
    y = torch.cat([e.y_test for e in stream])
    with torch.no_grad():
        accuracy = (learner.scores(x).argmax(1) == y).float().mean()
    assert accuracy > 0.85  # class-incremental over 10 classes, chance 0.1


@pytest.mark.parametrize(("inputs", "kernel"), [(49, 6), (81, 2), (9, 2), (4, 2), (64, 4)])
def test_even_kernels_and_tiny_images_give_a_readout_of_the_right_size(inputs, kernel):
    # "same" padding of an even kernel makes the map one pixel larger than the image
    torch.manual_seed(0)
    learner = SoftHebbConv(inputs, 3, channels=4, kernel=kernel, grid=64)
    x, y = torch.rand(5, inputs), torch.tensor([0, 1, 2, 0, 1])
    learner.observe(x, y)
    assert learner.predict(x).shape == (5, 3)


@pytest.mark.parametrize(
    ("options", "field"),
    [({}, "in_channels"), ({"kernel": 9}, "kernel")],
)
def test_bad_shapes_are_refused(options, field):
    size = 50 if not options else 64
    with pytest.raises(ConfigError) as error:
        SoftHebbConv(size, 10, **options)
    assert error.value.field == field
