"""Speed against a bare PyTorch loop and Avalanche, on the same stream with the same settings.

    python scripts/bench_speed.py [--data enlarged|digits|PATH.npz] [--repeats 3] [--out FILE]
    python scripts/bench_speed.py --scaling [--out FILE]
    python scripts/bench_speed.py --scaling-presets [--out FILE]
    python scripts/bench_speed.py --phases [--repeats 3]
    python scripts/bench_speed.py --setup [--repeats 3]

Default stream: scikit-learn digits enlarged to 28×28 (each 8×8 digit upsampled to 24×24 and
placed at a random offset in a 28×28 frame), 4,000 train / 1,000 test images (test images made
from held-out digits), class-incremental {0,1}…{8,9}; MLP 784-400-400-10, SGD lr 0.01 momentum
0.9, batch 32, 2 epochs per experience; the test set is evaluated before training and after each
experience. Each repeat is a fresh process that runs every contender in turn, interleaved
(imports, building the stream and one warm-up optimiser step excluded: PyTorch imports
``torch._dynamo`` at the first optimiser); medians over repeats are reported. Peak memory is the
growth of the resident set during the run (sampled every 5 ms). ``--scaling`` times every
strategy in one process on permuted streams of 2, 5, 10, 20 experiences, hidden widths and
dataset sizes; ``--scaling-presets`` the local-learner and sleep presets (their own learners and
components, 1 epoch) on the same streams of 2, 5, 10, 20 experiences, with their sleep's share;
``--phases`` reports where each of our runs spends its time (train, evaluation,
each component's hooks) from the result files' own timings; ``--setup`` times each piece of the
default finetune's per-run set-up alone, then whole runs beside the bare loop.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from continual import runner, specs
from continual.scenarios.experience import Stream, as_float

LEARNER = {
    "name": "backprop",
    "hidden": [400, 400],
    "optimizer": "sgd",
    "lr": 0.01,
    "momentum": 0.9,
}
OURS: dict[str, tuple[str, dict[str, Any], list[dict[str, Any]]]] = {
    # name: (preset, training overrides, components)
    "continual finetune (anytime off)": ("finetune", {"eval_every": 10**9}, []),
    "continual finetune (anytime on full test sets)": ("finetune", {"anytime_samples": 0}, []),
    "continual finetune (anytime on 50 per experience)": ("finetune", {"anytime_samples": 50}, []),
    "continual finetune (default anytime: 20 per experience)": ("finetune", {}, []),
    "continual EWC (online, λ 200)": ("ewc", {}, [{"name": "ewc", "strength": 200.0}]),
    "continual SI (c 1)": ("si", {}, [{"name": "si", "strength": 1.0}]),
    "continual LwF (1, T 2)": ("lwf", {}, [{"name": "lwf", "strength": 1.0, "temperature": 2.0}]),
    "continual replay (200, 32 + 32)": (
        "replay",
        {},
        [{"name": "replay", "budget": 200, "policy": "class-balanced", "replay_batch": 32}],
    ),
    "continual ff+consolidation+sleep (preset learner)": ("ff+consolidation+sleep", {}, None),
    "continual pc+consolidation+sleep (preset learner)": ("pc+consolidation+sleep", {}, None),
    "continual ff+replay-sleep (preset learner)": ("ff+replay-sleep", {}, None),
}
DEFAULT_FINETUNE = "continual finetune (default anytime: 20 per experience)"
AVALANCHE = ("Naive", "EWC", "SI", "LwF", "Replay")
BARE = "bare PyTorch loop"


# -- data ----------------------------------------------------------------------------------------


def enlarged_digits(train: int = 4000, test: int = 1000, seed: int = 0) -> dict[str, np.ndarray]:
    """Digits at 28×28: upsampled to 24×24 and shifted at random inside the frame."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0
    labels = torch.tensor(digits.target)
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(labels), generator=generator)
    held_out = order[: len(order) // 5]
    kept = order[len(order) // 5 :]

    def make(pool: torch.Tensor, count: int) -> tuple[np.ndarray, np.ndarray]:
        base = pool[torch.randint(len(pool), (count,), generator=generator)]
        big = F.interpolate(images[base], size=(24, 24), mode="bilinear", align_corners=False)
        frame = torch.zeros(count, 28, 28)
        top, left = torch.randint(0, 5, (2, count), generator=generator)
        rows = top[:, None] + torch.arange(24)[None]
        cols = left[:, None] + torch.arange(24)[None]
        frame[torch.arange(count)[:, None, None], rows[:, :, None], cols[:, None, :]] = big[:, 0]
        return frame.clamp(0, 1).numpy(), labels[base].numpy()

    x_train, y_train = make(kept, train)
    x_test, y_test = make(held_out, test)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def scenario(data: str, generator: dict[str, Any] | None = None) -> specs.ScenarioSpec:
    if data == "digits":
        dataset = {"name": "digits"}
    else:
        dataset = {"name": "npz", "path": data}
    generator = generator or {
        "name": "class-incremental",
        "class_groups": [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]],
    }
    section = lambda values, header: specs.Section(values, "bench", "", header)  # noqa: E731
    return specs.ScenarioSpec(
        "bench", "", section(dataset, "dataset"), section(generator, "generator"), 0
    )


def strategy(name: str, learner: dict[str, Any], epochs: int) -> specs.StrategySpec:
    preset, training, components = OURS[name]
    spec = specs.load_strategy(preset)
    values = spec.learner.values if components is None else learner
    sections = spec.components
    if components is not None:
        sections = tuple(
            specs.Section(c, "bench", "", "components", i) for i, c in enumerate(components)
        )
    return dataclasses.replace(
        spec,
        name=name,
        learner=dataclasses.replace(spec.learner, values=values),
        training=dataclasses.replace(spec.training, epochs=epochs, batch_size=32, **training),
        components=sections,
    )


# -- the runs ------------------------------------------------------------------------------------


def mlp(stream: Stream, hidden: list[int]) -> nn.Sequential:
    sizes = [stream.input_dim, *hidden]
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(nn.Flatten(), *layers, nn.Linear(sizes[-1], stream.num_classes))


def bare_loop(stream: Stream, hidden: list[int], epochs: int, seed: int) -> float:
    """The floor: tensors in memory, index batches, no framework."""
    torch.manual_seed(seed)
    model = mlp(stream, hidden)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x_test = torch.cat([as_float(e.x_test) for e in stream])
    y_test = torch.cat([e.y_test for e in stream])

    def evaluate() -> float:
        with torch.inference_mode():
            return float((model(x_test).argmax(1) == y_test).float().mean())

    accuracy = evaluate()
    generator = torch.Generator().manual_seed(seed)
    for experience in stream:
        x, y = as_float(experience.x_train), experience.y_train
        for _ in range(epochs):
            for index in torch.randperm(len(y), generator=generator).split(32):
                optimizer.zero_grad()
                F.cross_entropy(model(x[index]), y[index]).backward()
                optimizer.step()
        accuracy = evaluate()
    return accuracy


def ours(
    name: str, stream: Stream, spec: specs.ScenarioSpec, learner: dict, epochs: int, seed: int
) -> float:
    cache = {runner.stream_key(spec, seed, None): stream}  # data in memory, as for the others
    result = runner.run(spec, strategy(name, learner, epochs), seed, cache=cache)
    sizes = torch.tensor([len(e.y_test) for e in stream], dtype=torch.float64)
    return float((torch.tensor(result["accuracy_matrix"][-1]) * sizes).sum() / sizes.sum())


def avalanche_run(name: str, stream: Stream, hidden: list[int], epochs: int, seed: int) -> float:
    from avalanche.benchmarks.scenarios.dataset_scenario import benchmark_from_datasets
    from avalanche.benchmarks.utils import _make_taskaware_tensor_classification_dataset as data
    from avalanche.evaluation.metrics import accuracy_metrics
    from avalanche.training.plugins import EvaluationPlugin
    from avalanche.training.supervised import strategy_wrappers as supervised

    def sets(split: str) -> list:
        return [
            data(as_float(getattr(e, f"x_{split}")), y, targets=y, task_labels=0)
            for e in stream
            for y in [getattr(e, f"y_{split}")]
        ]

    benchmark = benchmark_from_datasets(train=sets("train"), test=sets("test"))
    torch.manual_seed(seed)
    model = mlp(stream, hidden)
    extra = {
        "Naive": {},
        "EWC": {"ewc_lambda": 100.0, "mode": "separate"},
        "SI": {"si_lambda": 0.5},
        "LwF": {"alpha": 1.0, "temperature": 2.0},
        "Replay": {"mem_size": 200},
    }[name]
    trainer = getattr(supervised, {"SI": "SynapticIntelligence"}.get(name, name))(
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
        criterion=nn.CrossEntropyLoss(),
        train_mb_size=32,
        train_epochs=epochs,
        eval_mb_size=4096,
        evaluator=EvaluationPlugin(accuracy_metrics(stream=True), loggers=[]),
        **extra,
    )
    key = "Top1_Acc_Stream/eval_phase/test_stream"
    accuracy = trainer.eval(benchmark.test_stream)[key]
    for experience in benchmark.train_stream:
        trainer.train(experience, num_workers=0)
        accuracy = trainer.eval(benchmark.test_stream)[key]
    return float(accuracy)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakMemory:
    """The largest resident set seen while the block runs, sampled every ``interval`` s."""

    def __init__(self, interval: float = 0.005):
        self.interval, self.peak, self.done = interval, 0.0, threading.Event()

    def __enter__(self) -> PeakMemory:
        self.start = self.peak = rss_mb()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while not self.done.wait(self.interval):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, rss_mb())

    @property
    def growth(self) -> float:
        return self.peak - self.start


