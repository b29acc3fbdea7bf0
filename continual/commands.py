"""What the `continual` commands do (the CLI parses, this module acts)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from continual import execution, registry, specs
from continual.errors import ContinualError
from continual.execution import Event
from continual.report.sanitize import markup, plain
from continual.results import prepare_out

# What a bare `continual run` compares: the baselines, the references, and each no-sample
# combination next to its learner with only the batch-local option (the labels trick) on, the
# control its gain must be measured against (every preset: `continual list`).
DEFAULT_STRATEGIES = (  # the no-storage controls beside each family, kept fast (README);
    # DGR (~100 s) and the generative classifier (~30 s) are in the README's headline instead
    "finetune",
    "joint",
    "replay",
    "ewc",
    "ncm",
    "slda",
    "slda-untrained",
    "backprop+sleep",
    "hebbian-batch",
    "hebbian+slda",
)


def _description(path) -> str:
    try:
        return str(specs.tomllib.loads(specs.decode(path)).get("description", ""))
    except (ContinualError, specs.tomllib.TOMLDecodeError) as error:
        return f"[red]unreadable: {error}[/red]"


def _ready(path, data_dir: str | None) -> str:
    """'yes', or what is missing, for a scenario preset (without importing torch)."""
    from continual.scenarios.locations import readable, ready

    try:
        dataset = specs.tomllib.loads(specs.decode(path)).get("dataset", {})
    except (ContinualError, specs.tomllib.TOMLDecodeError):
        return "[red]unreadable[/red]"
    name = dataset.get("name", "?")
    if not readable(dataset.get("data_dir", data_dir)):
        return "[red]data folder unreadable[/red]"
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
    titles = {
        "learners": "compose with --strategy LEARNER+COMPONENT+...",
        "components": "compose with --strategy LEARNER+COMPONENT+...",
        "readouts": "a strategy's [readout] name; 'trained' keeps the learner's own readout",
    }
    tables = {
        "learners": registry.LEARNERS,
        "components": registry.COMPONENTS,
        "readouts": registry.READOUTS,
    }
    for kind, entries in tables.items():
        table = Table(title=f"{kind} ({titles[kind]})", title_justify="left")
        table.add_column("name", style="bold")
        table.add_column("what it is")
        for name, entry in entries.items():
            table.add_row(name, entry.summary)
        console.print(table)
    return 0


def _check_device(device: str, here: bool = True) -> None:
    """With ``here``, the device must exist on this machine (:func:`execution.check_device`;
    the CLI shows its error with ``--device``)."""
    if here:
        execution.check_device(device)


def _seeds(seed: list[int] | None, count: int | None, default: int) -> list[int]:
    """The seeds of ``--seed N`` (repeatable; repeats collapse) or ``--seeds COUNT`` (0..COUNT-1),
    ``default`` seeds when neither is given (the CLI checked each value)."""
    return list(dict.fromkeys(seed or range(count if count is not None else default)))


def _with_data_options(
    scenario: specs.ScenarioSpec, args: argparse.Namespace, absolute: bool = False
) -> specs.ScenarioSpec:
    """``scenario`` with ``--dataset`` and ``--experiences`` applied, as every training command
    takes them; ``absolute``: a ``.npz`` path made absolute (for workers in other folders)."""
    dataset = args.dataset
    if absolute and dataset is not None and dataset.endswith(".npz"):
        dataset = str(Path(dataset).resolve())
    return specs.with_overrides(scenario, dataset, args.experiences)


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[Event], None]]:
    """Yields the ``on_event`` of :func:`execution.drive` for ``run`` and ``ablate``: a progress
    bar per cell on stderr (plain lines every tenth when stderr is a log file or a pipe), the
    divergences, and with ``quiet`` a line per result kept or written instead of bars."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    console = Console(stderr=True)
    logged = not quiet and not sys.stderr.isatty()  # a log file: _log_lines reports instead
    with Progress(*columns, console=console, disable=quiet or logged, transient=False) as progress:
        bars: dict[int, tuple] = {}

        def on_event(event: Event) -> None:
            cell = event.cell
            if event.kind == "started":
                label = plain(f"{cell.strategy.name} (seed {cell.seed})")
                task = progress.add_task(markup(label), total=event.steps)
                bars[id(cell)] = (task, event.steps, label, _log_lines(label, event.steps))
            elif event.kind == "advanced":
                task, _, _, lines = bars[id(cell)]
                progress.advance(task, event.steps)
                if logged:
                    lines(event.steps)
            elif event.kind == "diverged":
                print(f"error: {event.message}", file=sys.stderr)
            elif event.kind in ("kept", "wrote"):
                _finished(event, bars, progress, logged, quiet)

        yield on_event


