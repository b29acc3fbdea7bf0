import copy
import math
import warnings

import pytest
import torch

from continual.errors import ConfigError, ContinualError
from continual.learners.backprop import Backprop
from continual.sleep.spiking import (
    SleepReport,
    SleepStatistics,
    SpikingSleep,
    data_based_scales,
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


# The parts mutation testing found untested (docs/mutation-testing.md): the reference's constants
# as defaults, the data-based scales, the integrate-and-fire dynamics (decay, α, threshold, reset)
# on hand-computed cases, the input spike probability, the plasticity bound's scale, the sleep
# schedule, the calibration's bisection, checkpoints and the settings' bounds.


def test_defaults_are_the_reference_constants():
    # MNIST/run_class_task_summary.m and sleep/sleepnn_old.m of the reference MATLAB
    # (github.com/tmtadros/SleepReplayConsolidation)
    sleep = SpikingSleep()
    assert sleep.options == {
        "alpha_scale": 55.882454,
        "decay": 0.999,
        "inc": 0.032064,
        "dec": 0.003344,
        "max_rate": 239.515363,
        "dt": 0.001,
        "input_scale": 1.0,
        "patch_fraction": 11 / 28,
        "sigmoid_scale": 0.001,
        "output_spikes": 0,
        "homeostasis": 0.0,  # off: SRC's thresholds are fixed
    }
    assert sleep.image_shape is None  # the data's own shape
    assert sleep.thresholds == (14.548273, 44.560317, 38.046326)
    assert (sleep.steps, sleep.increment, sleep.every) == (15000, 5000, 0)
    assert (sleep.target_rate, sleep.calibration_steps) == (0.008, 300)
    assert sleep.plastic and not sleep.recompute
    assert sleep.generator.initial_seed() == 0


def test_data_based_scales_on_a_hand_computed_chain():
    # layer 1: max(max positive weight 2, max activation 3) = 3 → factor 1/3;
    # layer 2: max(0.5, 1) = 1, relative to the layer below: 1/3 → factor 3
    weights = [torch.tensor([[2.0, -5.0]]), torch.tensor([[0.5], [-7.0]])]
    assert data_based_scales(weights, [3.0, 1.0]) == pytest.approx([1 / 3, 3.0])
    # the weight wins where it is the larger; negative weights never count
    assert data_based_scales([torch.tensor([[4.0, -9.0]])], [1.0]) == pytest.approx([0.25])
    # all-zero layer: the floor 1e-12 instead of a division by zero
    assert data_based_scales([torch.zeros(1, 2)], [0.0]) == pytest.approx([1e12])


def _still_options(**overrides):
    """test_spiking's one-neuron settings, with plasticity off unless asked for."""
    return _options(**{"plastic": False, **overrides})


def _fire_steps(weight, steps, **overrides):
    """Steps at which the single output neuron fires, input 0 spiking at every step."""
    statistics = SleepStatistics(torch.tensor([1.0, 0.0]), (2,), max_activation=[1.0])
    fired = []
    for step in range(1, steps + 1):
        # one step at a time, the potential carried over by running the prefix again
        report = spiking_sleep([weight.clone()], statistics, step, **_still_options(**overrides))
        fired.append(report.spikes[0])
    return [s for s, (a, b) in enumerate(zip([0, *fired], fired), 1) if b > a]


def test_integrate_and_fire_accumulates_fires_at_the_threshold_and_resets():
    weight = torch.tensor([[0.25, 0.25]])  # input 1 never spikes; α = 1 (max activation 1)
    # v: 0.25, 0.5 ≥ 0.5 fires (reset to 0), 0.25, 0.5 fires, ...
    assert _fire_steps(weight, 6) == [2, 4, 6]


def test_the_potential_decays_each_step():
    weight = torch.tensor([[0.25, 0.25]])
    # decay 0.5: v = 0.25, 0.375, 0.4375, ... → 0.5 never reached
    assert _fire_steps(weight, 6, decay=0.5) == []
    # decay 0.9: v_t = 0.25·(1 − 0.9^t)/0.1 reaches 0.5 at t = 3 (0.6775), then resets
    assert _fire_steps(weight, 6, decay=0.9) == [3, 6]


def test_the_drive_is_alpha_scale_times_the_data_based_factor():
    weight = torch.tensor([[0.25, 0.25]])
    assert _fire_steps(weight, 4, alpha_scale=2.0) == [1, 2, 3, 4]  # 0.5 each step
    # a max activation of 2 halves the drive: 0.125 per step, fires every 4th step
    statistics = SleepStatistics(torch.tensor([1.0, 0.0]), (2,), max_activation=[2.0])
    report = spiking_sleep([weight.clone()], statistics, 8, **_still_options())
    assert report.spikes == [2]


def test_input_spike_probability_is_mean_times_2_dt_max_rate_times_scale():
    # p = mean · 2 · dt · max_rate · input_scale = (0.4, 0.16); 4000 steps → 2240 ± 39 spikes
    statistics = SleepStatistics(torch.tensor([0.25, 0.1, -1.0]), (3,), max_activation=[1.0])
    weight = torch.zeros(1, 3)
    report = spiking_sleep(
        [weight], statistics, 4000, **_still_options(max_rate=400.0, input_scale=2.0)
    )
    assert abs(report.input_spikes - 2240) < 5 * math.sqrt(4000 * (0.4 * 0.6 + 0.16 * 0.84))
    assert report.steps == 4000 and report.spikes == [0]


def test_stdp_in_sleep_uses_the_given_sigmoid_scale():
    weight = torch.tensor([[0.01, 0.01]])
    statistics = SleepStatistics(torch.tensor([1.0, 0.0]), (2,), max_activation=[0.01])
    # α = 1/0.01 = 100: v = 2 ≥ 0.5 at the first step
    options = _still_options(plastic=True, sigmoid_scale=0.01)
    before = weight.clone()
    report = spiking_sleep([weight], statistics, 1, **options)
    assert report.spikes == [1]
    bound = plasticity_bound(before[0], scale=0.01)  # 2σ(−1) = 0.5379, not 2σ(−10)
    torch.testing.assert_close(weight[0], before[0] + torch.tensor([0.1, -0.01]) * bound)


class _Experience:
    def __init__(self, x):
        self.x = x

    def training_data(self):
        return self.x, None, None


def _learner():
    from continual.learners.backprop import Backprop

    torch.manual_seed(0)
    learner = Backprop(4, 2, hidden=(3,), bias=False)
    with torch.no_grad():
        for layer in learner.sleep_layers():
            layer.weight.abs_()  # positive weights: every layer can fire
    return learner


def _sleep(**kwargs):
    options = dict(thresholds=(0.1, 0.1), input_scale=5.0, alpha_scale=5.0, target_rate=0.0)
    return SpikingSleep(**{**options, **kwargs})


def test_the_sleep_schedule_grows_by_the_increment_per_experience():
    sleep, learner = _sleep(steps=3, steps_increment=2), _learner()
    x = torch.rand(10, 4)
    steps = []
    for _ in range(3):
        sleep.after_experience(learner, _Experience(x))
        steps.append(sleep.totals["steps"])
    assert steps == [3, 3 + 5, 3 + 5 + 7] and sleep.experiences == 3
    summary = sleep.summary()
    assert summary["sleeps"] == 3 and summary["steps"] == 15
    assert sum(summary["spikes_per_layer"]) > 0 and summary["input_spikes"] > 0


def test_totals_add_up_the_reports_of_every_sleep():
    sleep, learner = _sleep(), _learner()
    sleep.observe_data(learner, torch.rand(10, 4))
    reports = [sleep.sleep(learner, n) for n in (4, 6)]
    assert sleep.totals == {
        "sleeps": 2,
        "steps": 10,
        "input_spikes": sum(r.input_spikes for r in reports),
    }
    assert sleep.summary()["spikes_per_layer"] == [
        a + b for a, b in zip(reports[0].spikes, reports[1].spikes)
    ]
    assert "calibrated_input_scale" not in sleep.summary()  # no calibration asked for


def test_sleep_every_n_batches_once_statistics_exist():
    sleep, learner = _sleep(steps=2, every=2), _learner()
    sleep.after_step(learner, None)
    sleep.after_step(learner, None)  # the 2nd batch, but nothing seen yet: no sleep
    assert sleep.totals["sleeps"] == 0 and sleep.batches == 2
    sleep.observe_data(learner, torch.rand(10, 4))
    for _ in range(5):  # batches 3..7: sleeps after the 4th and the 6th
        sleep.after_step(learner, None)
    assert sleep.totals["sleeps"] == 2 and sleep.totals["steps"] == 4
    never = _sleep(steps=2)  # every = 0: only after experiences
    never.observe_data(learner, torch.rand(10, 4))
    for _ in range(4):
        never.after_step(learner, None)
    assert never.totals["sleeps"] == 0


def test_the_input_scale_is_calibrated_once_on_the_first_sleep():
    sleep, learner = _sleep(target_rate=0.05, calibration_steps=50), _learner()
    sleep.observe_data(learner, torch.rand(10, 4))
    sleep.sleep(learner, 5)
    assert len(sleep.scales) == 1
    scale = sleep.scales[0]
    assert 1e-3 < scale < 1e3 and sleep.summary()["calibrated_input_scale"] == scale
    sleep.sleep(learner, 5)
    assert sleep.scales == [scale]  # kept, not recalibrated


def test_sleep_draws_only_from_its_own_seeded_generator():
    weights = []
    for _ in range(2):
        sleep, learner = _sleep(target_rate=0.05, calibration_steps=20), _learner()
        sleep.reseed(4)
        sleep.observe_data(learner, torch.rand(10, 4, generator=torch.Generator().manual_seed(1)))
        torch.manual_seed(0)
        state = torch.get_rng_state()
        sleep.sleep(learner, 30)
        assert torch.equal(torch.get_rng_state(), state)  # torch's global generator untouched
        weights.append([layer.weight.detach().clone() for layer in learner.sleep_layers()])
    assert all(torch.equal(a, b) for a, b in zip(*weights))


def test_a_checkpointed_sleep_continues_identically():
    sleep, learner = (
        _sleep(max_activation="recompute", target_rate=0.05, calibration_steps=20),
        _learner(),
    )
    sleep.after_experience(learner, _Experience(torch.rand(10, 4)))
    sleep.after_step(learner, None)
    state = sleep.state_dict()
    assert state["statistics"]["count"] == 10 and state["statistics"]["image_shape"] == [4]
    clone = _sleep(max_activation="recompute", target_rate=0.05, calibration_steps=20)
    clone.reseed(7)
    clone.load_state_dict(state)
    assert clone.summary() == sleep.summary()
    assert (clone.experiences, clone.batches, clone.scales) == (1, 1, sleep.scales)
    assert clone.statistics.max_activation == sleep.statistics.max_activation
    assert clone.statistics.count == 10
    assert torch.equal(clone.statistics.input_mean, sleep.statistics.input_mean)
    assert len(clone.seen_inputs) == 1 and torch.equal(clone.seen_inputs[0], sleep.seen_inputs[0])
    twin = copy.deepcopy(learner)
    a, b = sleep.sleep(learner, 20), clone.sleep(twin, 20)
    assert (a.spikes, a.input_spikes) == (b.spikes, b.input_spikes)
    empty = _sleep()
    empty.load_state_dict(_sleep().state_dict())
    assert empty.statistics is None


def test_check_accepts_as_many_layers_as_thresholds_and_names_the_learner():
    from continual.errors import ContinualError
    from continual.learners.backprop import Backprop

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SpikingSleep().check(Backprop(4, 2, hidden=(3, 3), bias=False))  # 3 layers, 3 thresholds
    with pytest.raises(ContinualError, match="the Backprop learner has 4 layers but 3"):
        SpikingSleep().check(Backprop(4, 2, hidden=(3, 3, 3), bias=False))
    with pytest.warns(UserWarning, match="the Backprop learner's linear layers"):
        SpikingSleep().check(Backprop(4, 2, hidden=(3,)))


ACCEPTED = [
    {"steps": 0, "steps_increment": 0},
    {"every": 0},
    {"decay": 1.0},
    {"patch_fraction": 1.0},
    {"output_spikes": 0},
    {"target_rate": 0.0},
    {"max_activation": "recompute"},
]


COUNT = r"in \[0, 1000000000\]"
REFUSED = [  # the messages of the annotations' ranges (continual/ranges.py)
    ({"steps": -1}, "steps", rf"must be at least 0 \(allowed: {COUNT}\), got -1"),
    (
        {"steps_increment": -1},
        "steps_increment",
        rf"must be at least 0 \(allowed: {COUNT}\), got -1",
    ),
    (
        {"every": -1},
        "every",
        rf"must be at least 0 \(allowed: {COUNT}; 0: only after experiences\), got -1",
    ),
    ({"decay": 0.0}, "decay", r"must be positive \(allowed: in \(0, 1\]\), got 0.0"),
    ({"decay": 1.0 + 1e-9}, "decay", r"must be at most 1 \(allowed: in \(0, 1\]\), got 1.0+1"),
    ({"thresholds": (1.0, 0.0)}, "thresholds", r"must be positive \(allowed: > 0\), got 0.0"),
    (
        {"patch_fraction": 0.0},
        "patch_fraction",
        r"must be positive \(allowed: in \(0, 1\]\), got 0.0",
    ),
    (
        {"patch_fraction": 1.0 + 1e-9},
        "patch_fraction",
        r"must be at most 1 \(allowed: in \(0, 1\]\), got 1.0+1",
    ),
    (
        {"output_spikes": -1},
        "output_spikes",
        rf"must be at least 0 \(allowed: {COUNT}; 0: no early end\), got -1",
    ),
    (
        {"target_rate": -1e-9},
        "target_rate",
        r"must be at least 0 \(allowed: >= 0; 0: no calibration\), got -1e-09",
    ),
    ({"sigmoid_scale": 0.0}, "sigmoid_scale", r"must be positive \(allowed: > 0\), got 0.0"),
    (
        {"max_activation": "max"},
        "max_activation",
        "'max' is not one of 'running', 'recompute'; valid names: recompute, running",
    ),
]


@pytest.mark.parametrize("values", ACCEPTED)
def test_settings_accept_their_edge_values(values):
    sleep = SpikingSleep(**values)
    held = {
        **sleep.options,
        "steps": sleep.steps,
        "steps_increment": sleep.increment,
        "every": sleep.every,
        "target_rate": sleep.target_rate,
        "max_activation": "recompute" if sleep.recompute else "running",
    }
    assert {key: held[key] for key in values} == values  # kept as given, not clamped


@pytest.mark.parametrize(("values", "field", "message"), REFUSED)
def test_settings_refuse_out_of_range_values_naming_the_field(values, field, message):
    from continual.errors import ConfigError

    with pytest.raises(ConfigError, match=f"^{field}: {message}$") as caught:
        SpikingSleep(**values)
    assert caught.value.field == field


def test_only_inputs_inside_the_patch_spike():
    # a 4×4 image at rate 1 everywhere, patch fraction 0.5: a 2×2 patch, 4 input spikes per step
    statistics = SleepStatistics(torch.full((16,), 1.0), (4, 4), max_activation=[1.0])
    report = spiking_sleep(
        [torch.zeros(1, 16)], statistics, 10, **_still_options(patch_fraction=0.5)
    )
    assert report.input_spikes == 40


def test_steps_beyond_one_chunk_are_run_and_counted_exactly():
    # input 0 spikes every step: 1500 steps, two chunks of draws
    statistics = SleepStatistics(torch.tensor([1.0, 0.0]), (2,), max_activation=[1.0])
    report = spiking_sleep([torch.zeros(1, 2)], statistics, 1500, **_still_options())
    assert (report.steps, report.input_spikes) == (1500, 1500)
    # early end in the second chunk: w = 2⁻¹¹ reaches the threshold 0.5 at step 1024
    weight = torch.tensor([[2.0**-11, 0.0]])
    report = spiking_sleep([weight], statistics, 3000, output_spikes=1, **_still_options())
    assert (report.steps, report.spikes, report.input_spikes) == (1024, [1], 2000)


def test_spiking_sleep_is_plastic_by_default():
    # small weights (where the bound is large), driven by α = 1/0.001: v = 2 fires at once
    weight = torch.tensor([[0.001, 0.001, 0.0]])
    before = weight.clone()
    statistics = SleepStatistics(torch.tensor([1.0, 1.0, 0.0]), (3,), max_activation=[0.001])
    options = _still_options()
    del options["plastic"]
    spiking_sleep([weight], statistics, 1, **options)
    change = torch.tensor([0.1, 0.1, -0.01]) * plasticity_bound(before[0])
    torch.testing.assert_close(weight[0], before[0] + change)


def test_patches_cover_every_position_of_non_square_and_channel_images():
    from continual.sleep.spiking import patch_masks

    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    state = torch.get_rng_state()
    masks = patch_masks(400, (2, 4, 6), 0.5, 2 * 24 + 3, generator)
    assert torch.equal(torch.get_rng_state(), state)  # only the given generator is used
    assert bool((masks[:, 48:] == 1).all())  # features beyond the image stay on
    images = masks[:, :48].view(400, 2, 4, 6)
    assert torch.equal(images[:, 0], images[:, 1])  # the same patch in every channel
    assert torch.equal(images.sum((1, 2, 3)), torch.full((400,), 2 * 4.0))  # 2×2 per channel
    rows, cols = images[:, 0].amax(2), images[:, 0].amax(1)
    tops, lefts = rows.argmax(1), cols.argmax(1)
    assert set(tops.tolist()) == {0, 1, 2} and set(lefts.tolist()) == {0, 1, 2, 3, 4}
    tiny = patch_masks(10, (4, 6), 0.01, 24, generator)
    assert torch.equal(tiny.sum(1), torch.ones(10))  # at least one pixel


def test_flat_inputs_keep_each_feature_with_probability_fraction_squared():
    from continual.sleep.spiking import patch_masks

    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    state = torch.get_rng_state()
    masks = patch_masks(2000, (10,), 0.5, 12, generator)
    assert torch.equal(torch.get_rng_state(), state)
    assert masks.shape == (2000, 12) and bool((masks[:, 10:] == 1).all())
    kept = float(masks[:, :10].mean())
    assert abs(kept - 0.25) < 0.02  # 20000 draws: standard deviation 0.003
    assert not torch.equal(masks[0, :10], masks[1, :10])  # a new draw per step


def test_calibration_is_a_log_scale_bisection_of_eight_steps():
    from continual.sleep.spiking import calibrate_input_scale

    statistics = SleepStatistics(torch.full((3,), 0.5), (3,), max_activation=[1.0])
    options = _still_options()
    for key in ("generator", "thresholds", "plastic"):
        del options[key]
    silent = [torch.zeros(2, 3)]  # never fires: the rate is 0 at every scale
    generator = torch.Generator().manual_seed(0)
    # target 0: a rate of 0 is not below it, so every step halves towards the low end 1e-3
    low = calibrate_input_scale(silent, statistics, 0.0, 5, options, (0.5,), generator)
    assert low == pytest.approx(10 ** (-3 + 6 / 2**9), rel=1e-9)
    # an unreachable rate: every step moves up towards 1e3
    high = calibrate_input_scale(silent, statistics, 2.0, 5, options, (0.5,), generator)
    assert high == pytest.approx(10 ** (3 - 6 / 2**9), rel=1e-9)


def test_calibration_trials_leave_the_weights_alone():
    from continual.sleep.spiking import calibrate_input_scale

    weights = [torch.rand(4, 3, generator=torch.Generator().manual_seed(2))]
    before = weights[0].clone()
    statistics = SleepStatistics(torch.full((3,), 0.5), (3,), max_activation=[1.0])
    options = _still_options()
    for key in ("generator", "thresholds", "plastic"):
        del options[key]
    generator = torch.Generator().manual_seed(0)
    calibrate_input_scale(weights, statistics, 0.1, 20, options, (0.5,), generator)
    assert torch.equal(weights[0], before)


def test_a_checkpoint_without_the_later_fields_loads_with_their_defaults():
    sleep = _sleep()
    sleep.observe_data(_learner(), torch.rand(10, 4))
    state = sleep.state_dict()
    old = {key: state[key] for key in ("statistics", "experiences", "rng")}
    clone = _sleep()
    clone.load_state_dict(old)
    assert (clone.seen_inputs, clone.batches, clone.layer_spikes, clone.scales) == ([], 0, [], [])
    assert clone.totals == {"sleeps": 0, "steps": 0, "input_spikes": 0}


def test_upper_layers_decay_at_steps_where_a_lower_layer_is_silent():
    # decay 0.5; layer 1 (w = 0.3, threshold 0.5) fires at steps 3 and 6; layer 2 (w = 0.3,
    # threshold 0.4) gets 0.3 at step 3, decays at steps 4-6 to 0.0375, + 0.3 = 0.3375 < 0.4:
    # it never fires (without the decay at silent steps it would reach 0.45 and fire)
    weights = [torch.tensor([[0.3, 0.0]]), torch.tensor([[0.3]])]
    statistics = SleepStatistics(torch.tensor([1.0, 0.0]), (2,), max_activation=[1.0, 1.0])
    report = spiking_sleep(
        weights, statistics, 6, **_still_options(decay=0.5, thresholds=(0.5, 0.4))
    )
    assert report.spikes == [2, 0]
