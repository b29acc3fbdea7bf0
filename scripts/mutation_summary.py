"""Kill rate per module from a mutmut run (the ``mutants/**/*.py.meta`` files it leaves), as a
Markdown table, and the surviving mutants' names (``mutmut show NAME`` prints each diff).

    mutmut run "continual.evaluation.metrics*"      # see docs/mutation-testing.md
    python scripts/mutation_summary.py [--mutants mutants] [--survivors]
    python scripts/mutation_summary.py --recheck tests/replay/test_experience_replay.py ...

``--recheck TESTS`` runs every survivor of the last mutmut run again, against ``TESTS`` only (tests
written after that run, as files or pytest node ids ``FILE::TEST``; their files copied into
``mutants/tests`` first), the way mutmut runs a mutant
(``MUTANT_UNDER_TEST`` set, the tests run from the mutated copy), and says which they kill.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
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


# One process runs every survivor (torch is imported once): the trampolines mutmut writes read
# MUTANT_UNDER_TEST at each call, so setting it between pytest runs switches the mutant.
LOOP = """
import os, sys, pytest
sys.path.insert(0, ".")
names, tests = sys.argv[1].split(","), sys.argv[2:]
for name in names:
    os.environ["MUTANT_UNDER_TEST"] = name
    code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", *tests])
    print(("killed" if code == 1 else "survived") + ": " + name, flush=True)
"""


def recheck(root: Path, modules: dict[str, dict[str, str]], tests: list[str], only: str) -> Counter:
    """Run each survivor whose name matches ``only`` against ``tests`` in the mutated copy."""
    for test in tests:
        path = test.split("::")[0]  # a node id names one test of the file
        shutil.copy(path, root / path)
    names = [
        name
        for statuses in modules.values()
        for name, status in statuses.items()
        if status in ("survived", "no tests") and fnmatch.fnmatch(name, only)
    ]
    if not names:
        return Counter()
    done = subprocess.run(
        [sys.executable, "-c", LOOP, ",".join(names), *tests],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    verdicts = [
        line for line in done.stdout.splitlines() if line.startswith(("killed:", "survived:"))
    ]
    print("\n".join(verdicts))
    return Counter(line.split(":")[0] for line in verdicts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    parser.add_argument("--recheck", nargs="+", metavar="TEST", help="rerun survivors on TESTS")
    parser.add_argument("--only", default="*", help="with --recheck: survivors matching this glob")
    args = parser.parse_args(argv)
    modules = collect(args.mutants)
    if args.recheck:
        print(dict(recheck(args.mutants, modules, args.recheck, args.only)))
        return 0
    print(table(modules))
    if args.survivors:
        for statuses in modules.values():
            for name, status in statuses.items():
                if status in ("survived", "no tests"):
                    print(f"{status}: {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
