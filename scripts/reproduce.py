"""The reproduction suite: every row of ``reproductions/suite.toml`` (a paper, its protocol as a
strategy spec, the published number, a tolerance) run on the data given, with its verdict, into
``docs/reproductions.md`` and ``OUT/reproductions.json`` (config, seeds, versions, per-seed values).

    python scripts/reproduce.py --dataset ../shared/data/mnist-dev.npz [--seeds 10] [ROW ...]
    python scripts/reproduce.py --data-dir /data/torchvision      # the full MNIST files
    python scripts/reproduce.py --render-only --dataset ...       # rebuild the Markdown only

Accuracy rows report the final average accuracy (ACC = mean_j R[T, j], %) over seeds, mean and
95 % Student-t interval; gain rows the paired per-seed difference strategy − control (points),
paired t interval; the verdict is "reproduced" when |mean − published| <= the row's tolerance,
"missed" otherwise (with the row's stated reason when one is known), "reference" for a row
without a published number. Exactness rows compute a check instead of training. Runs go through
the same driver as ``continual run`` (finished runs in OUT are reused).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "reproductions" / "suite.toml"
KINDS = ("accuracy", "gain", "exactness")
FIELDS = {
    "name", "paper", "protocol", "kind", "strategy", "control", "experiences", "published",
    "published_detail", "tolerance", "why", "check",
}  # fmt: skip


class SuiteError(Exception):
    """A malformed suite file: which row and which field."""


@dataclass(frozen=True)
class Row:
    """One published number and how to reproduce it."""

    name: str
    paper: str
    protocol: str
    kind: str
    tolerance: float
    strategy: str | None = None
    control: str | None = None
    experiences: int | None = None
    published: float | None = None
    published_detail: str = ""
    why: str = ""
    check: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def strategy_path(self, reference: str) -> str:
        """A preset name as it is; a path relative to the project root made absolute."""
        return str(ROOT / reference) if reference.endswith(".toml") else reference


def load_suite(path: Path = SUITE) -> tuple[str, list[Row]]:
    """The suite's scenario and its rows, every field checked."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SuiteError(f"{path}: {error}") from None
    scenario = document.get("scenario")
    if not isinstance(scenario, str):
        raise SuiteError(f"{path}: 'scenario' (a scenario preset name) is missing")
    rows, names = [], set()
    for number, values in enumerate(document.get("row", []), 1):
        where = f"{path}: row {number} ({values.get('name', '?')})"
        unknown = set(values) - FIELDS
        if unknown:
            raise SuiteError(f"{where}: unknown field(s) {sorted(unknown)}")
        for key in ("name", "paper", "protocol", "kind"):
            if not isinstance(values.get(key), str) or not values[key]:
                raise SuiteError(f"{where}: '{key}' must be a non-empty string")
        if values["kind"] not in KINDS:
            raise SuiteError(f"{where}: kind must be one of {KINDS}")
        if values["name"] in names:
            raise SuiteError(f"{where}: the name is used twice")
        names.add(values["name"])
        needs = {
            "accuracy": ("strategy",),
            "gain": ("strategy", "control"),
            "exactness": ("check",),
        }
        for key in needs[values["kind"]]:
            if not isinstance(values.get(key), str):
                raise SuiteError(f"{where}: a {values['kind']} row needs '{key}'")
        if values["kind"] != "accuracy" and "published" not in values:
            raise SuiteError(f"{where}: a {values['kind']} row needs 'published'")
        tolerance = values.get("tolerance", 0.0)
        if not isinstance(tolerance, (int, float)) or tolerance < 0:
            raise SuiteError(f"{where}: tolerance must be a non-negative number")
        rows.append(Row(**{**values, "tolerance": float(tolerance)}))
    if not rows:
        raise SuiteError(f"{path}: no [[row]]")
    return scenario, rows


def verdict(mean: float | None, published: float | None, tolerance: float) -> str:
    """'reproduced' when |mean − published| <= tolerance, 'missed' otherwise; 'reference' for a
    row without a published number, 'not run' without a value."""
    if mean is None:
        return "not run"
    if published is None:
        return "reference"
    return "reproduced" if abs(mean - published) <= tolerance else "missed"


# -- computed checks ------------------------------------------------------------------------