def _finished(event: Event, bars: dict, progress, logged: bool, quiet: bool) -> None:
    """A result kept or written: said so on a quiet log; its bar (if it had one) completed."""
    if quiet and event.kind == "kept":
        print(f"kept {event.path} (already computed; --force recomputes)", file=sys.stderr)
    elif event.kind == "kept":  # no bar for it: say that it was not trained again
        label = plain(f"{event.cell.strategy.name} (seed {event.cell.seed})")
        print(f"{label}: kept, already computed (--force recomputes)", file=sys.stderr)
    elif quiet:
        print(f"wrote {event.path}", file=sys.stderr)
    if id(event.cell) in bars:  # a reused result never started a bar
        task, total, label, _ = bars[id(event.cell)]
        if logged and not progress.tasks[task].completed:  # trained on a worker
            diverged = (event.result or {}).get("status") == "diverged"
            line = "diverged" if diverged else f"{total}/{total} steps"
            print(f"{label}: {line}", file=sys.stderr, flush=True)
        progress.update(task, completed=total)


def _threads(count: int) -> None:
    """Use ``count`` torch threads in this process (``--threads``; default 1). On a shared
    2-core machine torch's default of one thread per core made a 3-strategy run 9× slower
    (docs/benchmarks/speed.md): its threads spin waiting for each other whenever another
    process holds a core."""
    import torch

    torch.set_num_threads(count)


def run_command(args: argparse.Namespace) -> int:
    from continual.report.terminal import comparison_table

    _check_device(args.device)
    _threads(args.threads)
    seeds = _seeds(args.seed, args.seeds, default=1)
    scenario = _with_data_options(specs.load_scenario(args.scenario), args)
    available = specs.presets("strategies")
    strategy_refs = args.strategy or [n for n in DEFAULT_STRATEGIES if n in available]
    if not strategy_refs:
        raise ContinualError("no strategy given and no strategy presets found")
    strategies = [specs.load_strategy(ref) for ref in strategy_refs]
    plan = execution.cells(scenario, strategies, seeds)
    prepare_out(args.out, keep=False)  # a folder that cannot take results: refused up front
    if not args.no_report:
        from continual.report.files import check_targets

        check_targets(args.out)
    cache: dict = {}  # streams and reference evaluations shared by the runs
    steps = execution.prepare(plan, args.data_dir, cache)  # build everything before training
    job = execution.Job(
        args.out, args.device, args.data_dir, args.checkpoint_every, resume=args.resume
    )
    backend = execution.local_backend(args.workers, cache)
    with _progress(args.quiet) as on_event:
        results = execution.drive(
            plan, backend, job, execution.Options(force=args.force), steps=steps, on_event=on_event
        ).results
    complete = [r for r in results if r.get("status", "complete") == "complete"]
    diverged = [r for r in results if r not in complete]
    stream_name = results[0]["stream"]["name"] if results else scenario.name
    if complete:
        Console().print(comparison_table(complete, title=f"{scenario.name}: {stream_name}"))
    print(f"results: {args.out}/", file=sys.stderr)
    if not args.no_report:
        from continual.report.files import write_reports

        for path in write_reports(results, args.out, tensorboard=args.tensorboard, on_note=_say):
            print(f"report: {path}", file=sys.stderr)
    for result in diverged:
        print(f"diverged: {result['divergence']['message']}", file=sys.stderr)
    return 1 if diverged else 0


def report_command(args: argparse.Namespace) -> int:
    from continual.report.files import load_results, write_reports
    from continual.report.terminal import comparison_table

    results = load_results(args.folders, on_skip=_say)
    out = args.out or args.folders[0]
    reference = _reference(results, args.reference)
    Console().print(comparison_table(results, title=", ".join(map(str, args.folders))))
    written = write_reports(
        results, out, tensorboard=args.tensorboard, reference=reference, on_note=_say
    )
    for path in written:
        print(f"report: {path}", file=sys.stderr)
    return 0


def _say(line: str) -> None:
    """A line for the person at the terminal (a skipped file, a missing optional part)."""
    print(line, file=sys.stderr)


def _reference(results: list, requested: str | None) -> str:
    """The report's reference strategy (checked before anything is written), and a line on
    stderr saying which it is when the report has paired differences."""
    from continual.report.aggregate import by_strategy, reference_strategy

    groups = by_strategy(results)
    reference = reference_strategy(groups, requested)
    if len(groups) > 1:
        print(f"paired differences against: {reference}", file=sys.stderr)
    return reference


def compare_command(args: argparse.Namespace) -> int:
    from continual.report import compare
    from continual.report.files import load_results, write_reports
    from continual.report.terminal import comparison_table

    distinct: dict[Path, Path] = {}  # one folder named twice (or through a link) counts once
    for folder in args.folders:
        distinct.setdefault(folder.resolve(), folder)
    folders = list(distinct.values())
    if len(folders) < 2:
        raise ContinualError(
            "compare needs at least two different result folders"
            + (" (the ones given are one folder)" if len(args.folders) > 1 else "")
        )
    groups = [load_results([folder], on_skip=_say) for folder in folders]
    labels = compare.labels(folders)
    combined = [r for g, label in zip(groups, labels) for r in compare.labelled(g, label)]
    console = Console()
    console.print(comparison_table(combined, title=" vs ".join(labels)))
    for other, label in zip(groups[1:], labels[1:]):
        console.print(compare.differences(groups[0], other, f"{label} − {labels[0]}"))
    if args.out is not None:
        reference = _reference(combined, compare.reference(groups[0], labels[0], args.reference))
        for path in write_reports(combined, args.out, reference=reference, on_note=_say):
            print(f"report: {path}", file=sys.stderr)
    return 0


