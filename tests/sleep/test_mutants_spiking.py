"""Spiking sleep (SRC) tests added where mutation testing showed the suite could not tell a broken
sleep from the right one (docs/mutation-testing.md): the reference's constants as defaults, the
data-based scales, the integrate-and-fire dynamics (decay, α, threshold, reset) on hand-computed
cases, the input spike probability, the plasticity bound's scale, the sleep schedule and the
calibration's bisection."""

import copy
import math
import warnings

import pytest
import torch

from continual.sleep.spiking import (
    SleepStatistics,
    SpikingSleep,
    data_based_scales,
    plasticity_bound,
    spiking_sleep,
)
from tests.sleep.test_spiking import _options as spiking_options

# flat test data without an image_shape: the warning is tested on its own below
pytestmark = pytest.mark.filterwarnings("ignore:sleep. the inputs are flat")


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


def _options(**overrides):
    """test_spiking's one-neuron settings, with plasticity off unless asked for."""
    return spiking_options(**{"plastic": False, **overrides})


def _fire_steps(weight, steps, **overrides):
    """Steps at which the single output neuron fires, input 0 spiking at every step."""
    statistics = SleepStatistics(torch.tensor([1.0, 0.0]), (2,), max_activation=[1.0])
    fired = []
    for step in range(1, steps + 1):
        # one step at a time, the potential carried over by running the prefix again
        report = spiking_sleep([weight.clone()], statistics, step, **_options(**overrides))
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
    report = spiking_sleep([weight.clone()], statistics, 8, **_options())
    assert report.spikes == [2]


def test_input_spike_probability_is_mean_times_2_dt_max_rate_times_scale():
    # p = mean · 2 · dt · max_rate · input_scale = (0.4, 0.16); 4000 steps → 2240 ± 39 spikes
    statistics = SleepStatistics(torch.tensor([0.25, 0.1, -1.0]), (3,), max_activation=[1.0])
    weight = torch.zeros(1, 3)
    report = spiking_sleep([weight], statistics, 4000, **_options(max_rate=400.0, input_scale=2.0))
    assert abs(report.input_spikes - 2240) < 5 * math.sqrt(4000 * (0.4 * 0.6 + 0.16 * 0.84))
    assert report.steps == 4000 and report.spikes == [0]


def test_stdp_in_sleep_uses_the_given_sigmoid_scale():
    weight = torch.tensor([[0.01, 0.01]])
    statistics = SleepStatistics(torch.tensor([1.0, 0.0]), (2,), max_activation=[0.01])
    # α = 1/0.01 = 100: v = 2 ≥ 0.5 at the first step
    options = _options(plastic=True, sigmoid_scale=0.01)
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
    sleep.after_batch(learner, None)
    sleep.after_batch(learner, None)  # the 2nd batch, but nothing seen yet: no sleep
    assert sleep.totals["sleeps"] == 0 and sleep.batches == 2
    sleep.observe_data(learner, torch.rand(10, 4))
    for _ in range(5):  # batches 3..7: sleeps after the 4th and the 6th
        sleep.after_batch(learner, None)
    assert sleep.totals["sleeps"] == 2 and sleep.totals["steps"] == 4
    never = _sleep(steps=2)  # every = 0: only after experiences
    never.observe_data(learner, torch.rand(10, 4))
    for _ in range(4):
        never.after_batch(learner, None)
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
    sleep.after_batch(learner, None)
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
    report = spiking_sleep([torch.zeros(1, 16)], statistics, 10, **_options(patch_fraction=0.5))
    assert report.input_spikes == 40


def test_steps_beyond_one_chunk_are_run_and_counted_exactly():
    # input 0 spikes every step: 1500 steps, two chunks of draws
    statistics = SleepStatistics(torch.tensor([1.0, 0.0]), (2,), max_activation=[1.0])
    report = spiking_sleep([torch.zeros(1, 2)], statistics, 1500, **_options())
    assert (report.steps, report.input_spikes) == (1500, 1500)
    # early end in the second chunk: w = 2⁻¹¹ reaches the threshold 0.5 at step 1024
    weight = torch.tensor([[2.0**-11, 0.0]])
    report = spiking_sleep([weight], statistics, 3000, output_spikes=1, **_options())
    assert (report.steps, report.spikes, report.input_spikes) == (1024, [1], 2000)


def test_spiking_sleep_is_plastic_by_default():
    # small weights (where the bound is large), driven by α = 1/0.001: v = 2 fires at once
    weight = torch.tensor([[0.001, 0.001, 0.0]])
    before = weight.clone()
    statistics = SleepStatistics(torch.tensor([1.0, 1.0, 0.0]), (3,), max_activation=[0.001])
    options = _options()
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
    options = _options()
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
    options = _options()
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
    report = spiking_sleep(weights, statistics, 6, **_options(decay=0.5, thresholds=(0.5, 0.4)))
    assert report.spikes == [2, 0]
