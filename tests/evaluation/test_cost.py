"""Cost accounting: FLOPs against hand counts, SynOps, the energy estimate's label, phases."""

import pytest
import torch
from torch import nn

from continual import runner, specs
from continual.components.base import Component, CostProbe
from continual.evaluation import cost
from continual.learners.backprop import Backprop
from continual.sleep.replay_sleep import ReplaySleep
from continual.sleep.spiking import SpikingSleep, synaptic_operations
from tests.conftest import write


def test_flops_of_a_small_mlp_equal_the_hand_count():
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x = torch.randn(5, 4)
    # forward: 2 FLOPs per multiply-accumulate, 5 samples × (4·3 + 3·2) MACs
    assert cost.count_flops(net, x) == 2 * 5 * (4 * 3 + 3 * 2)


def test_backprop_step_and_prediction_per_sample_equal_the_hand_count():
    learner = Backprop(4, 2, hidden=(3,))
    x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    counted = cost.flops_per_sample(learner, x, y, None)
    forward = 2 * (4 * 3 + 3 * 2)
    # backward: weight gradients of both layers (same MACs as forward) and the input gradient of
    # the second layer only (the data needs none)
    backward = 2 * (4 * 3 + 3 * 2) + 2 * (3 * 2)
    assert counted["flops_per_test_sample"] == forward
    assert counted["flops_per_train_sample"] == forward + backward


def test_synaptic_operations_are_spikes_times_fan_out():
    # 10 input spikes reach 4 synapses each; 3 spikes of layer 0 reach layer 1's 2 outputs;
    # the 5 output spikes reach nothing
    assert synaptic_operations(10, [3, 5], [4, 2]) == 10 * 4 + 3 * 2


def test_energy_estimate_uses_and_names_its_assumption():
    assert cost.energy_joules(2e12, 0) == pytest.approx(4.6)  # 1e12 MACs at 4.6 pJ
    assert cost.energy_joules(0, 1e12) == pytest.approx(0.9)  # 1e12 SynOps at 0.9 pJ
    label = cost.ENERGY_ASSUMPTION
    for words in ("estimate", "4.6 pJ", "0.9 pJ", "Horowitz", "NeuroBench", "memory traffic"):
        assert words in label


SMALL_EWC_SLEEP = """
[learner]
name = "backprop"
hidden = [32]
[training]
epochs = 1
[[components]]
name = "ewc"
[[components]]
name = "sleep"
"""


def test_every_phase_is_counted_in_a_run(synthetic_scenario, tmp_path):
    scenario = specs.load_scenario(str(synthetic_scenario))
    strategy = specs.load_strategy(str(write(tmp_path, "small.toml", SMALL_EWC_SLEEP)))
    result = runner.run(scenario, strategy, seed=0)
    c = result["cost"]
    assert c["flops"]["train"] == pytest.approx(
        c["flops_per_train_sample"] * c["train_samples"], rel=0.5
    )
    experiences = result["stream"]["experiences"]
    curves, full = result["curves"], sum(e["test_size"] for e in experiences)
    rows = len(result["accuracy_matrix"])  # full sets: the rows; the other points: the subset
    subset = sum(curves["anytime_test_samples"])
    predictions = full * (rows + 1) + subset * (len(curves["step"]) - rows)  # + baseline
    per_sample, most = c["flops_per_test_sample"], predictions + len(experiences) * subset
    # an anytime point that falls on an experience's last step is replaced by its row
    assert per_sample * predictions <= c["flops"]["eval"] <= per_sample * most
    assert c["flops"]["consolidation"] > 0  # EWC's Fisher needs backward passes
    assert c["sleep_synops"] > 0 and c["synaptic_updates"] > 0
    assert c["energy_estimate_joules"] > 0 and "estimate" in c["energy_assumption"]
    assert result["memory"]["peak_rss_mib"] > 10
    # the accounting's own time is recorded apart (its share is a benchmark, docs/benchmarks)
    assert 0 < result["timings"]["cost_accounting"] < result["timings"]["total"]


class _Costly(Component):
    """A component that reports its own cost, and one that keeps the default."""

    name = "costly"

    def cost(self, learner, probe):
        return {"sleep_flops": 7.0 * probe.experiences, "sleep_synops": 3.0}


class _Fisher(Component):
    name = "fisher"

    def after_experience(self, learner, experience):  # one forward pass: 2·N·(4·3 + 3·2) FLOPs
        learner.predict(experience.x_train)


def test_each_component_reports_its_own_cost_and_the_run_sums_them():
    learner = Backprop(4, 2, hidden=(3,))
    experience = type("E", (), {"x_train": torch.randn(5, 4)})()
    probe = CostProbe(experience, experiences=3, train_flops_per_sample=10.0)
    totals = cost.component_costs(learner, [_Costly(), _Fisher(), ReplaySleep()], probe)
    assert totals == {
        "consolidation_flops": 3 * 2 * 5 * (4 * 3 + 3 * 2),  # the default: after_experience × 3
        "sleep_flops": 21.0,  # replay sleep has replayed nothing yet
        "sleep_synops": 3.0,
        "sleep_synaptic_updates": 0.0,
    }
    replay = ReplaySleep(steps=4, batch_size=8)
    replay.total_steps = 4
    assert replay.cost(learner, probe) == {"sleep_flops": 4 * 8 * 10.0}
    assert SpikingSleep().cost(learner, probe) == {}  # no sleep yet: nothing to count
