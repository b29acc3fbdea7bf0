"""The command line: ``continual list``, ``continual run`` and ``continual ablate``.

Only what a command needs is imported (torch is not needed to list presets), and every
:class:`ContinualError` ends in one clear message and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from continual.errors import ContinualError

DEFAULT_SCENARIO = "split-digits"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="continual",
        description="Continual learning with local learners, consolidation and sleep.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    listing = commands.add_parser(
        "list", help="show the preset scenarios, strategies, learners, components"
    )
    listing.add_argument("--data-dir", metavar="DIR", help="where to look for dataset files")
    run = commands.add_parser("run", help="train strategies on a scenario and compare them")
    run.add_argument(
        "--scenario",
        default=DEFAULT_SCENARIO,
        help=f"preset name or path to a TOML spec (default: {DEFAULT_SCENARIO})",
    )
    run.add_argument(
        "--strategy",
        action="append",
        metavar="NAME|PATH|LEARNER+COMPONENT",
        help="strategy preset, TOML path or composition; repeat to compare "
        "(default: the baselines and one combination per learner)",
    )
    run.add_argument(
        "--seed",
        action="append",
        type=int,
        metavar="N",
        help="random seed; repeat for several (default: 0)",
    )
    run.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        help="folder for the JSON result files (default: results)",
    )
    run.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    run.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where standard datasets' files are (default: $CONTINUAL_DATA or "
        "~/.cache/continual); nothing is downloaded",
    )
    run.add_argument(
        "--dataset",
        metavar="NAME|FILE.npz",
        help="run the scenario's protocol on another dataset: a dataset name or "
        "your own .npz (x_train, y_train, x_test, y_test)",
    )
    run.add_argument(
        "--experiences",
        type=int,
        metavar="N",
        help="change the number of experiences (1 = ordinary i.i.d. training)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    _ablate_parser(commands)
    return parser


def _ablate_parser(commands: argparse._SubParsersAction) -> None:
    ablate = commands.add_parser(
        "ablate",
        help="run a strategy's ablation ladder on the same seeds, with paired differences",
        description="Expand STRATEGY into rungs (the learner alone; + its batch-local option; "
        "+ each component alone; the full strategy; the untrained-feature control where the "
        "learner has one), run every rung on the same seeds and report each rung's paired "
        "per-seed difference from the rung below it (paired t, 95 % CI).",
    )
    ablate.add_argument("strategy", metavar="STRATEGY", help="preset, TOML path or composition")
    ablate.add_argument(
        "--scenario",
        default=DEFAULT_SCENARIO,
        help=f"preset name or path to a TOML spec (default: {DEFAULT_SCENARIO})",
    )
    seeds = ablate.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, metavar="N", help="seeds 0..N-1 (default: 5)")
    seeds.add_argument(
        "--seed", action="append", type=int, metavar="N", help="one seed; repeat for several"
    )
    ablate.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        help="folder for the run files and the ladder summary (default: results)",
    )
    ablate.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    ablate.add_argument("--data-dir", metavar="DIR", help="where standard datasets' files are")
    ablate.add_argument("--quiet", action="store_true", help="no progress bar")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            from continual.commands import list_command

            return list_command(args.data_dir)
        if args.command == "run":
            from continual.commands import run_command

            return run_command(args)
        if args.command == "ablate":
            from continual.commands import ablate_command

            return ablate_command(args)
        parser.print_help()
        return 0
    except ContinualError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
