"""Can several seeds train in one vectorised run for well under the sum of their times?

    python scripts/bench_stacked_seeds.py [--seeds 5] [--steps 300] [--device cpu|cuda] [--out FILE]

Issue #11's stretch goal: "5 seeds in ≤ 2× the time of one, results identical to separate runs".
This measures the training step it would need, before any of the toolkit is rebuilt around it: one
MLP step (forward, cross-entropy, backward, optimiser) for one seed, for K seeds one after another,
and for K seeds stacked into one set of tensors, two ways:

- ``bmm``: the K weight matrices stacked, every layer one ``baddbmm`` (grouped matmuls);
- ``vmap``: ``torch.func.vmap`` over ``functional_call`` of the same module with the K parameter
  sets stacked (``stack_module_state``), gradients by ``torch.func.grad``.

Each seed gets its own batch (as separate runs shuffle differently). The stacked steps use one
optimiser over the stacked tensors, which is the same arithmetic per element as K optimisers;
every contender steps with the toolkit's own optimiser (``make_optimizer``: foreach SGD, fused
Adam where PyTorch has it). After the timed steps the script compares the stacked weights with
the K separate runs' (largest absolute difference): "identical" needs 0. Sizes: the 8×8 digits
network (64-400-400-10) and the 28×28 one (784-400-400-10), batch 32, SGD (lr 0.01, momentum
0.9) and Adam (lr 1e-3); one torch thread on CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad, stack_module_state, vmap

from continual.learners.base import make_optimizer


def mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))


def optimiser(name: str, params: list[Tensor]) -> torch.optim.Optimizer:
    """The toolkit's own optimiser (foreach SGD; fused Adam where PyTorch has it)."""
    if name == "sgd":
        return make_optimizer("sgd", params, 0.01, momentum=0.9)
    return make_optimizer("adam", params, 1e-3)


class Separate:
    """K ordinary models, one step each (the runs as they are today)."""

    def __init__(self, models: list[nn.Sequential], name: str):
        self.models = models
        self.optimisers = [optimiser(name, list(m.parameters())) for m in models]

    def step(self, x: Tensor, y: Tensor) -> None:
        for k, (model, opt) in enumerate(zip(self.models, self.optimisers)):
            for p in model.parameters():
                p.grad = None
            F.cross_entropy(model(x[k]), y[k]).backward()
            opt.step()

    def weights(self) -> list[Tensor]:
        return [torch.stack(ps) for ps in zip(*(m.parameters() for m in self.models))]


class Grouped:
    """The K models' weights stacked; every layer one ``baddbmm`` over the K seeds."""

    def __init__(self, models: list[nn.Sequential], name: str):
        linears = [[m for m in model if isinstance(m, nn.Linear)] for model in models]
        layers = list(zip(*linears))  # the K seeds' copies of each layer
        self.w = [torch.stack([m.weight.detach() for m in copies]) for copies in layers]
        self.b = [torch.stack([m.bias.detach() for m in copies]) for copies in layers]
        for t in self.w + self.b:
            t.requires_grad_()
        self.optimiser = optimiser(name, self.w + self.b)

    def step(self, x: Tensor, y: Tensor) -> None:
        for t in self.w + self.b:
            t.grad = None
        h = x
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if i + 1 < len(self.w):
                h = F.relu(h)
        k, n, c = h.shape
        losses = F.cross_entropy(h.reshape(k * n, c), y.reshape(-1), reduction="none")
        losses.view(k, n).mean(1).sum().backward()  # the sum: each seed's gradient is its own
        self.optimiser.step()

    def weights(self) -> list[Tensor]:
        return [t for pair in zip(self.w, self.b) for t in pair]


class Vectorised:
    """``vmap`` over ``functional_call`` with the K parameter sets stacked."""

    def __init__(self, models: list[nn.Sequential], name: str):
        params, _ = stack_module_state(models)
        self.names = list(params)
        self.params = [params[n] for n in self.names]
        base = models[0]

        def loss(flat: tuple[Tensor, ...], x: Tensor, y: Tensor) -> Tensor:
            return F.cross_entropy(functional_call(base, dict(zip(self.names, flat)), (x,)), y)

        self.gradient: Callable = vmap(grad(loss))
        self.optimiser = optimiser(name, self.params)

    def step(self, x: Tensor, y: Tensor) -> None:
        with torch.no_grad():
            grads = self.gradient(tuple(p.detach() for p in self.params), x, y)
        for p, g in zip(self.params, grads):
            p.grad = g
        self.optimiser.step()

    def weights(self) -> list[Tensor]:
        return self.params


def measure(sizes: list[int], name: str, seeds: int, steps: int, device: str) -> dict[str, float]:
    def models() -> list[nn.Sequential]:
        out = []
        for seed in range(seeds):
            torch.manual_seed(seed)
            out.append(mlp(sizes).to(device))
        return out

    generator = torch.Generator().manual_seed(0)
    batches = [
        (
            torch.rand(seeds, 32, sizes[0], generator=generator).to(device),
            torch.randint(0, sizes[-1], (seeds, 32), generator=generator).to(device),
        )
        for _ in range(20)
    ]
    one = Separate(models()[:1], name)
    contenders = {
        "1 seed": (one, lambda x, y: (x[:1], y[:1])),
        f"{seeds} seeds, one after another": (Separate(models(), name), None),
        f"{seeds} seeds, grouped matmuls": (Grouped(models(), name), None),
        f"{seeds} seeds, vmap": (Vectorised(models(), name), None),
    }
    seconds = {}
    for runner, cut in contenders.values():
        for x, y in batches[:5]:  # warm-up
            runner.step(*(cut(x, y) if cut else (x, y)))
    reference = None
    for label, (runner, cut) in contenders.items():
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for i in range(steps):
            x, y = batches[i % len(batches)]
            runner.step(*(cut(x, y) if cut else (x, y)))
        if device == "cuda":
            torch.cuda.synchronize()
        seconds[label] = (time.perf_counter() - start) / steps * 1e3
        if label.endswith("one after another"):
            reference = runner.weights()
        elif reference is not None and label != "1 seed":
            pairs = zip(reference, runner.weights())
            seconds[f"{label}: max |Δw|"] = max((a - b).abs().max().item() for a, b in pairs)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for sizes in ([64, 400, 400, 10], [784, 400, 400, 10]):
        for name in ("sgd", "adam"):
            result = measure(sizes, name, args.seeds, args.steps, args.device)
            rows.append((sizes, name, result))
            print(sizes, name, {k: f"{v:.3g}" for k, v in result.items()}, file=sys.stderr)
    labels = [k for k in rows[0][2] if "Δw" not in k]
    header = "| network | optimiser | " + " | ".join(f"{k} (ms/step)" for k in labels)
    header += " | best stacked ÷ 1 seed | stacked max abs Δw vs separate |"
    lines = [header, "| " + " | ".join(["---"] * (len(labels) + 4)) + " |"]
    for sizes, name, result in rows:
        best = min(result[k] for k in labels[2:])
        deltas = ", ".join(f"{v:.1e}" for k, v in result.items() if "Δw" in k)
        cells = " | ".join(f"{result[k]:.2f}" for k in labels)
        network = "-".join(map(str, sizes))
        ratio = best / result["1 seed"]
        lines.append(f"| {network} | {name} | {cells} | {ratio:.2f}× | {deltas} |")
    header_line = (
        f"<!-- {' '.join(sys.argv)} | torch {torch.__version__}, {args.threads} threads, "
        f"{args.device} | {os.popen('uptime').read().strip()} -->"
    )
    text = header_line + "\n" + "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
