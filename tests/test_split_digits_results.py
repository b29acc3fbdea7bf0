"""The published-shape results on split-digits, averaged over 5 seeds (see
docs/benchmarks/split-digits.md for the full table and scripts/compare_split_digits.py)."""

import statistics

import pytest

from continual import runner, specs
from continual.statistics import paired

SEEDS = range(5)


def accuracies(scenario: str, strategy: str) -> list[float]:
    spec_s, spec_t = specs.load_scenario(scenario), specs.load_strategy(strategy)
    return [runner.run(spec_s, spec_t, seed)["metrics"]["average_accuracy"] for seed in SEEDS]


def mean_accuracy(scenario: str, strategy: str) -> float:
    return statistics.fmean(accuracies(scenario, strategy))


@pytest.fixture(scope="module")
def class_il_per_seed():
    names = ["finetune", "replay", "ewc", "si", "backprop+sleep"]
    names += ["hebbian+consolidation+sleep", "hebbian-batch"]
    return {name: accuracies("split-digits", name) for name in names}


@pytest.fixture(scope="module")
def class_il(class_il_per_seed):
    return {name: statistics.fmean(values) for name, values in class_il_per_seed.items()}


@pytest.fixture(scope="module")
def task_il():
    return {name: mean_accuracy("split-digits-task", name) for name in ("finetune", "ewc", "si")}


def test_replay_beats_finetune_by_fifty_points(class_il):
    assert class_il["finetune"] < 0.25
    assert class_il["replay"] >= class_il["finetune"] + 0.50


def test_spiking_sleep_lifts_finetune_without_stored_samples(class_il):
    # target +25 points (Tadros et al. report +29 on MNIST); the preset (reference constants,
    # calibrated drive, 3000 + 1000·k steps) measured +34 over seeds 0-2 (0.475, 0.548, 0.603
    # against finetune's 0.197); the spread (± 6 points per seed) allows asserting +22
    assert class_il["backprop+sleep"] >= class_il["finetune"] + 0.22


def test_regularisation_alone_does_not_solve_class_incremental(class_il):
    for name in ("ewc", "si"):
        assert abs(class_il[name] - class_il["finetune"]) < 0.05, name


def test_regularisation_helps_task_incremental(task_il):
    assert task_il["si"] >= task_il["finetune"] + 0.02
    assert task_il["ewc"] > task_il["finetune"]
    assert min(task_il["ewc"], task_il["si"]) > 0.95


def test_best_combination_without_stored_samples_reaches_sixty_percent(class_il):
    assert class_il["hebbian+consolidation+sleep"] >= 0.60


@pytest.mark.xfail(
    strict=True,
    reason="measured: consolidation + sleep add nothing over the labels trick alone on "
    "split-digits (measured with the reference SoftHebb rule, paired over seeds 0-4: +0.000 "
    "[-0.039, +0.040] at consolidation 0.001 max-scaled; with the bounded, mean-normalised "
    "consolidation on the earlier rule 0.812 vs 0.825); "
    "the science goal is open",
)
def test_the_combinations_components_add_to_the_labels_trick_alone(class_il_per_seed):
    # the labels trick alone (hebbian-batch: same learner and option, no component) reaches
    # most of the 60 %; consolidation + sleep must add on top of it, paired over the same seeds
    # and distinguishable from zero (a paired t test, p < 0.05 with a spread; more positive seeds
    # than negative ones is no evidence: 4 of 5 were positive at p 0.85)
    full = dict(enumerate(class_il_per_seed["hebbian+consolidation+sleep"]))
    alone = dict(enumerate(class_il_per_seed["hebbian-batch"]))
    gain = paired(full, alone)
    assert gain.difference.mean > 0 and gain.distinguishable, gain
