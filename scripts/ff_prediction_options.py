"""Forward-Forward's negative labels and prediction layers on scikit-learn digits, i.i.d. (one
experience): each option against ``negatives = "random"`` with every layer scored, paired over
the same seeds (mean [95 % t-interval]); the numbers in docs/learners.md.

    OMP_NUM_THREADS=1 python scripts/ff_prediction_options.py [--seeds 5] [--epochs 10]
"""

from __future__ import annotations

import argparse
import math
import statistics

import torch

from continual.evaluation.evaluator import Evaluator
from continual.learners.forward_forward import ForwardForward
from continual.scenarios.sources import digits
from continual.scenarios.split import class_incremental
from continual.strategy import Strategy

OPTIONS = {
    "random, every layer": {},
    "sampled, every layer": {"negatives": "sampled"},
    "hardest, every layer": {"negatives": "hardest"},
    "random, from layer 1": {"goodness_from_layer": 1},
    "sampled, from layer 1": {"negatives": "sampled", "goodness_from_layer": 1},
}
T_975 = {4: 2.776, 9: 2.262, 19: 2.093}  # two-sided 95 % t quantiles by degrees of freedom


def accuracy(options: dict, seed: int, epochs: int) -> float:
    torch.manual_seed(seed)
    stream = class_incremental(digits(), seed=0, experiences=1)
    learner = ForwardForward(stream.input_dim, 10, hidden=(300, 300), **options)
    Strategy(learner, epochs=epochs, batch_size=32).train_experience(stream[0])
    return Evaluator(stream)(learner)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, choices=[n + 1 for n in T_975])
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    results = {
        name: [accuracy(options, seed, args.epochs) for seed in range(args.seeds)]
        for name, options in OPTIONS.items()
    }
    base = results["random, every layer"]
    for name, values in results.items():
        gains = [100 * (a - b) for a, b in zip(values, base)]
        mean = statistics.mean(gains)
        half = T_975[args.seeds - 1] * statistics.stdev(gains) / math.sqrt(args.seeds)
        print(
            f"{name}: {100 * statistics.mean(values):.1f} %, paired "
            f"{mean:+.1f} [{mean - half:+.1f}, {mean + half:+.1f}]"
        )


if __name__ == "__main__":
    main()
