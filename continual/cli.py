"""The command line: ``continual list``, ``run``, ``ablate``, ``report``, ``compare``, ``sweep``.

Only what a command needs is imported (torch is not needed to list presets), and every
:class:`ContinualError` ends in one clear message and exit status 2, never a traceback.

Every command-line value is checked here, as it is parsed (the argparse types below, with the
bounds of :mod:`continual.limits`), and the rules between options right after; the commands and
the library below them name parameters, not flags, and a library error about a parameter that a
flag set is shown with the flag's name (:func:`_named_by_flag`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from continual import limits
from continual.errors import ConfigError, ContinualError
from continual.ranges import Range, RangeError

DEFAULT_SCENARIO = "split-digits"


def _bounded(flag: str, kind: type, bound: Range):
    """An argparse type: a number of ``kind`` within ``bound``, else one line naming the flag."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:  # argparse's own message: "invalid int value: 'x'"
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None
        try:
            bound.check(flag, value)
        except RangeError:
            note = f" ({bound.note})" if bound.note else ""
            raise ContinualError(f"{flag} {text}: must be {bound.describe()}{note}") from None
        return value

    parse.__name__ = kind.__name__
    return parse


SEED = _bounded("--seed", int, Range(0, limits.MAX_SEED))
SEEDS = _bounded(
    "--seeds", int, Range(1, limits.MAX_SEEDS, note=f"at most {limits.MAX_SEEDS:,} seeds")
)
EXPERIENCES = _bounded("--experiences", int, Range(1, limits.MAX_EXPERIENCES))
WORKERS = _bounded("--workers", int, Range(1, limits.MAX_WORKERS))
THREADS = _bounded("--threads", int, Range(1, limits.MAX_THREADS))
CHECKPOINT_EVERY = _bounded("--checkpoint-every", int, Range(0, limits.MAX_COUNT))
RETRIES = _bounded("--retries", int, Range(0, limits.MAX_RETRIES))
CPUS = _bounded("--cpus-per-cell", float, Range(0, limits.MAX_PER_CELL, open_low=True))
GPUS = _bounded("--gpus-per-cell", float, Range(0, limits.MAX_PER_CELL))


def _device(text: str) -> str:
    """cpu or cuda[:N] (whether a CUDA device exists here is the command's to check)."""
    if text != "cpu" and not text.startswith("cuda"):
        raise ContinualError(f"--device {text}: expected cpu or cuda")
    return text


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
        type=SEED,
        metavar="N",
        help="random seed; repeat for several (default: 0)",
    )
    run.add_argument(
        "--seeds",
        type=SEEDS,
        metavar="COUNT",
        help="run seeds 0..COUNT-1 (instead of --seed); the report then shows 95 %% CIs",
    )
    run.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        help="folder for the JSON result files (default: results)",
    )
    _device_argument(run)
    _data_arguments(run)
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    _workers_argument(run)
    run.add_argument(
        "--no-report",
        action="store_true",
        help="do not write report.md, report.html and metrics.csv next to the results",
    )
    run.add_argument(
        "--tensorboard", action="store_true", help="also write TensorBoard event files"
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="recompute runs whose result is already in --out (default: reuse them)",
    )
    _checkpoint_arguments(run)
    report = commands.add_parser(
        "report", help="render report.md, report.html and metrics.csv from result folders"
    )
    report.add_argument("folders", nargs="+", type=Path, metavar="RUN_DIR")
    report.add_argument(
        "--out", type=Path, help="where to write the report (default: the first RUN_DIR)"
    )
    report.add_argument(
        "--tensorboard", action="store_true", help="also write TensorBoard event files"
    )
    _reference_argument(report)
    compare = commands.add_parser("compare", help="put runs from several folders side by side")
    compare.add_argument("folders", nargs="+", type=Path, metavar="RUN_DIR")
    compare.add_argument("--out", type=Path, help="also write a combined report there")
    _reference_argument(compare, "; a name without FOLDER: is taken from the first folder")
    _sweep_parser(commands)
    _ablate_parser(commands)
    return parser