def timed(name: str, data: str, seed: int, hidden: list[int], epochs: int) -> dict[str, Any]:
    """One measured run in this process: seconds, accuracy and peak memory growth."""
    spec = scenario(data)
    stream = runner.build_stream(spec, seed)
    learner = {**LEARNER, "hidden": hidden}
    gc.collect()
    with PeakMemory() as memory:
        start = time.perf_counter()
        if name == BARE:
            accuracy = bare_loop(stream, hidden, epochs, seed)
        elif name.startswith("Avalanche"):
            accuracy = avalanche_run(name.split()[1], stream, hidden, epochs, seed)
        else:
            accuracy = ours(name, stream, spec, learner, epochs, seed)
        seconds = time.perf_counter() - start
    samples = epochs * sum(e.train_size for e in stream)
    return {
        "name": name,
        "seconds": seconds,
        "samples_per_s": samples / seconds,
        "peak_mb": memory.growth,
        "accuracy": accuracy,
    }


def worker(order: list[str], data: str, seed: int, epochs: int) -> None:
    """Every run of ``order`` in this process, one JSON line each (imports done first)."""
    if any(name.startswith("Avalanche") for name in order):
        import avalanche.training  # noqa: F401  (an import, not part of a run)
    warm = nn.Linear(1, 1)  # PyTorch imports torch._dynamo at the first optimiser: not timed
    torch.optim.SGD(warm.parameters(), lr=0.1).step()
    for name in order:
        print(json.dumps(timed(name, data, seed, [400, 400], epochs)), flush=True)


