"""What ``continual list``, ``run`` and ``ablate`` do (the CLI parses, this module acts)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.table import Table

from continual import execution, registry, specs
from continual.errors import ContinualError
from continual.execution import DoneHook, StartHook

# What a bare `continual run` compares: the baselines, the references and one no-sample
# combination per learner family, ~30 s on 2 CPU cores (every preset: `continual list`).
DEFAULT_STRATEGIES = (
    "finetune",
    "joint",
    "ewc",
    "si",
    "lwf",
    "replay",
    "backprop+sleep",
    "ff+consolidation+sleep",
    "pc+consolidation+sleep",
    "hebbian+consolidation+sleep",
)


def _description(path) -> str:
    try:
        return str(specs.tomllib.loads(path.read_text(encoding="utf-8")).get("description", ""))
    except (OSError, specs.tomllib.TOMLDecodeError) as error:
        return f"[red]unreadable: {error}[/red]"


def _ready(path, data_dir: str | None) -> str:
    """'yes', or what is missing, for a scenario preset (without importing torch)."""
    from continual.scenarios.locations import ready

    try:
        dataset = specs.tomllib.loads(path.read_text(encoding="utf-8")).get("dataset", {})
    except (OSError, specs.tomllib.TOMLDecodeError):
        return "[red]unreadable[/red]"
    name = dataset.get("name", "?")
    if ready(name, dataset.get("data_dir", data_dir)):
        return "[green]yes[/green]"
    return f"[yellow]needs {name} files[/yellow]"


def list_command(data_dir: str | None = None) -> int:
    console = Console()
    for kind in specs.KINDS:
        table = Table(title=f"{kind} (presets in {specs.preset_dir(kind)})", title_justify="left")
        table.add_column("name", style="bold")
        if kind == "scenarios":
            table.add_column("ready")
        table.add_column("description")
        for name, path in specs.presets(kind).items():
            extra = [_ready(path, data_dir)] if kind == "scenarios" else []
            table.add_row(name, *extra, _description(path))
        console.print(table)
    for kind, entries in (("learners", registry.LEARNERS), ("components", registry.COMPONENTS)):
        table = Table(
            title=f"{kind} (compose with --strategy LEARNER+COMPONENT+...)", title_justify="left"
        )
        table.add_column("name", style="bold")
        table.add_column("what it is")
        for name, entry in entries.items():
            table.add_row(name, entry.summary)
        console.print(table)
    return 0


def _check_device(device: str) -> None:
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ContinualError("--device cuda: no CUDA device is available here; use --device cpu")
    if device != "cpu" and not device.startswith("cuda"):
        raise ContinualError(f"--device {device}: expected cpu or cuda")


@contextmanager
def _progress(quiet: bool) -> Iterator[tuple[StartHook, DoneHook]]:
    """A progress bar per cell on stderr; yields the ``on_start`` and ``on_done`` hooks of
    :func:`execution.execute`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    console = Console(stderr=True)
    with Progress(*columns, console=console, disable=quiet, transient=False) as progress:

        def start(cell: execution.Cell, total: int):
            task = progress.add_task(f"{cell.strategy.name} (seed {cell.seed})", total=total)
            bars[id(cell)] = (task, total)
            return lambda n: progress.advance(task, n)

        def done(cell: execution.Cell, result: dict, path) -> None:
            task, total = bars[id(cell)]
            progress.update(task, completed=total)

        bars: dict[int, tuple] = {}
        yield start, done


def run_command(args: argparse.Namespace) -> int:
    from continual.report.terminal import comparison_table

    _check_device(args.device)
    seeds = args.seed or [0]
    scenario = specs.with_overrides(
        specs.load_scenario(args.scenario), args.dataset, args.experiences
    )
    available = specs.presets("strategies")
    strategy_refs = args.strategy or [n for n in DEFAULT_STRATEGIES if n in available]
    if not strategy_refs:
        raise ContinualError("no strategy given and no strategy presets found")
    strategies = [specs.load_strategy(ref) for ref in strategy_refs]
    plan = execution.cells(scenario, strategies, seeds)
    steps = execution.prepare(plan, args.data_dir)  # build everything before training anything
    with _progress(args.quiet) as (start, done):
        results = execution.execute(
            plan,
            args.out,
            device=args.device,
            data_dir=args.data_dir,
            steps=steps,
            on_start=start,
            on_done=done,
            quiet=args.quiet,
        )
    stream_name = results[0]["stream"]["name"] if results else scenario.name
    Console().print(comparison_table(results, title=f"{scenario.name}: {stream_name}"))
    print(f"results: {args.out}/", file=sys.stderr)
    return 0


def ablate_command(args: argparse.Namespace) -> int:
    from continual import ablation
    from continual.report.ladder import ladder_table

    _check_device(args.device)
    if args.seeds is not None and args.seeds < 1:
        raise ContinualError(f"--seeds {args.seeds}: needs at least 1 (2 or more for a CI)")
    seeds = args.seed or list(range(args.seeds if args.seeds is not None else 5))
    scenario = specs.load_scenario(args.scenario)
    strategy = specs.load_strategy(args.strategy)
    with _progress(args.quiet) as (start, done):
        summary = ablation.ablate(
            scenario,
            strategy,
            seeds,
            args.out,
            device=args.device,
            data_dir=args.data_dir,
            on_start=start,
            on_done=done,
            quiet=args.quiet,
        )
    Console(width=80).print(ladder_table(summary))
    print(f"results: {args.out}/  ladder summary: {summary['path']}", file=sys.stderr)
    return 0
