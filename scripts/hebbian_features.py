"""Does the Hebbian feature layer learn? i.i.d. accuracy of the learned layer against the same
layer left untrained (same seed, same readout), paired over seeds, and the layer's diagnostics:
median weight norm, fraction of neurons that moved (cos(w0, w) < 0.9), fraction that win at
least one training sample.

    python scripts/hebbian_features.py --dataset /work/shared/data/mnist-dev.npz --seeds 5 \
        --hidden 300 --epochs 5 [--option rule=krotov --option hebbian_lr=0.04 ...]

Without --dataset it runs on scikit-learn digits.
"""

from __future__ import annotations

import argparse
import ast
import statistics

import torch
import torch.nn.functional as F

from continual.evaluation.evaluator import Evaluator
from continual.learners.hebbian import Hebbian
from continual.scenarios.files import npz
from continual.scenarios.sources import digits
from continual.scenarios.split import class_incremental
from continual.strategy import Strategy

T_95 = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776, 6: 2.571, 7: 2.447, 8: 2.365, 9: 2.306, 10: 2.262}


def diagnostics(learner: Hebbian, initial: torch.Tensor, x: torch.Tensor) -> dict[str, float]:
    """Of the first feature layer: median ‖w‖, fraction with cos(w0, w) < 0.9, fraction that
    win (largest u) at least one of the samples ``x``, and the mean softmax mass of the losers
    (1 − the winner's y: how soft the competition is; SoftHebb's temperature)."""
    weight = learner.layers[0].weight.detach()
    with torch.inference_mode():
        inputs = learner.layer_inputs(x)[0]
        u = inputs @ weight.T
        winners = u.argmax(1)
        loser_mass = 1 - torch.softmax(u / learner.temperature, dim=1).amax(1).mean()
    return {
        "median_norm": float(weight.norm(dim=1).median()),
        "moved": float((F.cosine_similarity(initial, weight, dim=1) < 0.9).float().mean()),
        "win": len(winners.unique()) / weight.shape[0],
        "loser_mass": float(loser_mass),
    }


def one_run(data, seed: int, train: bool, hidden: int, epochs: int, options: dict) -> dict:
    stream = class_incremental(data, seed=seed, experiences=1)
    torch.manual_seed(seed)
    learner = Hebbian(
        stream[0].x_train[0].numel(),
        data.num_classes,
        hidden=(hidden,),
        train_features=train,
        **options,
    )
    initial = learner.layers[0].weight.detach().clone()
    Strategy(learner, epochs=epochs, batch_size=32, seed=seed).train_experience(stream[0])
    accuracy = Evaluator(stream)(learner)[0]
    return {"accuracy": accuracy, **diagnostics(learner, initial, stream[0].x_train)}


def parse_option(text: str) -> tuple[str, object]:
    """``name=value`` with a Python literal value (``center=False``, ``hidden=(300,)``), or a
    bare string (``rule=krotov``)."""
    name, _, value = text.partition("=")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def mean_ci(values: list[float]) -> str:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{100 * mean:.1f}"
    half = T_95.get(len(values), 1.96) * statistics.stdev(values) / len(values) ** 0.5
    return (
        f"{100 * mean:+.1f} ± {100 * half:.1f}"
        if mean < 0
        else f"{100 * mean:.1f} ± {100 * half:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", help=".npz file (default: scikit-learn digits)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    options = dict(parse_option(o) for o in args.option)
    data = npz(path=args.dataset) if args.dataset else digits()
    rows = {True: [], False: []}
    for seed in range(args.seeds):
        for train in (True, False):
            rows[train].append(one_run(data, seed, train, args.hidden, args.epochs, options))
        shown = ", ".join(f"{k} {v:.3f}" for k, v in rows[True][-1].items())
        print(
            f"seed {seed}: learned {shown}; untrained {rows[False][-1]['accuracy']:.3f}", flush=True
        )
    gains = [a["accuracy"] - b["accuracy"] for a, b in zip(rows[True], rows[False])]
    print(
        f"\n{data.name}, {args.hidden} units, {args.epochs} epochs, options {options}, "
        f"n = {args.seeds} seeds (mean ± 95 % CI, t)"
    )
    print(f"learned    {mean_ci([r['accuracy'] for r in rows[True]])} %")
    print(f"untrained  {mean_ci([r['accuracy'] for r in rows[False]])} %")
    print(
        f"gain       {mean_ci(gains)} points (paired), {sum(g > 0 for g in gains)}/{len(gains)} > 0"
    )
    for key in ("median_norm", "moved", "win", "loser_mass"):
        learned = [r[key] for r in rows[True]]
        print(
            f"{key:10s} learned {statistics.fmean(learned):.3f} "
            f"(untrained {statistics.fmean(r[key] for r in rows[False]):.3f})"
        )


if __name__ == "__main__":
    main()