# -- the comparison ------------------------------------------------------------------------------


def names(with_avalanche: bool) -> list[str]:
    result = [BARE, *OURS]
    if with_avalanche:
        result += [f"Avalanche {n}" for n in AVALANCHE]
    return result


def compare(data: str, repeats: int, with_avalanche: bool, threads: int) -> list[dict[str, Any]]:
    """Every run ``repeats`` times: one fresh process per repeat runs them all, interleaved,
    starting one further along the list each repeat."""
    measured: dict[str, list[dict[str, Any]]] = {}
    everything = names(with_avalanche)
    for repeat in range(repeats):
        shift = repeat % len(everything)
        order = everything[shift:] + everything[:shift]
        command = [sys.executable, __file__, "--worker", json.dumps(order), "--data", data]
        command += ["--seed", str(repeat), "--threads", str(threads)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"repeat {repeat} failed:\n{done.stderr[-3000:]}")
        for line in done.stdout.strip().splitlines():
            row = json.loads(line)
            measured.setdefault(row["name"], []).append(row)
            print(f"[{repeat}] {row['name']}: {row['seconds']:.2f} s", file=sys.stderr)
    floor = statistics.median(r["seconds"] for r in measured[BARE])
    table = []
    for name, rows in measured.items():
        seconds = statistics.median(r["seconds"] for r in rows)
        table.append(
            {
                "name": name,
                "seconds": seconds,
                "ratio": seconds / floor,
                "samples_per_s": statistics.median(r["samples_per_s"] for r in rows),
                "peak_mb": statistics.median(r["peak_mb"] for r in rows),
                "accuracy": statistics.median(r["accuracy"] for r in rows),
            }
        )
    return table


