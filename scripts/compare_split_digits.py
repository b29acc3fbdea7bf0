"""The split-digits comparison table: every strategy preset, class-incremental (and the
regularisation baselines task-incremental too), mean ± std over seeds, into Markdown.

    python scripts/compare_split_digits.py [--seeds 5] [--out docs/benchmarks/split-digits.md]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch

from continual import runner, specs
from continual.report.aggregate import format_estimate
from continual.statistics import estimate

CLASS_IL = [
    "finetune",
    "finetune (batch-masked loss)",
    "joint",
    "replay",
    "ewc",
    "si",
    "lwf",
    "backprop+sleep",
    "ff",
    "ff (batch negatives)",
    "ff+consolidation",
    "ff+consolidation+sleep",
    "ff+replay-sleep",
    "pc",
    "pc (batch clamp)",
    "pc+consolidation+sleep",
    "hebbian",
    "hebbian (batch competition)",
    "hebbian+consolidation+sleep",
]
TASK_IL = ["finetune", "ewc", "si", "joint"]
STORES_SAMPLES = {"replay", "joint"}


# Each learner's batch-local option alone, without components, so that the components' own
# share of a combination's gain is visible.
OPTIONS_ALONE = {
    "finetune (batch-masked loss)": ("finetune", {"loss_classes": "batch"}),
    "hebbian (batch competition)": ("hebbian", {"readout_competition": "batch"}),
    "ff (batch negatives)": ("ff", {"negatives": "batch"}),
    "pc (batch clamp)": ("pc", {"output_clamp": "batch"}),
}


def strategy(name: str) -> specs.StrategySpec:
    if name in OPTIONS_ALONE:
        preset, options = OPTIONS_ALONE[name]
        spec = specs.load_strategy(preset)
        values = {**spec.learner.values, **options}
        learner = dataclasses.replace(spec.learner, values=values)
        return dataclasses.replace(spec, name=name, learner=learner)
    return specs.load_strategy(name)


def cell(values: list[float | None]) -> str:
    return format_estimate(estimate(values), spread="std")


def rows(scenario_name: str, names: list[str], seeds: list[int]) -> list[str]:
    scenario = specs.load_scenario(scenario_name)
    lines = [
        "| strategy | stores samples | final avg acc % | forgetting % | BWT % | s / run |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in names:
        spec = strategy(name)
        start = time.perf_counter()
        results = [runner.run(scenario, spec, seed) for seed in seeds]
        seconds = (time.perf_counter() - start) / len(seeds)
        metrics = [r["metrics"] for r in results]
        lines.append(
            f"| {name} | {'yes' if name in STORES_SAMPLES else 'no'} | "
            f"{cell([m['average_accuracy'] for m in metrics])} | "
            f"{cell([m['forgetting'] for m in metrics])} | "
            f"{cell([m['backward_transfer'] for m in metrics])} | {seconds:.1f} |"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/split-digits.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seeds = list(range(args.seeds))
    lines = [
        "# split-digits: every strategy preset",
        "",
        f"Command: `python scripts/compare_split_digits.py --seeds {args.seeds}` "
        f"(seeds {seeds}, torch {torch.__version__}, {args.threads} CPU threads). The class "
        "order changes with the seed; the test set is fixed. Metrics are defined in "
        "[concepts](../concepts.md): forgetting after Chaudhry et al. 2018, BWT after "
        "Lopez-Paz & Ranzato 2017.",
        "",
        "## Class-incremental (`split-digits`)",
        "",
        *rows("split-digits", CLASS_IL, seeds),
        "",
        "## Task-incremental (`split-digits-task`)",
        "",
        *rows("split-digits-task", TASK_IL, seeds),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