def _sweep_parser(commands: argparse._SubParsersAction) -> None:
    sweep = commands.add_parser(
        "sweep", help="run a grid of scenarios x strategies x parameters x seeds"
    )
    sweep.add_argument("grid", type=Path, metavar="GRID.toml", help="the grid (see docs/sweeps.md)")
    sweep.add_argument(
        "--out", type=Path, default=Path("results"), help="folder for the result files"
    )
    sweep.add_argument(
        "--backend", choices=("local", "ray"), default="local", help="process pool or Ray"
    )
    sweep.add_argument(
        "--workers", type=WORKERS, default=1, metavar="N", help="local worker processes (default 1)"
    )
    sweep.add_argument(
        "--threads",
        type=THREADS,
        metavar="N",
        help="torch threads per local worker (default: this machine's CPUs / workers)",
    )
    sweep.add_argument(
        "--address", metavar="ADDR", help="an existing Ray cluster (e.g. auto, ray://head:10001)"
    )
    sweep.add_argument(
        "--cpus-per-cell", type=CPUS, default=1, metavar="N", help="Ray CPUs per cell (default 1)"
    )
    sweep.add_argument(
        "--gpus-per-cell", type=GPUS, default=0, metavar="N", help="Ray GPUs per cell (default 0)"
    )
    sweep.add_argument(
        "--retries",
        type=RETRIES,
        default=2,
        metavar="N",
        help="retry a cell whose worker failed up to N times (default 2)",
    )
    _device_argument(sweep)
    _data_arguments(sweep, "every scenario of the grid")
    _checkpoint_arguments(sweep, resume=False)
    sweep.add_argument("--quiet", action="store_true", help="no line per finished cell")


def _data_arguments(parser: argparse.ArgumentParser, which: str = "the scenario") -> None:
    """The data options every training command takes (run, ablate, sweep)."""
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where standard datasets' files are (default: $CONTINUAL_DATA or "
        "~/.cache/continual); nothing is downloaded",
    )
    parser.add_argument(
        "--dataset",
        metavar="NAME|FILE.npz",
        help=f"run {which}'s protocol on another dataset: a dataset name or "
        "your own .npz (x_train, y_train, x_test, y_test)",
    )
    parser.add_argument(
        "--experiences",
        type=EXPERIENCES,
        metavar="N",
        help=f"change the number of experiences of {which} (1 = ordinary i.i.d. training)",
    )


def _reference_argument(parser: argparse.ArgumentParser, extra: str = "") -> None:
    parser.add_argument(
        "--reference",
        metavar="STRATEGY",
        help="the strategy the report's paired differences are taken against (default: "
        "finetune if present, else naive, else the first name alphabetically)" + extra,
    )


def _device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", type=_device, default="cpu", help="cpu or cuda (default: cpu)")


def _workers_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=WORKERS,
        default=1,
        metavar="N",
        help="train N runs at once, each in its own process with 1/N of the CPU threads "
        "(default 1); results are the same as with one",
    )
    parser.add_argument(
        "--threads",
        type=THREADS,
        default=1,
        metavar="N",
        help="torch threads of runs trained in this process (default 1: small networks gain "
        "little from more, and on a busy machine threads waiting for each other lose most; "
        "see docs/benchmarks/speed.md)",
    )


def _checkpoint_arguments(parser: argparse.ArgumentParser, resume: bool = True) -> None:
    parser.add_argument(
        "--checkpoint-every",
        type=CHECKPOINT_EVERY,
        default=0,
        metavar="N",
        help="also checkpoint every N training steps (default 0: at experience boundaries only); "
        "checkpoints live in OUT/checkpoints until the result is written",
    )
    if not resume:  # a sweep resumes unfinished cells by itself
        return
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue killed runs from their checkpoints in the same --out",
    )


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
    seeds.add_argument("--seeds", type=SEEDS, metavar="N", help="seeds 0..N-1 (default: 5)")
    seeds.add_argument(
        "--seed", action="append", type=SEED, metavar="N", help="one seed; repeat for several"
    )
    ablate.add_argument(
        "--out",
        type=Path,
        default=Path("results"),
        help="folder for the run files and the ladder summary (default: results)",
    )
    _device_argument(ablate)
    _data_arguments(ablate)
    ablate.add_argument("--quiet", action="store_true", help="no progress bar")
    _workers_argument(ablate)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure a user can meet ends in one line on stderr and a status:
    2 for a bad input or environment (:class:`ContinualError`, a file system error, memory),
    130 for Ctrl-C, 143 for SIGTERM."""
    _safe_output()
    with _signals():
        try:
            code = _command(argv)
        except ContinualError as error:
            code = _fail(str(error))
        except OSError as error:  # the file system refused: full, too long, a folder, read-only
            code = _fail(_os_message(error))
        except MemoryError:
            code = _fail(OUT_OF_MEMORY)
        except RuntimeError as error:  # the allocator's own words (torch CPU or CUDA)
            if not _out_of_memory(error):
                raise
            code = _fail(f"{OUT_OF_MEMORY} ({str(error).splitlines()[0][:200]})")
        except KeyboardInterrupt as interrupt:
            code = _interrupted(interrupt)
    return _flushed(code)


OUT_OF_MEMORY = (
    "out of memory: this process may not allocate what the run needs; use a smaller network, "
    "buffer or batch, fewer workers, or raise the process's memory limit"
)


def _command(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # every value is checked here (the types above)
    _check_together(args)
    try:
        return _dispatch(parser, args)
    except ConfigError as error:
        raise _named_by_flag(error, args) from None


def _check_together(args: argparse.Namespace) -> None:
    """The rules between options, which no single option's type can check."""
    if getattr(args, "seed", None) and getattr(args, "seeds", None) is not None:
        raise ContinualError("give either --seed N (repeatable) or --seeds COUNT, not both")
    if args.command == "sweep" and args.address and args.backend != "ray":
        raise ContinualError("--address is for --backend ray")


