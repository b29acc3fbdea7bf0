"""The ablation ladders of the no-sample strategies on split-digits, into Markdown: each runs
``continual ablate STRATEGY --seeds N`` and the ladder summaries become the tables of
``docs/benchmarks/ablations.md``.

    python scripts/ablation_ladders.py [--seeds 10] [--out results/ablations]
        [--doc docs/benchmarks/ablations.md] [--strategy NAME ...] [--render-only]

``--render-only`` rebuilds the Markdown from the summaries already in ``--out`` (nothing trains).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import torch

from continual import ablation
from continual.cli import main as continual
from continual.report.ladder import ladder_markdown

STRATEGIES = (
    "hebbian+consolidation+sleep",
    "ff+consolidation+sleep",
    "pc+consolidation+sleep",
    "backprop+sleep",
)
SCENARIO = "split-digits"


def run(strategy: str, seeds: int, out: Path) -> float:
    """Train one ladder with the command line itself; return its wall time in seconds."""
    started = time.perf_counter()
    args = ["ablate", strategy, "--scenario", SCENARIO, "--seeds", str(seeds), "--out", str(out)]
    code = continual([*args, "--quiet"])
    if code != 0:
        raise SystemExit(f"continual {' '.join(args)} failed with exit status {code}")
    return time.perf_counter() - started


def section(strategy: str, out: Path, seconds: float | None) -> str:
    path = ablation.summary_path(out, SCENARIO, strategy)
    if not path.is_file():
        return f"## {strategy}\n\nNot run yet: `continual ablate {strategy} --seeds N`.\n"
    summary = json.loads(path.read_text(encoding="utf-8"))
    n = len(summary["seeds"])
    took = f", {seconds / 60:.0f} min" if seconds else ""
    command = f"continual ablate {strategy} --scenario {SCENARIO} --seeds {n} --out {out}"
    return (
        f"## {strategy}\n\n`{command}` ({n} seeds{took})\n\n"
        + ladder_markdown(summary)
        + "\n"
        + distinguishable(summary)
        + "\n"
    )


def distinguishable(summary: dict) -> str:
    """One sentence per comparison of final accuracy: distinguishable from zero or not."""
    lines = []
    for c in summary["comparisons"]:
        d = c["difference"].get("average_accuracy")
        if d is None or d.get("low") is None:
            continue
        verdict = "distinguishable from zero" if d["distinguishable"] else "**not** distinguishable"
        lines.append(
            f"- `{c['rung']}` vs `{c['baseline']}`: {d['mean'] * 100:+.1f} points "
            f"[{d['low'] * 100:+.1f}, {d['high'] * 100:+.1f}], {verdict}."
        )
    return "\n".join(lines) + "\n"


HEADER = """# Ablation ladders on split-digits

Each no-sample strategy expanded into its rungs (see [../ablations.md](../ablations.md)) and run
on the same seeds: the learner alone, + its batch-local option (the labels trick), + each
component alone on top of it, the full strategy, and for the Hebbian learner the untrained-feature
control. **Δ** = rung − baseline on each seed, mean and 95 % paired-t confidence interval in
percentage points (`vs` names the baseline rung); **\\*** marks an interval that excludes zero.
Forgetting after Chaudhry et al. 2018 (lower is better). The Wilcoxon signed-rank p-value of
Δ acc is a check that does not assume normal differences. Every metric of every comparison is in
the ladder summary JSON next to the run files.

Rebuild: `python scripts/ablation_ladders.py --seeds 10` (trains), or `--render-only`.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("results/ablations"))
    parser.add_argument("--doc", type=Path, default=Path("docs/benchmarks/ablations.md"))
    parser.add_argument("--strategy", action="append", help="only these (default: all four)")
    parser.add_argument("--render-only", action="store_true", help="no training")
    args = parser.parse_args(argv)
    seconds: dict[str, float] = {}
    for strategy in args.strategy or STRATEGIES:
        if not args.render_only:
            seconds[strategy] = run(strategy, args.seeds, args.out)
            print(f"{strategy}: {seconds[strategy] / 60:.1f} min", file=sys.stderr)
    machine = (
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {datetime.date.today().isoformat()}"
    )
    body = [section(s, args.out, seconds.get(s)) for s in STRATEGIES]
    args.doc.write_text(HEADER + f"\nMachine: {machine}.\n\n" + "\n".join(body), encoding="utf-8")
    print(f"wrote {args.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
