"""Benchmark every learner on the same data: i.i.d. digits accuracy, wall time per epoch,
FLOPs per training and test sample (torch.utils.flop_counter), each also as a ratio to backprop;
then each learner's forgetting on split-digits (class-incremental) next to backprop's.

    python scripts/benchmark_learners.py [--seeds 3] [--threads 2] [--out FILE.md]

Run it on an idle machine: on a shared 2-core machine timings can be off by an order of magnitude.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import time
from pathlib import Path

import torch

from continual import runner, specs
from continual.evaluation.cost import flops_per_sample
from continual.evaluation.evaluator import Evaluator
from continual.report.aggregate import format_estimate
from continual.scenarios.sources import digits
from continual.scenarios.split import class_incremental
from continual.statistics import estimate
from continual.strategy import Strategy

PRESETS = {"backprop": "finetune", "ff": "ff", "pc": "pc", "hebbian": "hebbian"}
# The control every Hebbian number needs: the same feature layer left untrained.
CONTROLS = {"hebbian, untrained control": ("hebbian", {"train_features": False})}


def iid(preset: str, seed: int, overrides: dict | None = None) -> dict[str, float]:
    spec = specs.load_strategy(preset)
    if overrides:
        learner = dataclasses.replace(spec.learner, values={**spec.learner.values, **overrides})
        spec = dataclasses.replace(spec, learner=learner)
    stream = class_incremental(digits(), seed=0, experiences=1)
    torch.manual_seed(seed)
    learner = runner.build_learner(spec, stream)
    experience = stream[0]
    cost = flops_per_sample(learner, *experience.batch(torch.arange(spec.training.batch_size)))
    strategy = Strategy(
        learner, epochs=spec.training.epochs, batch_size=spec.training.batch_size, seed=seed
    )
    start = time.perf_counter()
    strategy.train_experience(experience)
    seconds = time.perf_counter() - start
    return {
        "accuracy": Evaluator(stream)(learner)[0],
        "epoch_s": seconds / spec.training.epochs,
        "epochs": spec.training.epochs,
        **cost,
    }


def mean_std(values: list[float], scale: float = 1.0) -> str:
    return format_estimate(estimate(values), scale, spread="std")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/learners.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seeds = list(range(args.seeds))

    rows = {name: [iid(preset, s) for s in seeds] for name, preset in PRESETS.items()}
    for name, (preset, overrides) in CONTROLS.items():
        rows[name] = [iid(preset, s, overrides) for s in seeds]
    base = rows["backprop"]
    base_epoch = statistics.fmean(r["epoch_s"] for r in base)
    base_flops = base[0]["flops_per_train_sample"]
    lines = [
        "# Learner benchmark",
        "",
        f"Command: `python scripts/benchmark_learners.py --seeds {args.seeds} "
        f"--threads {args.threads}`  ",
        f"Machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{args.threads} threads, CPU. Seeds {seeds}.",
        "",
        "## i.i.d. digits (one experience, each learner's preset hyperparameters)",
        "",
        "| learner | epochs | test accuracy % | s / epoch | × backprop | FLOPs / train sample "
        "| × backprop | FLOPs / test sample |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, results in rows.items():
        epoch = statistics.fmean(r["epoch_s"] for r in results)
        flops = results[0]["flops_per_train_sample"]
        lines.append(
            f"| {name} | {results[0]['epochs']} | "
            f"{mean_std([r['accuracy'] for r in results], 100)} | {epoch:.3f} | "
            f"{epoch / base_epoch:.1f} | {flops:,.0f} | {flops / base_flops:.1f} | "
            f"{results[0]['flops_per_test_sample']:,.0f} |"
        )

    scenario = specs.load_scenario("split-digits")
    lines += [
        "",
        "## split-digits, class-incremental (5 experiences of 2 classes)",
        "",
        "| learner | final avg acc % | forgetting % (Chaudhry) | BWT % | learning acc % |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, preset in PRESETS.items():
        results = [runner.run(scenario, specs.load_strategy(preset), s) for s in seeds]
        cells = [
            mean_std([r["metrics"][k] for r in results], 100)
            for k in ("average_accuracy", "forgetting", "backward_transfer", "learning_accuracy")
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "FLOPs are counted by `torch.utils.flop_counter.FlopCounterMode` on one training step of "
        "a batch (matrix products only; elementwise work is not counted). Forward-Forward's test "
        "cost is one pass per candidate label; predictive coding's training cost includes its "
        "inference steps.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
