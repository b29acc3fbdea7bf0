"""How the generative classifier's accuracy depends on its number of importance samples S
(van de Ven, Li & Tolias 2021, Table 4): train the ``generative-classifier`` preset once per
seed, then evaluate the same trained models with each S. Prints a Markdown table: final average
accuracy per S (mean and 95 % CI over seeds), its paired difference from the largest S, and the
evaluation time.

    python scripts/importance_samples.py [--scenario split-digits] [--dataset FILE.npz]
        [--seeds 5] [--samples 1 10 100 1000]
"""

from __future__ import annotations

import argparse
import time

import torch

from continual import runner, specs
from continual.evaluation.evaluator import Evaluator
from continual.report.aggregate import format_estimate
from continual.statistics import estimate, paired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="split-digits")
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--strategy", default="generative-classifier")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--samples", type=int, nargs="+", default=[1, 10, 100, 1000])
    args = parser.parse_args()
    torch.set_num_threads(1)
    scenario = specs.with_overrides(specs.load_scenario(args.scenario), args.dataset)
    strategy_spec = specs.load_strategy(args.strategy)
    accuracy: dict[int, dict[int, float]] = {s: {} for s in args.samples}
    seconds: dict[int, list[float]] = {s: [] for s in args.samples}
    for seed in range(args.seeds):
        torch.manual_seed(seed)
        stream = runner.build_stream(scenario, seed)
        strategy = runner.build_strategy(strategy_spec, stream, seed)
        for experience in stream:
            strategy.train_experience(experience)
        evaluator = Evaluator(stream)
        for samples in args.samples:
            strategy.learner.importance_samples = samples
            start = time.perf_counter()
            per_experience = evaluator(strategy.learner)
            seconds[samples].append(time.perf_counter() - start)
            accuracy[samples][seed] = sum(per_experience) / len(per_experience)
    largest = max(args.samples)
    print(f"{scenario.name}, {args.strategy}, {args.seeds} seeds, 1 thread\n")
    print(f"| S | final average accuracy (%) | paired vs S = {largest} | evaluation (s) |")
    print("|---|---|---|---|")
    for samples in args.samples:
        mean = format_estimate(estimate(accuracy[samples].values()))
        difference = paired(accuracy[samples], accuracy[largest])
        shown = "—"
        if samples != largest and difference is not None and difference.difference.n > 1:
            d = difference.difference
            shown = f"{100 * d.mean:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}]"
        cost = sum(seconds[samples]) / len(seconds[samples])
        print(f"| {samples} | {mean} | {shown} | {cost:.1f} |")


if __name__ == "__main__":
    main()
