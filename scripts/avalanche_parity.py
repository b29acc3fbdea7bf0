"""Shuffled parity between Avalanche ``Naive`` and our ``finetune`` on split-digits: the same
initial MLP (64-400-400-10), Adam lr 1e-3, batch 32, 10 epochs; each side shuffles batches with
its own generator. Prints, per seed, the max and mean |ΔR| over the rows after training and
both final average accuracies.

    PYTHONPATH=$PWD python scripts/avalanche_parity.py --seeds 0 1
"""

from __future__ import annotations

import argparse
import copy
import warnings

import numpy as np
import torch

from continual.evaluation.evaluator import Evaluator
from continual.learners.backprop import Backprop
from continual.runner import build_stream
from continual.specs import load_scenario
from continual.strategy import Strategy


def parity(seed: int) -> tuple[float, float, float, float]:
    from avalanche.training import Naive
    from avalanche.training.plugins import EvaluationPlugin

    from continual.avalanche import ResultsPlugin, to_benchmark

    stream = build_stream(load_scenario("split-digits"), seed=0)
    benchmark = to_benchmark(stream)
    torch.manual_seed(seed)
    learner = Backprop(64, 10, hidden=(400, 400), lr=0.001)
    model = torch.nn.Sequential(torch.nn.Flatten(), copy.deepcopy(learner.net))
    ours, evaluate, rows = (
        Strategy(learner, epochs=10, batch_size=32, seed=seed),
        Evaluator(stream),
        [],
    )
    for experience in stream:
        ours.train_experience(experience)
        rows.append(evaluate(learner))
    recorder = ResultsPlugin(benchmark, every=10_000, seed=seed)
    torch.manual_seed(seed)
    naive = Naive(
        model=model,
        optimizer=torch.optim.Adam(model.parameters(), lr=0.001),
        train_mb_size=32,
        train_epochs=10,
        eval_mb_size=512,
        plugins=[recorder],
        evaluator=EvaluationPlugin(loggers=[]),
    )
    for experience in benchmark.train_stream:
        naive.train(experience)
    theirs, mine = np.array(recorder.accuracy_matrix[1:]), np.array(rows)
    gap = np.abs(theirs - mine)
    return float(gap.max()), float(gap.mean()), float(theirs[-1].mean()), float(mine[-1].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    warnings.simplefilter("ignore")
    for seed in parser.parse_args().seeds:
        worst, mean, acc_naive, acc_ours = parity(seed)
        print(
            f"seed {seed}: max |dR| {worst:.3f}, mean |dR| {mean:.4f}, "
            f"ACC naive {acc_naive:.3f}, ours {acc_ours:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