def pc_exact(x: Any, y: Any) -> float:
    """Largest |predictive coding's exact-mode update − autograd's gradient| over all weights and
    biases of a 784-128-128-128-10 GELU network in float64 on the batch ``(x, y)`` (Song et al.
    2020): the loss is ½‖onehot(y) − ŷ‖², batch mean, which the exact mode's updates equal."""
    import torch
    import torch.nn.functional as F

    from continual.learners.predictive_coding import PredictiveCoding

    torch.manual_seed(0)
    x = x.flatten(1).double()
    learner = PredictiveCoding(
        x.shape[1], 10, hidden=(128, 128, 128), activation="gelu", mode="exact"
    ).double()
    learner.zero_update()
    learner.local_update(x, y, None)
    learner.fill_update()
    ours = [p.grad.detach().clone() for p in learner.parameters()]
    learner.zero_update()
    out = learner.feedforward(x)[-1]
    loss = 0.5 * (F.one_hot(y, 10).to(out.dtype) - out).square().sum(1).mean()
    loss.backward()
    return max(float((a - p.grad).abs().max()) for a, p in zip(ours, learner.parameters()))


def exactness(row: Row, dataset: str | None) -> dict[str, Any]:
    import numpy as np
    import torch

    if row.check != "pc-exact":
        raise SuiteError(f"row {row.name}: unknown check {row.check!r} (known: pc-exact)")
    if dataset is not None:
        with np.load(dataset, allow_pickle=False) as data:
            x = torch.from_numpy(data["x_train"][:64].astype("float64") / 255.0)
            y = torch.from_numpy(data["y_train"][:64].astype("int64"))
    else:  # no file given: standard-normal inputs of MNIST's size
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(64, 784, generator=generator, dtype=torch.float64)
        y = torch.randint(0, 10, (64,), generator=generator)
    difference = pc_exact(x, y)
    return {"value": difference, "low": None, "high": None, "n": 1, "per_seed": {}}


# -- training rows --------------------------------------------------------------------------


def run_row(
    row: Row,
    scenario_name: str,
    dataset: str | None,
    data_dir: str | None,
    seeds: Sequence[int],
    out: Path,
    workers: int,
    render_only: bool,
) -> dict[str, Any]:
    """Train (or, with ``render_only``, only read) the row's runs; return its numbers."""
    from continual import execution, specs
    from continual.statistics import estimate, paired

    scenario = specs.with_overrides(specs.load_scenario(scenario_name), dataset, row.experiences)
    references = [row.strategy] + ([row.control] if row.control else [])
    strategies = [specs.load_strategy(row.strategy_path(r)) for r in references]  # type: ignore[arg-type]
    plan = execution.cells(scenario, strategies, seeds)
    folder = out / row.name
    if render_only:
        from continual.results import finished

        results = [finished(c.result_path(folder), c.run_id) for c in plan]
        results = [r for r in results if r is not None]
    else:
        cache: dict[Any, Any] = {}
        steps = execution.prepare(plan, data_dir, cache)
        job = execution.Job(folder, data_dir=data_dir)
        backend = execution.local_backend(workers, cache)
        results = execution.drive(plan, backend, job, steps=steps, on_event=_said).results
    values: dict[str, dict[int, float | None]] = {s.name: {} for s in strategies}
    for result in results:
        if result.get("status", "complete") == "complete":
            accuracy = result["metrics"].get("average_accuracy")
            values[result["strategy"]["name"]][result["seed"]] = (
                None if accuracy is None else 100.0 * accuracy
            )
    main = values[strategies[0].name]
    if row.kind == "gain":
        control = values[strategies[1].name]
        difference = paired(main, control)
        numbers = {
            "strategy": estimate(main.values()),
            "control": estimate(control.values()),
            "gain": None if difference is None else difference.difference,
        }
        shown = numbers["gain"]
    else:
        numbers = {"strategy": estimate(main.values())}
        shown = numbers["strategy"]
    return {
        "value": None if shown is None else shown.mean,
        "low": None if shown is None else shown.low,
        "high": None if shown is None else shown.high,
        "n": 0 if shown is None else shown.n,
        "strategy_mean": None if numbers["strategy"] is None else numbers["strategy"].mean,
        "control_mean": (
            None if numbers.get("control") is None else numbers["control"].mean  # type: ignore[union-attr]
        ),
        "per_seed": {
            name: {str(k): v for k, v in seeds_.items()} for name, seeds_ in values.items()
        },
        "configs": {s.name: s.to_dict() for s in strategies},
    }


# -- rendering ------------------------------------------------------------------------------


def _said(event: Any) -> None:
    """The driver's events as the lines ``continual run --quiet`` prints."""
    if event.kind == "kept":
        print(f"kept {event.path} (already computed)", file=sys.stderr)
    elif event.kind == "wrote":
        print(f"wrote {event.path}", file=sys.stderr)
    elif event.kind == "diverged":
        print(f"error: {event.message}", file=sys.stderr)


