import warnings

import pytest
import torch

from continual.errors import ConfigError, ContinualError
from continual.learners.backprop import Backprop
from continual.sleep.spiking import (
    SleepReport,
    SleepStatistics,
    SpikingSleep,
    patch_masks,
    plasticity_bound,
    spiking_sleep,
    stdp,
)

# flat test data without an image_shape: the warning is tested on its own below
pytestmark = pytest.mark.filterwarnings("ignore:sleep. the inputs are flat")


def test_plasticity_bound_is_the_reference_curve():
    # sleepnn_old.m: sigmoid(x) = 2*(1 - 1/(1 + exp(-x/0.001))), i.e. 2/(1 + exp(x/0.001)).
    weight = torch.tensor([-0.01, 0.0, 0.001, 0.01], dtype=torch.float64)
    expected = torch.tensor([1.9999092042, 1.0, 0.5378828427, 0.0000907957], dtype=torch.float64)
    assert torch.allclose(plasticity_bound(weight), expected, atol=1e-9)


def test_stdp_potentiates_from_active_and_depresses_from_silent_inputs():
    weight = torch.tensor([[0.0, 0.001, -0.01, 0.01]], dtype=torch.float64)
    pre = torch.tensor([1.0, 0.0, 1.0, 1.0])
    change = stdp(weight, pre, inc=0.1, dec=0.01)
    # inc·B(w) where pre spiked, −dec·B(w) where it was silent; B from the values above
    expected = torch.tensor([[0.1, -0.01 * 0.5378828427, 0.1 * 1.9999092042, 0.1 * 0.0000907957]])
    assert torch.allclose(change, expected.double(), atol=1e-9)


def test_patch_is_the_references_11_by_11_on_28_by_28_and_scales_with_the_side():
    generator = torch.Generator().manual_seed(0)
    fraction = SpikingSleep().options["patch_fraction"]  # the default is the reference's
    masks = patch_masks(500, (28, 28), fraction, 784 + 10, generator).view(500, -1)
    assert torch.equal(masks[:, :784].sum(1), torch.full((500,), 121.0))
    assert bool((masks[:, 784:] == 1).all())  # features beyond the image stay on
    images = masks[:, :784].view(500, 28, 28)
    tops = images.amax(2).argmax(1)
    assert int(tops.min()) == 0 and int(tops.max()) == 17  # create_masked_input: randi(28-10)
    small = patch_masks(50, (8, 8), fraction, 64, generator)
    assert torch.equal(small.sum(1), torch.full((50,), 9.0))  # round(8·11/28) = 3


def _options(**overrides):
    options = dict(
        alpha_scale=1.0,
        thresholds=(0.5,),
        decay=1.0,
        inc=0.1,
        dec=0.01,
        max_rate=500.0,
        dt=0.001,
        input_scale=1.0,
        patch_fraction=1.0,
        sigmoid_scale=0.001,
        generator=torch.Generator().manual_seed(0),
    )
    options.update(overrides)
    return options


def test_sleep_changes_only_the_rows_of_neurons_that_spiked():
    # Inputs 0, 1 always spike (rate 1), input 2 never does. Neuron 0 gets enough drive to fire,
    # neuron 1 (negative weights) never fires.
    weight = torch.tensor([[1.0, 1.0, 0.5], [-1.0, -1.0, 0.5]])
    before = weight.clone()
    statistics = SleepStatistics(torch.tensor([1.0, 1.0, 0.0]), (3,), max_activation=[1.0])
    report = spiking_sleep([weight], statistics, 1, **_options())
    assert report.spikes == [1] and report.input_spikes == 2
    assert torch.equal(weight[1], before[1])  # silent neuron: unchanged
    bound = plasticity_bound(before[0])
    expected = before[0] + torch.tensor([0.1, 0.1, -0.01]) * bound
    assert torch.allclose(weight[0], expected)  # pre spiked: up; pre silent: down