def _log_lines(label: str, total: int, parts: int = 10):
    """A progress callback that prints a line at every tenth of ``total`` steps (for stderr
    that is a file or a pipe, where a progress bar shows nothing until the end)."""
    marks = {max(1, total * k // parts) for k in range(1, parts + 1)}
    seen = 0

    def advance(step_count: int) -> None:
        nonlocal seen
        seen += step_count
        if seen in marks:
            print(f"{label}: {seen}/{total} steps", file=sys.stderr, flush=True)

    return advance


def sweep_command(args: argparse.Namespace) -> int:
    """Expand the grid, check every cell before anything trains, run the unfinished ones on the
    chosen backend, and print one comparison table per scenario."""
    from continual.report.terminal import comparison_table
    from continual.sweep.grid import load_grid

    _check_device(args.device, here=args.backend == "local")  # Ray: the cluster's GPUs
    if args.backend == "ray":
        from continual.sweep.ray_backend import RayBackend

        backend = RayBackend(args.address, args.cpus_per_cell, args.gpus_per_cell)
    else:
        from continual.sweep.local import LocalPool

        backend = LocalPool(args.workers, args.threads)
    from continual.checkpoint import prepare_folder

    every = args.checkpoint_every
    prepare_out(args.out)  # a file, /dev/full, an unwritable folder: refused before anything
    prepare_folder(args.out / execution.CHECKPOINTS)
    grid = load_grid(args.grid)
    scenarios = tuple(_with_data_options(s, args, absolute=True) for s in grid.scenarios)
    plan = dataclasses.replace(grid, scenarios=scenarios).cells()
    execution.prepare(plan, args.data_dir)  # a bad value fails here, before any cell trains
    job = execution.Job(args.out, args.device, args.data_dir, every, resume=True)
    options = execution.Options(retries=args.retries, keep_going=True)
    print(f"{len(plan)} cells on {args.backend}", file=sys.stderr)
    outcome = execution.drive(plan, backend, job, options, on_event=_sweep_lines(args.quiet))
    print(
        f"ran {outcome.ran}, skipped {outcome.kept} finished, failed {len(outcome.failed)}",
        file=sys.stderr,
    )
    complete = [r for r in outcome.results if r.get("status", "complete") == "complete"]
    console = Console()
    for scenario in dict.fromkeys(r["scenario"]["name"] for r in complete):
        group = [r for r in complete if r["scenario"]["name"] == scenario]
        console.print(comparison_table(group, title=scenario))
    for cell, error in outcome.failed:
        print(f"failed: {cell.strategy.name} seed {cell.seed}: {error}", file=sys.stderr)
    diverged = [r for r in outcome.results if r not in complete]
    for result in diverged:
        print(f"diverged: {result['divergence']['message']}", file=sys.stderr)
    return 1 if outcome.failed or diverged else 0


def _sweep_lines(quiet: bool) -> Callable[[Event], None]:
    """The sweep's ``on_event``: ``[n] wrote PATH`` per result (unless ``quiet``), a line per
    retry and per divergence."""
    written = 0

    def on_event(event: Event) -> None:
        nonlocal written
        cell = event.cell
        if event.kind == "wrote":
            written += 1
            if not quiet:
                print(f"[{written}] wrote {event.path}", file=sys.stderr)
        elif event.kind == "retrying":
            label = f"{cell.scenario.name} / {cell.strategy.name} / seed {cell.seed}"
            print(f"retrying {label} after: {event.error!r}", file=sys.stderr)
        elif event.kind == "diverged":
            print(f"error: {event.message}", file=sys.stderr)

    return on_event


def ablate_command(args: argparse.Namespace) -> int:
    from continual import ablation
    from continual.report.terminal import ladder_table

    _check_device(args.device)
    _threads(args.threads)
    seeds = _seeds(args.seed, args.seeds, default=5)
    scenario = _with_data_options(specs.load_scenario(args.scenario), args)
    strategy = specs.load_strategy(args.strategy)
    with _progress(args.quiet) as on_event:
        summary = ablation.ablate(
            scenario,
            strategy,
            seeds,
            args.out,
            device=args.device,
            data_dir=args.data_dir,
            on_event=on_event,
            workers=args.workers,
        )
    Console(width=80).print(ladder_table(summary))
    print(f"results: {args.out}/  ladder summary: {summary['path']}", file=sys.stderr)
    return 0