def _number(value: float | None, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "exactness":
        return f"{value:.1e}"
    return f"{value:+.1f}" if kind == "gain" else f"{value:.1f}"


def render(rows: list[Row], numbers: dict[str, dict[str, Any]], data: str, command: str) -> str:
    """The Markdown table of the suite: one row per reproduction, with its verdict."""
    lines = [
        "# Reproductions",
        "",
        "Each row: a published number, the paper's protocol as a strategy spec "
        "(`reproductions/`, or a preset), our number on the data below (mean and 95 % interval "
        "over seeds; gains paired per seed), the tolerance and the verdict: *reproduced* when "
        "|ours − published| ≤ tolerance, *missed* otherwise (with the reason where known), "
        "*reference* where no published number fits the protocol.",
        "",
        f"Data: {data}. Regenerate: `{command}`.",
        "",
        "| row | paper | protocol | published | ours (95 % CI) | n | tolerance | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    notes = []
    for row in rows:
        got = numbers.get(row.name, {})
        value = got.get("value")
        shown = _number(value, row.kind)
        if got.get("low") is not None:
            shown += f" [{_number(got['low'], row.kind)}, {_number(got['high'], row.kind)}]"
        if row.kind == "gain" and got.get("strategy_mean") is not None:
            shown += f" ({got['control_mean']:.1f} → {got['strategy_mean']:.1f} %)"
        published = "—" if row.published is None else _number(row.published, row.kind)
        if row.published_detail:
            published += f" ({row.published_detail})"
        tolerance = f"{row.tolerance:g}" if row.kind == "exactness" else f"±{row.tolerance:g}"
        tolerance = "—" if row.published is None else tolerance
        outcome = verdict(value, row.published, row.tolerance)
        if outcome == "missed" and row.why:
            notes.append(f"- **{row.name}** missed: {row.why}.")
        lines.append(
            f"| {row.name} | {row.paper} | {row.protocol} | {published} | {shown} | "
            f"{got.get('n', 0)} | {tolerance} | {outcome} |"
        )
    if notes:
        lines += ["", "Why rows miss:", "", *notes]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", nargs="*", metavar="ROW", help="rows to run (default: all)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="an .npz with x_train y_train x_test y_test (MNIST)")
    source.add_argument("--data-dir", help="where the full MNIST files are")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default: 10)")
    parser.add_argument("--out", type=Path, default=Path("results/reproductions"))
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "reproductions.md")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--render-only", action="store_true", help="train nothing")
    args = parser.parse_args(argv)

    from continual import runner
    from continual.errors import ContinualError
    from continual.results import write_atomic, write_json_atomic

    try:
        scenario, rows = load_suite()
        unknown = set(args.rows) - {r.name for r in rows}
        if unknown:
            raise SuiteError(f"unknown row(s) {sorted(unknown)}; known: {[r.name for r in rows]}")
        if not 1 <= args.seeds <= 1000:
            raise SuiteError("--seeds must be between 1 and 1000")
        chosen = [r for r in rows if not args.rows or r.name in args.rows]
        seeds = list(range(args.seeds))
        summary_path = args.out / "reproductions.json"
        kept: dict[str, Any] = {}
        if summary_path.is_file():
            kept = json.loads(summary_path.read_text(encoding="utf-8")).get("rows", {})
        for row in chosen:
            print(f"reproduce: {row.name}", file=sys.stderr)
            if row.kind == "exactness":
                kept[row.name] = exactness(row, args.dataset)
            else:
                kept[row.name] = run_row(
                    row, scenario, args.dataset, args.data_dir, seeds, args.out, args.workers,
                    args.render_only,
                )  # fmt: skip
            kept[row.name]["verdict"] = verdict(
                kept[row.name]["value"], row.published, row.tolerance
            )
    except (SuiteError, ContinualError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    data = (
        f"`{Path(args.dataset).name}` ({args.dataset})"
        if args.dataset
        else f"MNIST files in {args.data_dir}"
    )
    if args.dataset and Path(args.dataset).name == "mnist-dev.npz":
        data = "the MNIST development set `mnist-dev.npz` (real MNIST: 2,000 train / 500 test)"
    source_flag = f"--dataset {args.dataset}" if args.dataset else f"--data-dir {args.data_dir}"
    command = f"python scripts/reproduce.py {source_flag} --seeds {args.seeds}"
    write_json_atomic(
        summary_path,
        {
            "kind": "reproductions",
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "data": data,
            "seeds": seeds,
            "environment": runner.environment("cpu"),
            "suite": str(SUITE.relative_to(ROOT)),
            "rows": kept,
        },
    )
    text = render(rows, kept, data, command)
    write_atomic(args.doc, lambda stream: stream.write(text))
    print(f"written: {args.doc} and {summary_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