def test_sleep_needs_statistics_and_uses_nothing_else():
    learner = Backprop(4, 2, hidden=(3,), bias=False)
    sleep = SpikingSleep(
        steps=50, thresholds=(0.1, 0.1), input_scale=5.0, alpha_scale=5.0, target_rate=0.0
    )
    with pytest.raises(ContinualError, match="no statistics"):
        sleep.sleep(learner, 10)
    sleep.observe_data(learner, torch.rand(30, 4))
    stored = sleep.statistics
    assert set(vars(stored)) == {"input_mean", "image_shape", "max_activation", "count"}
    before = [layer.weight.detach().clone() for layer in learner.sleep_layers()]
    report = sleep.sleep(learner, 50)  # no data passed: statistics only
    assert report.steps == 50 and sum(report.spikes) > 0
    assert any(not torch.equal(b, layer.weight) for b, layer in zip(before, learner.sleep_layers()))


def _two_layer_learner() -> Backprop:
    learner = Backprop(2, 2, hidden=(2,), bias=False)
    with torch.no_grad():
        learner.net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        learner.net[2].weight.copy_(torch.tensor([[1.0, 1.0], [-1.0, 0.0]]))
    return learner


def test_statistics_are_running_means_and_maxima():
    learner = _two_layer_learner()
    sleep = SpikingSleep()
    sleep.observe_data(learner, torch.tensor([[1.0, 0.0], [3.0, 0.0]]))
    # hidden relu([3, 0]) = [3, 0], output relu([3, -3]) = [3, 0]
    assert sleep.statistics.max_activation == [3.0, 3.0]
    with torch.no_grad():
        learner.net[0].weight.mul_(0.5)  # later data is seen with other weights
    sleep.observe_data(learner, torch.tensor([[0.0, 4.0]]))  # hidden [0, 2], output [2, 0]
    assert torch.allclose(sleep.statistics.input_mean, torch.tensor([4 / 3, 4 / 3]))
    assert sleep.statistics.count == 3
    assert sleep.statistics.max_activation == [3.0, 3.0]  # running: old maxima kept


def test_recomputed_maxima_use_the_current_weights_on_all_data_seen():
    learner = _two_layer_learner()
    sleep = SpikingSleep(max_activation="recompute", steps=1, steps_increment=0)
    sleep.observe_data(learner, torch.tensor([[1.0, 0.0], [3.0, 0.0]]))
    sleep.observe_data(learner, torch.tensor([[0.0, 4.0]]))
    with torch.no_grad():
        learner.net[0].weight.mul_(0.5)
    sleep.sleep(learner, 1)
    # current weights: hidden max over data = 2 ([1.5, 0] and [0, 2]); output max = 2
    assert sleep.statistics.max_activation == [2.0, 2.0]


def test_sleep_with_plasticity_off_is_the_same_phase_without_weight_change():
    learner = _two_layer_learner()
    options = dict(thresholds=(0.1, 0.1), target_rate=0.0, input_scale=5.0, patch_fraction=1.0)
    sleep = SpikingSleep(plastic=False, **options)
    sleep.observe_data(learner, torch.rand(30, 2))
    before = [layer.weight.detach().clone() for layer in learner.sleep_layers()]
    report = sleep.sleep(learner, 50)
    assert sum(report.spikes) > 0
    assert all(torch.equal(b, layer.weight) for b, layer in zip(before, learner.sleep_layers()))
    plastic = SpikingSleep(**options)  # the same phase with plasticity changes weights
    plastic.statistics = sleep.statistics
    plastic.sleep(learner, 50)
    assert any(not torch.equal(b, layer.weight) for b, layer in zip(before, learner.sleep_layers()))


