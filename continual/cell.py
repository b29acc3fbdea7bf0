"""A cell — one (scenario, strategy, seed) — and the function that runs it: the leaf of the
drivers. The drivers (:mod:`continual.execution` in this process or a local pool,
:mod:`continual.sweep` on a pool or Ray) and a pool's workers all import this module and nothing
of each other, so no import cycle runs through the workers."""

from __future__ import annotations

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

    @property
    def run_id(self) -> str:
        """The hash of the resolved configuration and seed that names the result file."""
        from continual.runner import run_id
        from continual.specs import scenario_to_dict

        config = {"scenario": scenario_to_dict(self.scenario), "strategy": self.strategy.to_dict()}
        return run_id(config, self.seed)


def cells(
    scenario: ScenarioSpec, strategies: Sequence[StrategySpec], seeds: Iterable[int]
) -> list[Cell]:
    """Every strategy on every seed, strategy-major (the order a comparison table shows).
    Repeated seeds count once; two different strategies may not share a name (the table and
    the result files tell strategies apart by name)."""
    from continual.errors import ContinualError
    from continual.limits import check_cells

    seeds = list(dict.fromkeys(seeds))
    check_cells(len(strategies) * len(seeds))
    unique: dict[str, StrategySpec] = {}
    for strategy in strategies:
        other = unique.setdefault(strategy.name, strategy)
        if other.to_dict() != strategy.to_dict():
            raise ContinualError(
                f"two different strategies are both named {strategy.name!r} "
                f"({other.learner.origin} and {strategy.learner.origin}); rename one file"
            )
    return [Cell(scenario, s, seed) for s in unique.values() for seed in seeds]


StartHook = Callable[[Cell, int], Callable[[int], None] | None]
CHECKPOINTS = "checkpoints"  # the folder inside ``out`` where unfinished runs keep their state
DoneHook = Callable[[Cell, dict[str, Any], Path], None]


def cell_id(cell: Cell) -> str:
    """The cell's run id: a hash of its resolved config and seed (equal ids, equal runs)."""
    return cell.run_id


def run_cell(
    cell: Cell,
    out: Path,
    *,
    device: str = "cpu",
    data_dir: str | None = None,
    progress: Callable[[int], None] | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    cache: dict[Any, Any] | None = None,
) -> dict[str, Any]:
    """Train one cell and return its result document (nothing written but its checkpoint,
    kept under ``out/checkpoints`` unless ``checkpoint_every`` is None). A run that diverges
    raises :class:`~continual.errors.Diverged` carrying its partial result, tagged."""
    from contextlib import nullcontext

    from continual import runner
    from continual.checkpoint import Checkpointing, checkpoint_path, locked, prepare_folder
    from continual.errors import Diverged

    checkpoint, guard = None, nullcontext()
    if checkpoint_every is not None:
        prepare_folder(Path(out) / CHECKPOINTS)
        path = checkpoint_path(Path(out) / CHECKPOINTS, cell_id(cell))
        checkpoint, guard = Checkpointing(path, checkpoint_every, resume), locked(path)
    try:
        with guard:
            result = runner.run(
                cell.scenario,
                cell.strategy,
                cell.seed,
                device=device,
                data_dir=data_dir,
                progress=progress,
                cache=cache,
                checkpoint=checkpoint,
            )
    except Diverged as error:
        if cell.tags and error.result is not None:
            error.result["tags"] = dict(cell.tags)
        raise
    if cell.tags:
        result["tags"] = dict(cell.tags)
    return result


def finish(cell: Cell, result: dict[str, Any], out: Path) -> Path:
    """Write the cell's result file atomically, then drop its checkpoint; return the path."""
    from continual.checkpoint import checkpoint_path, remove
    from continual.results import result_path, write_json_atomic

    path = write_json_atomic(
        result_path(out, cell.scenario.name, cell.strategy.name, cell.seed, cell.run_id), result
    )
    remove(checkpoint_path(Path(out) / CHECKPOINTS, result["run_id"]))
    return path
