"""Running many runs: a command (``run``, ``ablate``, ``sweep``) expands into cells — one
(scenario, strategy, seed) each — and :func:`execute` trains them one after another, writing each
result file atomically as soon as it is finished. Every command that trains goes through here, so
what a run is (and where its result lands) is decided in one place."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from continual.specs import ScenarioSpec, StrategySpec


@dataclass(frozen=True)
class Cell:
    """One run: a scenario, a strategy and a seed (a run is a pure function of these)."""

    scenario: ScenarioSpec
    strategy: StrategySpec
    seed: int
    tags: dict[str, Any] = field(default_factory=dict, compare=False)  # e.g. the ablation rung


def cells(
    scenario: ScenarioSpec, strategies: Sequence[StrategySpec], seeds: Iterable[int]
) -> list[Cell]:
    """Every strategy on every seed, strategy-major (the order a comparison table shows)."""
    seeds = list(seeds)
    return [Cell(scenario, s, seed) for s in strategies for seed in seeds]


StartHook = Callable[[Cell, int], Callable[[int], None] | None]
DoneHook = Callable[[Cell, dict[str, Any], Path], None]


def prepare(plan: Sequence[Cell], data_dir: str | None = None) -> list[int]:
    """Build every stream and strategy of ``plan`` once, before anything trains, so a bad value
    fails fast; return each cell's number of training steps (for progress bars)."""
    from continual import runner
    from continual.errors import ContinualError

    streams: dict[int, Any] = {}
    steps: dict[tuple[int, int], int] = {}
    planned = []
    for cell in plan:
        key = id(cell.scenario)
        if key not in streams:
            stream = streams[key] = runner.build_stream(cell.scenario, cell.seed, data_dir)
            if len(stream) == 0:
                raise ContinualError(f"scenario {cell.scenario.name!r} has no experiences")
        stream = streams[key]
        pair = (key, id(cell.strategy))
        if pair not in steps:
            strategy = runner.build_strategy(cell.strategy, stream, cell.seed)
            steps[pair] = runner.total_steps(cell.strategy, stream, strategy)
        planned.append(steps[pair])
    return planned


def execute(
    plan: Sequence[Cell],
    out: Path,
    *,
    device: str = "cpu",
    data_dir: str | None = None,
    steps: Sequence[int] | None = None,
    on_start: StartHook | None = None,
    on_done: DoneHook | None = None,
    quiet: bool = False,
) -> list[dict[str, Any]]:
    """Train every cell of ``plan`` in order and write its result into ``out``; return the result
    documents. ``steps`` are :func:`prepare`'s counts; ``on_start(cell, steps)`` may return a
    per-step progress callback."""
    from continual import runner
    from continual.results import result_path, write_json_atomic

    results = []
    counts = list(steps) if steps is not None else [0] * len(plan)
    for cell, count in zip(plan, counts):
        progress = on_start(cell, count) if on_start is not None else None
        result = runner.run(
            cell.scenario,
            cell.strategy,
            cell.seed,
            device=device,
            data_dir=data_dir,
            progress=progress,
        )
        if cell.tags:
            result["tags"] = dict(cell.tags)
        path = write_json_atomic(
            result_path(out, cell.scenario.name, cell.strategy.name, cell.seed), result
        )
        results.append(result)
        if on_done is not None:
            on_done(cell, result, path)
        if quiet:
            print(f"wrote {path}", file=sys.stderr)
    return results