# Library parameters that a flag sets (parameter: the flag's name in argparse's namespace): an
# error the library raises about one of them (its message begins with the parameter's name) is
# shown with the flag's name.
FLAGS = {
    "out": "out",
    "experiences": "experiences",
    "dataset": "dataset",
    "reference": "reference",
    "cpus": "cpus_per_cell",
    "gpus": "gpus_per_cell",
    "device": "device",
}


def _named_by_flag(error: ConfigError, args: argparse.Namespace) -> ContinualError:
    """``error`` with the parameter it names replaced by the flag that set it (only when a flag
    set it: the same parameter in a spec file keeps its own name)."""
    field, message = error.field or "", str(error)
    dest = FLAGS.get(field)
    if dest is None or getattr(args, dest, None) is None:
        return error
    if message.startswith(field) and message[len(field) : len(field) + 1] in (" ", ":"):
        flag = "--" + dest.replace("_", "-")
        return ConfigError(flag + message[len(field) :], field=field)
    return error


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "list":
        from continual.commands import list_command

        return list_command(args.data_dir)
    if args.command == "run":
        from continual.commands import run_command

        return run_command(args)
    if args.command in ("report", "compare"):
        from continual import commands

        return getattr(commands, f"{args.command}_command")(args)
    if args.command == "sweep":
        from continual.commands import sweep_command

        return sweep_command(args)
    if args.command == "ablate":
        from continual.commands import ablate_command

        return ablate_command(args)
    parser.print_help()
    return 0


def _fail(message: str) -> int:
    from continual.report.sanitize import plain

    print(f"error: {plain(message)}", file=sys.stderr)
    return 2


def _os_message(error: OSError) -> str:
    where = error.filename if error.filename is not None else "output"
    return f"{where}: {error.strerror or error}"


def _out_of_memory(error: RuntimeError) -> bool:
    text = str(error).lower()
    return type(error).__name__ == "OutOfMemoryError" or any(
        words in text for words in ("not enough memory", "out of memory", "cannot allocate memory")
    )


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every cleanup that Ctrl-C runs runs too."""


_announced = False  # "interrupted" (or "terminated") was printed


def _interrupted(interrupt: KeyboardInterrupt) -> int:
    global _announced
    terminated = isinstance(interrupt, Terminated)
    if not _announced:
        print("terminated" if terminated else "interrupted", file=sys.stderr)
        _announced = True
    return 143 if terminated else 130


@contextmanager
def _signals() -> Iterator[None]:
    """While a command runs: SIGTERM unwinds like Ctrl-C (temporary files removed, workers
    stopped, Ray shut down); a second Ctrl-C or SIGTERM during that shutdown exits at once
    without a traceback; SIGXFSZ (a file-size limit) becomes an EFBIG error on the write.
    The previous handlers come back afterwards (the CLI also runs inside tests)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _announced
    _announced = False
    pressed = []

    def stop(number: int, frame: object) -> None:
        if pressed:  # the second time: the shutdown itself is being interrupted
            if not _announced:
                os.write(2, b"interrupted\n")
            os._exit(143 if number == signal.SIGTERM else 130)
        pressed.append(number)
        raise Terminated() if number == signal.SIGTERM else KeyboardInterrupt()

    wanted = {signal.SIGINT: stop, signal.SIGTERM: stop}
    if hasattr(signal, "SIGXFSZ"):
        wanted[signal.SIGXFSZ] = signal.SIG_IGN
    previous = {}
    for number, handler in wanted.items():
        if number == signal.SIGINT and signal.getsignal(number) is signal.SIG_IGN:
            continue  # started with Ctrl-C ignored (nohup, a background job): keep it so
        previous[number] = signal.signal(number, handler)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _safe_output() -> None:
    """Text that the terminal's encoding cannot show (an ASCII locale, a file name that is not
    UTF-8) is replaced, never a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace" if stream is sys.stderr else "replace")
        except (AttributeError, ValueError, OSError):  # not a text file, or already closed
            continue


def _flushed(code: int) -> int:
    """``code``, or 2 when what was printed cannot be written (stdout on a full disk or a
    closed pipe); stdout then goes to /dev/null so Python's exit does not fail on it again."""
    try:
        sys.stdout.flush()
    except OSError as error:
        try:
            sink = os.open(os.devnull, os.O_WRONLY)
            os.dup2(sink, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        if code == 0:
            code = _fail(_os_message(error))
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
