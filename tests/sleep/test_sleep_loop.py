"""The spiking sleep loop (which skips the layers above a silent one and gathers each fired row
once) against SRC's sleep written plainly: the same weights and spike counts, bit for bit."""

import pytest
import torch


def _plain_sleep(weights, statistics, steps, generator, **options):
    """SRC's sleep written plainly, one neuron-layer update after another with no shortcut (the
    loop before silent layers were skipped): the reference the fast loop must equal bit for bit."""
    from continual.sleep.spiking import data_based_scales, patch_masks, stdp

    alpha = [
        a * options["alpha_scale"] for a in data_based_scales(weights, statistics.max_activation)
    ]
    rate = 2 * options["dt"] * options["max_rate"] * options["input_scale"]
    probability = (statistics.input_mean.clamp_min(0) * rate).clamp_max(1)
    width = len(probability)
    mask = patch_masks(steps, statistics.image_shape, options["patch_fraction"], width, generator)
    inputs = ((torch.rand(steps, width, generator=generator) < probability) & (mask > 0)).float()
    potentials = [torch.zeros(w.shape[0]) for w in weights]
    spikes_per_layer = [0] * len(weights)
    for t in range(steps):
        spikes = inputs[t]
        for layer, weight in enumerate(weights):
            v = potentials[layer]
            v.mul_(options["decay"])
            v.add_(alpha[layer] * (weight @ spikes))
            fired = v >= options["thresholds"][layer]
            rows = fired.nonzero().squeeze(1)
            update = stdp(
                weight[rows], spikes, options["inc"], options["dec"], options["sigmoid_scale"]
            )
            weight[rows] = weight[rows] + update
            v[rows] = 0.0
            spikes_per_layer[layer] += len(rows)
            spikes = fired.float()
    return spikes_per_layer


@pytest.mark.parametrize("input_scale", [1.0, 20.0])
def test_the_sleep_loop_equals_its_plain_form_bit_for_bit(input_scale):
    from continual.sleep.spiking import SleepStatistics, SpikingSleep, spiking_sleep

    sleep = SpikingSleep(input_scale=input_scale)  # the reference constants, as the component
    options = {**sleep.options, "thresholds": sleep.thresholds}
    del options["output_spikes"]
    torch.manual_seed(0)
    weights = [torch.randn(40, 64) * 0.2, torch.randn(30, 40) * 0.2, torch.randn(10, 30) * 0.2]
    statistics = SleepStatistics(torch.rand(64) * 0.5, (1, 8, 8), [3.0, 3.0, 3.0])
    fast = [w.clone() for w in weights]
    report = spiking_sleep(
        fast, statistics, 400, generator=torch.Generator().manual_seed(1), **options
    )
    plain = [w.clone() for w in weights]
    counts = _plain_sleep(plain, statistics, 400, torch.Generator().manual_seed(1), **options)
    assert report.spikes == counts and sum(counts[1:]) > 0
    for a, b in zip(fast, plain):
        assert torch.equal(a, b)
