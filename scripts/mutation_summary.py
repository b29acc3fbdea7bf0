"""Kill rate per module from a mutmut run (the ``mutants/**/*.py.meta`` files it leaves), as a
Markdown table, and the surviving mutants' names (``mutmut show NAME`` prints each diff).

    mutmut run "continual.evaluation.metrics*"      # see docs/mutation-testing.md
    python scripts/mutation_summary.py [--mutants mutants] [--survivors]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

# mutmut's exit codes of the test run against a mutant (mutmut/stats.py): a failing test run
# (1, or 3 for a pytest internal error) kills the mutant, a passing one (0) lets it survive.
STATUS = {1: "killed", 3: "killed", 0: "survived", 36: "timeout", -24: "timeout", None: "not run"}
STATUS.update({5: "no tests", 33: "no tests", 34: "skipped", 37: "killed"})


def module_of(meta: Path, root: Path) -> str:
    return meta.relative_to(root).as_posix().removesuffix(".meta")


def collect(root: Path) -> dict[str, dict[str, str]]:
    """Module path → {mutant name: status}."""
    modules = {}
    for meta in sorted(root.rglob("*.py.meta")):
        codes = json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {})
        modules[module_of(meta, root)] = {
            name: STATUS.get(code, "suspicious") for name, code in codes.items()
        }
    return modules


def table(modules: dict[str, dict[str, str]]) -> str:
    lines = [
        "| module | mutants | run | killed | survived | timeout | no tests | kill rate (of run) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for module, statuses in modules.items():
        count = Counter(statuses.values())
        run = len(statuses) - count["not run"]
        if run == 0:
            continue
        killed = count["killed"] + count["timeout"]
        lines.append(
            f"| `{module}` | {len(statuses)} | {run} | {count['killed']} | {count['survived']} "
            f"| {count['timeout']} | {count['no tests']} | {killed / run:.0%} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    args = parser.parse_args(argv)
    modules = collect(args.mutants)
    print(table(modules))
    if args.survivors:
        for statuses in modules.values():
            for name, status in statuses.items():
                if status in ("survived", "no tests"):
                    print(f"{status}: {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