def markdown(table: list[dict[str, Any]]) -> str:
    lines = [
        "| run | median s | × bare loop | samples/s | peak MB | final acc |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in table:
        lines.append(
            f"| {r['name']} | {r['seconds']:.2f} | {r['ratio']:.2f} | {r['samples_per_s']:.0f} "
            f"| {r['peak_mb']:.0f} | {r['accuracy']:.3f} |"
        )
    return "\n".join(lines)


# -- scaling -------------------------------------------------------------------------------------


SCALING = [
    BARE,
    DEFAULT_FINETUNE,
    "continual EWC (online, λ 200)",
    "continual SI (c 1)",
    "continual LwF (1, T 2)",
    "continual replay (200, 32 + 32)",
]  # the sleep preset is left out: its sleep alone grows quadratically (steps_increment)


def scaling_row(data: str, experiences: int, hidden: list[int], per_experience: int) -> list[float]:
    generator = {
        "name": "permuted",
        "experiences": experiences,
        "samples_per_experience": per_experience,
    }
    spec = scenario(data, generator)
    stream = runner.build_stream(spec, 0)
    learner = {**LEARNER, "hidden": hidden}
    seconds = []
    for name in SCALING:
        start = time.perf_counter()
        if name == BARE:
            bare_loop(stream, hidden, 1, 0)
        else:
            ours(name, stream, spec, learner, 1, 0)
        seconds.append(time.perf_counter() - start)
    return seconds


def scaling(data: str) -> str:
    torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1).step()  # the dynamo import, untimed
    grid = [(t, [400, 400], 300) for t in (2, 5, 10, 20)]
    grid += [(5, [h, h], 300) for h in (100, 1000)]
    grid += [(5, [400, 400], 1200)]
    header = "| experiences | hidden | train/exp | " + " | ".join(SCALING) + " |"
    lines = [header, "| " + " | ".join(["---"] * (3 + len(SCALING))) + " |"]
    for experiences, hidden, per_experience in grid:
        seconds = scaling_row(data, experiences, hidden, per_experience)
        cells = " | ".join(f"{s:.2f}" for s in seconds)
        lines.append(f"| {experiences} | {hidden[0]} | {per_experience} | {cells} |")
        print(lines[-1], file=sys.stderr)
    return "\n".join(lines)


