"""The ablation ladders of the no-sample strategies on split-digits, into Markdown: each runs
``continual ablate STRATEGY --seeds N`` and the ladder summaries become the tables of
``docs/benchmarks/ablations.md``.

    python scripts/ablation_ladders.py [--seeds 10] [--out results/ablations]
        [--doc docs/benchmarks/ablations.md] [--strategy NAME ...] [--render-only]

``--render-only`` rebuilds the Markdown from the summaries already in ``--out`` (nothing trains).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from continual import ablation
from continual.cli import main as continual
from continual.report import markdown, tables
from continual.results import result_path
from continual.statistics import format_p

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


def section(strategy: str, out: Path) -> str:
    path = ablation.summary_path(out, SCENARIO, strategy)
    if not path.is_file():
        return (
            f"## {strategy}\n\nNot run yet: "
            f"`python scripts/ablation_ladders.py --strategy {strategy} --seeds 10`.\n"
        )
    summary = json.loads(path.read_text(encoding="utf-8"))
    n = len(summary["seeds"])
    took = machine(out, summary)
    command = f"continual ablate {strategy} --scenario {SCENARIO} --seeds {n} --out {out}"
    return (
        f"## {strategy}\n\n`{command}` ({n} seeds{took})\n\n"
        + markdown.grid(tables.ablation_ladder(summary))
        + "\n"
        + distinguishable(summary)
        + "\n"
    )


def machine(out: Path, summary: dict) -> str:
    """Where and how long the ladder ran, from its run files (sum of the runs' wall times)."""
    names = [  # any run id: the file name ends in the run's config hash
        result_path(out, SCENARIO, rung["strategy"]["name"], seed, "").name[: -len(".json")]
        for rung in summary["rungs"]
        for seed in summary["seeds"]
    ]
    paths = [p for name in names for p in sorted(out.glob(f"{name}*.json"))]
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    if not runs:
        return ""
    env = runs[0]["environment"]
    minutes = sum(r["timings"]["total"] for r in runs) / 60
    return (
        f"; {len(runs)} runs, {minutes:.0f} min in all; torch {env['torch']}, "
        f"{env['threads']} thread(s), {env['platform']}"
    )


def distinguishable(summary: dict) -> str:
    """One sentence per comparison of final accuracy: distinguishable from zero or not (after
    Holm's correction over the ladder), with the raw and adjusted p-values."""
    lines = []
    for c in summary["comparisons"]:
        d = c["difference"].get("average_accuracy")
        if d is None or d.get("low") is None:
            continue
        verdict = "distinguishable from zero" if d["distinguishable"] else "**not** distinguishable"
        p_values = ""
        if d.get("holm_p") is not None:
            p_values = f" (p {format_p(d['t_p'])}, Holm {format_p(d['holm_p'])})"
        lines.append(
            f"- `{c['rung']}` vs `{c['baseline']}`: {d['mean'] * 100:+.1f} points "
            f"[{d['low'] * 100:+.1f}, {d['high'] * 100:+.1f}], {verdict}{p_values}."
        )
    return "\n".join(lines) + "\n"


HEADER = """# Ablation ladders on split-digits

Each no-sample strategy expanded into its rungs (see [../ablations.md](../ablations.md)) and run
on the same seeds: the learner alone, + its batch-local option (the labels trick), + each
component alone on top of it, the full strategy, and for the Hebbian learner the untrained-feature
control. **Δ** = rung − baseline on each seed, mean and 95 % paired-t confidence interval in
percentage points (`vs` names the baseline rung); **p** its paired-t p-value, **Holm p** that
p-value Holm-adjusted over the ladder's comparisons (Holm 1979); **\\*** marks a Holm-adjusted
p below 0.05 (never a difference without spread). Forgetting after Chaudhry et al. 2018 (lower is
better), its own Holm family. The Wilcoxon signed-rank p-value of Δ acc is a check that does not
assume normal differences ("n too small" below 6 seeds). Every metric of every comparison is in
the ladder summary JSON next to the run files; see [../ablations.md](../ablations.md) for the
rules.

Rebuild: `python scripts/ablation_ladders.py --seeds 10` (trains), or `--render-only`.
"""


SUMMARY = (
    "<!-- summary: written by hand, kept when the tables are rebuilt -->",
    "<!-- /summary -->",
)


def kept_summary(doc: Path) -> str:
    """The hand-written reading of the tables between the SUMMARY markers of ``doc``, if any."""
    text = doc.read_text(encoding="utf-8") if doc.is_file() else ""
    start, end = text.find(SUMMARY[0]), text.find(SUMMARY[1])
    if start < 0 or end < start:
        return ""
    return text[start : end + len(SUMMARY[1])] + "\n\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("results/ablations"))
    parser.add_argument("--doc", type=Path, default=Path("docs/benchmarks/ablations.md"))
    parser.add_argument("--strategy", action="append", help="only these (default: all four)")
    parser.add_argument("--render-only", action="store_true", help="no training")
    args = parser.parse_args(argv)
    for strategy in args.strategy or STRATEGIES:
        if not args.render_only:
            seconds = run(strategy, args.seeds, args.out)
            print(f"{strategy}: {seconds / 60:.1f} min", file=sys.stderr)
    body = [section(s, args.out) for s in STRATEGIES]
    summary = kept_summary(args.doc)
    args.doc.write_text(HEADER + "\n" + summary + "\n".join(body), encoding="utf-8")
    print(f"wrote {args.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
