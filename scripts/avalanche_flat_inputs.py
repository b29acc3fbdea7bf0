"""Spiking sleep in an Avalanche Naive pipeline on flat (784,) against 28×28 inputs: with flat
inputs and no image shape, sleep shows them through a random pixel mask instead of SRC's square
patch; ``SpikingSleepPlugin(image_shape=(28, 28))`` restores the patch.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python scripts/avalanche_flat_inputs.py \
        --dataset /work/shared/data/mnist-dev.npz --seeds 0 1 2

Split-MNIST (5 × 2 classes, class-incremental) from the npz, MLP 784-400-400-10 without biases,
SGD lr 0.1, batch 32, ``--epochs`` per experience, sleep with the plugin's defaults; prints each
seed's final average accuracy per condition and the paired sleep gain over Naive (mean, 95 % t
interval).
"""

from __future__ import annotations

import argparse
import dataclasses
import warnings

import numpy as np
import torch
from scipy import stats
from torch import nn


def model() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 400, bias=False),
        nn.ReLU(),
        nn.Linear(400, 400, bias=False),
        nn.ReLU(),
        nn.Linear(400, 10, bias=False),
    )


def final_accuracy(net: nn.Module, stream) -> float:
    from continual.scenarios.experience import as_float

    with torch.inference_mode():
        return float(
            np.mean(
                [(net(as_float(e.x_test)).argmax(1) == e.y_test).float().mean() for e in stream]
            )
        )


def run(stream, benchmark, seed: int, epochs: int, sleep_options: dict | None) -> float:
    from avalanche.training import Naive
    from avalanche.training.plugins import EvaluationPlugin

    from continual.avalanche import SpikingSleepPlugin

    torch.manual_seed(seed)
    net = model()
    plugins = [] if sleep_options is None else [SpikingSleepPlugin(seed=seed, **sleep_options)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        strategy = Naive(
            model=net,
            optimizer=torch.optim.SGD(net.parameters(), lr=0.1),
            train_mb_size=32,
            train_epochs=epochs,
            plugins=plugins,
            evaluator=EvaluationPlugin(loggers=[]),
        )
        for experience in benchmark.train_stream:
            strategy.train(experience)
    return final_accuracy(net, stream)


def main() -> None:
    from continual.avalanche import to_benchmark
    from continual.runner import build_stream
    from continual.specs import load_scenario, with_overrides

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    scenario = with_overrides(load_scenario("split-mnist"), args.dataset)
    conditions = {
        "Naive, 28×28": ("image", None),
        "+ sleep, 28×28": ("image", {}),
        "+ sleep, flat, image_shape=(28, 28)": ("flat", {"image_shape": (28, 28)}),
        "+ sleep, flat, no shape (pixel mask)": ("flat", {}),
    }
    found: dict[str, list[float]] = {name: [] for name in conditions}
    for seed in args.seeds:
        image = build_stream(scenario, seed)
        image = dataclasses.replace(
            image,
            experiences=tuple(
                dataclasses.replace(
                    e, x_train=e.x_train.reshape(-1, 28, 28), x_test=e.x_test.reshape(-1, 28, 28)
                )
                for e in image
            ),
            input_shape=(28, 28),
        )
        flat = dataclasses.replace(
            image,
            experiences=tuple(
                dataclasses.replace(e, x_train=e.x_train.flatten(1), x_test=e.x_test.flatten(1))
                for e in image
            ),
            input_shape=(784,),
        )
        streams = {"image": image, "flat": flat}
        benchmarks = {kind: to_benchmark(s) for kind, s in streams.items()}
        for name, (kind, options) in conditions.items():
            accuracy = run(streams[kind], benchmarks[kind], seed, args.epochs, options)
            found[name].append(accuracy)
            print(f"seed {seed}: {name}: {100 * accuracy:.1f} %", flush=True)
    naive = np.array(found["Naive, 28×28"])
    print(f"\n{len(args.seeds)} seeds ({args.seeds}), {args.dataset}, {args.epochs} epoch(s)\n")
    print("| condition | final acc % (mean) | per seed | gain over Naive, points [95 % CI] |")
    print("| --- | --- | --- | --- |")
    for name, values in found.items():
        values = np.array(values)
        gain = 100 * (values - naive)
        half = stats.t.ppf(0.975, len(gain) - 1) * gain.std(ddof=1) / np.sqrt(len(gain))
        text = (
            "—"
            if name.startswith("Naive")
            else (f"{gain.mean():+.1f} [{gain.mean() - half:+.1f}, {gain.mean() + half:+.1f}]")
        )
        seeds = ", ".join(f"{100 * v:.1f}" for v in values)
        print(f"| {name} | {100 * values.mean():.1f} | {seeds} | {text} |")


if __name__ == "__main__":
    main()