PRESETS = [
    "backprop+sleep",
    "hebbian+consolidation+sleep",
    "ff+consolidation+sleep",
    "pc+consolidation+sleep",
    "ff+replay-sleep",
]  # each with its own learner and components, 1 epoch per experience


def preset_row(data: str, experiences: int) -> list[tuple[float, float]]:
    """(whole run s, its sleep phases s) for every preset on a permuted stream of
    ``experiences`` experiences of 300 samples."""
    generator = {"name": "permuted", "experiences": experiences, "samples_per_experience": 300}
    spec = scenario(data, generator)
    stream = runner.build_stream(spec, 0)
    cells = []
    for name in PRESETS:
        preset = specs.load_strategy(name)
        one_epoch = dataclasses.replace(
            preset, training=dataclasses.replace(preset.training, epochs=1)
        )
        cache = {runner.stream_key(spec, 0, None): stream}
        start = time.perf_counter()
        timings = runner.run(spec, one_epoch, 0, cache=cache)["timings"]
        sleep = timings.get("sleep", 0.0) + timings.get("replay-sleep", 0.0)
        cells.append((time.perf_counter() - start, sleep))
    return cells


def scaling_presets(data: str) -> str:
    """The local-learner and sleep presets against the number of experiences."""
    torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1).step()  # the dynamo import, untimed
    header = "| experiences | " + " | ".join(f"{n} s (sleep s)" for n in PRESETS) + " |"
    lines = [header, "| " + " | ".join(["---"] * (1 + len(PRESETS))) + " |"]
    for experiences in (2, 5, 10, 20):
        cells = preset_row(data, experiences)
        text = " | ".join(f"{total:.2f} ({sleep:.2f})" for total, sleep in cells)
        lines.append(f"| {experiences} | {text} |")
        print(lines[-1], file=sys.stderr)
    return "\n".join(lines)


# -- phases --------------------------------------------------------------------------------------


def phases(data: str, repeats: int) -> str:
    """Where each of our runs spends its time (the result's own timings), medians over seeds."""
    torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1).step()  # the dynamo import, untimed
    spec = scenario(data)
    measured: dict[str, list[dict[str, float]]] = {name: [] for name in OURS}
    for seed in range(repeats):
        stream = runner.build_stream(spec, seed)
        for name in OURS:
            cache = {runner.stream_key(spec, seed, None): stream}
            result = runner.run(spec, strategy(name, LEARNER, 2), seed, cache=cache)
            measured[name].append(result["timings"])
    lines = [
        "| run | total s | × finetune | train s | eval s (share) | components s |",
        "| --- " * 6 + "|",
    ]
    reference = statistics.median(r["total"] for r in measured[DEFAULT_FINETUNE])
    for name, rows in measured.items():
        median = {k: statistics.median(r.get(k, 0.0) for r in rows) for k in rows[0]}
        parts = ", ".join(
            f"{k} {v:.2f}" for k, v in median.items() if k not in ("train", "eval", "total")
        )
        lines.append(
            f"| {name} | {median['total']:.2f} | {median['total'] / reference:.2f} "
            f"| {median['train']:.2f} | {median['eval']:.2f} "
            f"({median['eval'] / median['total']:.0%}) | {parts or '-'} |"
        )
    return "\n".join(lines)


