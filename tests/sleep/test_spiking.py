import pytest
import torch

from continual.errors import ContinualError
from continual.learners.backprop import Backprop
from continual.sleep.spiking import SleepStatistics, SpikingSleep, spiking_sleep, stdp


def test_stdp_potentiates_from_active_and_depresses_from_silent_inputs():
    weight = torch.tensor([[0.0, 2.0, -1.0]])
    pre = torch.tensor([1.0, 0.0, 1.0])
    change = stdp(weight, pre, inc=0.1, dec=0.01)
    sigma = torch.sigmoid(weight)
    assert torch.allclose(
        change, torch.stack([0.1 * sigma[0, 0], -0.01 * sigma[0, 1], 0.1 * sigma[0, 2]])[None]
    )


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
        sigmoid_scale=1.0,
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
    sigma = torch.sigmoid(before[0])
    expected = before[0] + torch.tensor([0.1, 0.1, -0.01]) * sigma
    assert torch.allclose(weight[0], expected)  # pre spiked: up; pre silent: down


def test_sleep_needs_statistics_and_uses_nothing_else():
    learner = Backprop(4, 2, hidden=(3,), bias=False)
    sleep = SpikingSleep(steps=50, thresholds=(0.1, 0.1), input_scale=5.0, alpha_scale=5.0)
    with pytest.raises(ContinualError, match="no statistics"):
        sleep.sleep(learner, 10)
    sleep.observe_data(learner, torch.rand(30, 4))
    stored = sleep.statistics
    assert set(vars(stored)) == {"input_mean", "image_shape", "max_activation", "count"}
    before = [layer.weight.detach().clone() for layer in learner.sleep_layers()]
    report = sleep.sleep(learner, 50)  # no data passed: statistics only
    assert report.steps == 50 and sum(report.spikes) > 0
    assert any(not torch.equal(b, layer.weight) for b, layer in zip(before, learner.sleep_layers()))


def test_statistics_are_running_means_and_maxima():
    learner = Backprop(2, 2, hidden=(2,), bias=False)
    sleep = SpikingSleep()
    sleep.observe_data(learner, torch.tensor([[1.0, 0.0], [3.0, 0.0]]))
    sleep.observe_data(learner, torch.tensor([[0.0, 4.0]]))
    assert torch.allclose(sleep.statistics.input_mean, torch.tensor([4 / 3, 4 / 3]))
    assert sleep.statistics.count == 3


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
    for target in (0.5, 2.0):
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