def test_sleep_warns_about_what_it_leaves_out_of_a_network():
    with pytest.warns(UserWarning, match="biases"):
        SpikingSleep().check(Backprop(4, 2, hidden=(3,), bias=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SpikingSleep().check(Backprop(4, 2, hidden=(3,), bias=False))  # a faithful conversion


def test_too_few_thresholds_for_a_deep_network_is_a_clear_error():
    learner = Backprop(4, 2, hidden=(3, 3, 3, 3))
    with pytest.raises(ContinualError, match="5 layers"):
        SpikingSleep().check(learner)


def test_early_end_after_enough_output_spikes():
    weight = torch.tensor([[1.0, 1.0]])
    statistics = SleepStatistics(torch.tensor([1.0, 1.0]), (2,), max_activation=[1.0])
    report = spiking_sleep([weight], statistics, 100, output_spikes=3, **_options())
    assert report.spikes == [3] and report.steps == 3


def test_calibration_finds_the_input_scale_for_a_target_rate():
    from continual.sleep.spiking import calibrate_input_scale

    torch.manual_seed(0)
    weights = [torch.rand(20, 10) * 0.5]
    statistics = SleepStatistics(torch.full((10,), 0.5), (10,), max_activation=[1.0])
    options = dict(_options(thresholds=(2.0,), decay=0.9))
    generator = options.pop("generator")
    options.pop("thresholds")
    rates = []
    for target in (0.025, 0.1):  # 0.5 and 2 spikes per step of 20 neurons
        scale = calibrate_input_scale(weights, statistics, target, 400, options, (2.0,), generator)
        trial = spiking_sleep(
            [weights[0].clone()],
            statistics,
            400,
            thresholds=(2.0,),
            generator=generator,
            plastic=False,
            **{**options, "input_scale": scale},
        )
        rates.append(trial.spikes[0] / 400)
    assert 0.3 < rates[0] < 0.8 and 1.4 < rates[1] < 2.8, rates


def test_a_trial_run_without_plasticity_changes_nothing():
    weight = torch.tensor([[1.0, 1.0, 0.5]])
    before = weight.clone()
    statistics = SleepStatistics(torch.tensor([1.0, 1.0, 0.0]), (3,), max_activation=[1.0])
    report = spiking_sleep([weight], statistics, 5, plastic=False, **_options())
    assert sum(report.spikes) > 0 and torch.equal(weight, before)


# -- the image shape from the data or the image_shape option (issue 20) --------------------------


def _phase(sleep: SpikingSleep, x: torch.Tensor) -> tuple[list[torch.Tensor], SleepReport]:
    torch.manual_seed(0)
    learner = Backprop(36, 3, hidden=(8,), bias=False)
    sleep.observe_data(learner, x)
    report = sleep.sleep(learner, 300)
    return [layer.weight.detach().clone() for layer in learner.sleep_layers()], report


def test_flat_input_with_image_shape_sleeps_as_the_image_does():
    images = torch.rand(20, 6, 6, generator=torch.Generator().manual_seed(1))
    options = dict(thresholds=(0.05, 0.05), target_rate=0.0, input_scale=5.0, alpha_scale=5.0)
    square = SpikingSleep(**options)
    flat = SpikingSleep(image_shape=(6, 6), **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither warns: both know the image
        from_images = _phase(square, images)
        from_flat = _phase(flat, images.flatten(1))
    assert square.statistics.image_shape == flat.statistics.image_shape == (6, 6)
    assert sum(from_images[1].spikes) > 0 and from_images[1].spikes == from_flat[1].spikes
    assert all(torch.equal(a, b) for a, b in zip(from_images[0], from_flat[0]))
    # the same square patches (the pixel-mask draw would differ)
    masks = [
        patch_masks(50, shape, 0.5, 36, torch.Generator().manual_seed(2))
        for shape in ((6, 6), flat.statistics.image_shape)
    ]
    assert torch.equal(*masks) and torch.equal(masks[0].sum(1), torch.full((50,), 9.0))


def test_flat_input_without_image_shape_warns_once_naming_the_option():
    sleep = SpikingSleep(target_rate=0.0)
    learner = Backprop(36, 3, hidden=(8,), bias=False)
    with pytest.warns(UserWarning, match=r"flat \(36 features\).*image_shape = \[28, 28\]"):
        sleep.observe_data(learner, torch.rand(10, 36))
    assert sleep.statistics.image_shape == (36,)  # a random pixel mask, as the warning says
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SpikingSleep(target_rate=0.0).observe_data(learner, torch.rand(10, 6, 6))  # an image


def test_image_shape_that_does_not_fit_the_data_is_a_clear_error():
    learner = Backprop(36, 3, hidden=(8,), bias=False)
    with pytest.raises(ContinualError, match=r"image_shape \[5, 5\] has 25 pixels but the inputs"):
        SpikingSleep(image_shape=(5, 5)).observe_data(learner, torch.rand(4, 36))
    with pytest.raises(ConfigError, match="image_shape"):
        SpikingSleep(image_shape=(36,))


# -- spike counts per layer and per 1000 steps ---------------------------------------------------


def test_spike_counts_per_window_equal_a_hand_count():
    # one input spiking every step; layer 1 fires every 3rd step (1, 2, 3 >= 2.5), layer 2 gets a
    # spike every 3rd step and fires at every 2nd of them (1, 2 >= 1.5): steps 6, 12, ...
    weights = [torch.tensor([[1.0]]), torch.tensor([[1.0]])]
    statistics = SleepStatistics(torch.tensor([1.0]), (1,), max_activation=[1.0, 1.0])
    options = _options(thresholds=(2.5, 1.5))
    report = spiking_sleep(weights, statistics, 2500, plastic=False, **options)
    # multiples of 3 in (0, 1000], (1000, 2000], (2000, 2500]: 333, 333, 167; of 6: 166, 167, 83
    assert report.spikes_per_window == [[333, 333, 167], [166, 167, 83]]
    assert report.spikes == [833, 416] and report.steps == 2500


def test_the_summary_keeps_every_sleeps_windows():
    learner = _two_layer_learner()
    sleep = SpikingSleep(thresholds=(0.1, 0.1), target_rate=0.0, input_scale=5.0)
    sleep.observe_data(learner, torch.rand(30, 2))
    reports = [sleep.sleep(learner, 1500), sleep.sleep(learner, 700)]
    summary = sleep.summary()
    assert summary["spikes_per_1000_steps"] == [r.spikes_per_window for r in reports]
    assert [len(layer) for layer in summary["spikes_per_1000_steps"][0]] == [2, 2]
    assert summary["spikes_per_layer"] == [
        sum(sum(r.spikes_per_window[layer]) for r in reports) for layer in range(2)
    ]
    assert "threshold_factors" not in summary  # no homeostasis
    restored = SpikingSleep()
    restored.load_state_dict(sleep.state_dict())
    assert restored.summary()["spikes_per_1000_steps"] == summary["spikes_per_1000_steps"]


# -- homeostasis (a stated deviation from SRC, off by default) ----------------------------------


def test_homeostatic_factors_by_hand():
    from continual.sleep.spiking import homeostatic_factors

    # ((count + 1)/(target + 1))^gain, at most x2 or x1/2 per window, never above the base
    factors = homeostatic_factors([1.0, 0.5, 0.5, 0.25], [3, 0, 15, 99], [7, 9, 7, 9], 1.0)
    assert factors == pytest.approx([0.5, 0.25, 1.0, 0.5])
    assert homeostatic_factors([0.5], [3], [15], 0.5) == pytest.approx([0.25])  # (4/16)^0.5
    assert homeostatic_factors([0.5], [0], [0], 1.0) == [0.5]  # as active as at the start


def _dying_phase(homeostasis: float, seed: int) -> SleepReport:
    # four inputs at rate 0.5 with weights 0.003: each spike depresses the silent inputs'
    # synapses (inc = 0) until the drive no longer reaches the threshold
    weight = torch.full((1, 4), 0.003)
    statistics = SleepStatistics(torch.full((4,), 0.5), (4,), max_activation=[1.0])
    options = _options(thresholds=(0.015,), decay=0.5, inc=0.0, dec=0.002)
    options["generator"] = torch.Generator().manual_seed(seed)
    return spiking_sleep([weight], statistics, 6000, homeostasis=homeostasis, **options)


@pytest.mark.parametrize("seed", [0, 1])
def test_homeostasis_revives_a_layer_that_fell_silent(seed):
    without, with_ = _dying_phase(0.0, seed), _dying_phase(1.0, seed)
    assert without.spikes_per_window[0][0] > 0 and sum(without.spikes_per_window[0][2:]) == 0
    assert with_.spikes_per_window[0][:2] == without.spikes_per_window[0][:2]  # same start
    assert sum(with_.spikes_per_window[0][2:]) >= 10  # silent windows lowered the threshold
    assert with_.threshold_factors[0] < 1.0 and without.threshold_factors == [1.0]