def setup(data: str, repeats: int) -> str:
    """The default finetune's per-run set-up: each piece timed alone (medians of ``repeats`` x 10
    calls), then whole runs next to the bare loop (the cache holding only the stream, as in the
    comparison), split into train, evaluation, cost accounting and the rest (set-up)."""
    from continual.evaluation import cost
    from continual.evaluation.evaluator import Evaluator

    torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1).step()  # the dynamo import, untimed
    spec, ours_spec = scenario(data), strategy(DEFAULT_FINETUNE, LEARNER, 2)
    stream = runner.build_stream(spec, 0)
    built = runner.build_strategy(ours_spec, stream, 0)
    evaluator, last = Evaluator(stream), list(stream)[-1]
    pieces: dict[str, Any] = {
        "describe the scenario (hashes the data file) + run id": lambda: runner.run_id(
            {"scenario": specs.scenario_to_dict(spec), "strategy": ours_spec.to_dict()}, 0
        ),
        "build the strategy (learner, optimiser)": lambda: runner.build_strategy(
            ours_spec, stream, 0
        ),
        "build the evaluator": lambda: Evaluator(stream),
        "reference: build an untrained learner": lambda: runner.build_learner(ours_spec, stream),
        "reference: evaluate it (one matrix row)": lambda: evaluator(built.learner),
        "anytime subset (stratified)": lambda: evaluator.stratified(
            ours_spec.training.anytime_samples, 0
        ),
        "FLOPs per sample of the learner (copy, count)": lambda: cost.learner_flops(
            built.learner, last
        ),
        "FLOPs of one strategy step (copy, count)": lambda: cost.strategy_step(
            built.learner, built.components, last
        ),
    }
    lines = ["| set-up piece | median ms |", "| --- | --- |"]
    for name, piece in pieces.items():
        piece()
        times = []
        for _ in range(10 * repeats):
            start = time.perf_counter()
            piece()
            times.append(time.perf_counter() - start)
        lines.append(f"| {name} | {1000 * statistics.median(times):.1f} |")
    rows = []
    for _ in range(repeats):
        for seed in range(3):
            seed_stream = runner.build_stream(spec, seed)
            cache = {runner.stream_key(spec, seed, None): seed_stream}
            start = time.perf_counter()
            timings = runner.run(spec, ours_spec, seed, cache=cache)["timings"]
            wall = time.perf_counter() - start
            start = time.perf_counter()
            bare_loop(seed_stream, LEARNER["hidden"], 2, seed)
            bare = time.perf_counter() - start
            spent = timings["train"] + timings["eval"] + timings["cost_accounting"]
            rows.append([bare, wall, wall / bare, timings["train"], timings["eval"],
                         timings["cost_accounting"], wall - spent])  # fmt: skip
    median = [statistics.median(row[i] for row in rows) for i in range(7)]
    lines += [
        "",
        "| bare loop s | finetune s | ratio | train s | eval s | cost accounting s | rest s |",
        "| --- " * 7 + "|",
        "| " + " | ".join(f"{v:.3f}" for v in median) + " |",
    ]
    return "\n".join(lines)


# -- command line --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="enlarged", help="enlarged, digits or a .npz path")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-avalanche", action="store_true")
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument(
        "--scaling-presets", action="store_true", help="the local-learner and sleep presets"
    )
    parser.add_argument("--phases", action="store_true", help="our runs' time per phase")
    parser.add_argument("--setup", action="store_true", help="finetune's per-run set-up")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads per run (1: fair on a shared machine)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.worker:
        worker(json.loads(args.worker), args.data, args.seed, args.epochs)
        return
    with tempfile.TemporaryDirectory() as folder:
        data = args.data
        if data == "enlarged":
            data = str(Path(folder) / "enlarged-digits.npz")
            np.savez(data, **enlarged_digits())
        if args.scaling:
            text = scaling(data)
        elif args.scaling_presets:
            text = scaling_presets(data)
        elif args.phases:
            text = phases(data, args.repeats)
        elif args.setup:
            text = setup(data, args.repeats)
        else:
            try:
                import avalanche  # noqa: F401

                with_avalanche = not args.no_avalanche
            except ImportError:
                with_avalanche = False
            text = markdown(compare(data, args.repeats, with_avalanche, args.threads))
    header = (
        f"<!-- {' '.join(sys.argv)} | torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads | {os.popen('uptime').read().strip()} -->"
    )
    output = f"{header}\n{text}\n"
    if args.out:
        args.out.write_text(output, encoding="utf-8")
    print(output)


if __name__ == "__main__":
    main()
