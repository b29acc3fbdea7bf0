"""Result documents grouped by strategy and summarised over seeds with
:mod:`continual.statistics`: every metric, every cell of the accuracy and forgetting
matrices, costs, and paired differences between strategies run on the same seeds."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np

from continual.errors import ConfigError
from continual.statistics import Estimate, Paired, estimate, paired

Result = dict[str, Any]


def format_estimate(
    value: Estimate | None,
    scale: float = 100.0,
    unit: str = "",
    digits: int = 1,
    spread: Literal["ci", "std"] = "ci",
) -> str:
    """'mean ± half-width of the 95 % CI' (or ± the sample std with ``spread="std"``; just the
    mean for one seed, '—' for none), scaled (percent by default)."""
    if value is None:
        return "—"
    text = f"{value.mean * scale:.{digits}f}"
    half = value.half_width if spread == "ci" else (value.std if value.n > 1 else None)
    if half is not None:
        text += f" ± {half * scale:.{digits}f}"
    return text + unit


def format_difference(difference: dict[str, Any] | None, brackets: bool = True) -> str:
    """A paired difference of a ladder summary (:mod:`continual.report.ladder`) in percentage
    points: '+3.1 [+1.2,+5.0]*', the mean and its paired-t interval (``brackets=False``:
    '+3.1±1.9*', the same symmetric interval as mean ± half-width, for 80 columns); * when it is
    distinguishable from zero (Holm-adjusted p < 0.05 and a spread), a space when not; just the
    mean for one seed, '—' for none."""
    if difference is None:
        return "—"
    text = f"{difference['mean'] * 100:+.1f}"
    low, high = difference.get("low"), difference.get("high")
    if low is not None and high is not None:
        if brackets:
            text += f" [{low * 100:+.1f},{high * 100:+.1f}]"
        else:
            text += f"±{(high - low) * 50:.1f}"
    return text + ("*" if difference.get("distinguishable") else " ")


def format_mean(value: dict[str, Any] | None) -> str:
    """The mean of an estimate of a ladder summary in percent ('91.0'), '—' for none."""
    return "—" if value is None else f"{value['mean'] * 100:.1f}"


def by_strategy(results: Iterable[Result]) -> dict[str, list[Result]]:
    """Results grouped by strategy, in first-seen order. A group is one strategy configuration on
    one scenario, never a mix: where one name covers several scenarios the label gets
    `` @SCENARIO``, where it covers several configurations `` #HASH`` (of the strategy config)."""
    results = list(results)
    keys = [
        (
            r["strategy"]["name"],
            str(r.get("scenario", {}).get("name")),
            _digest(r["strategy"]),
        )
        for r in results
    ]
    scenarios: dict[str, set[str]] = {}
    configs: dict[tuple[str, str], set[str]] = {}
    for name, scenario, config in keys:
        scenarios.setdefault(name, set()).add(scenario)
        configs.setdefault((name, scenario), set()).add(config)
    groups: dict[str, list[Result]] = {}
    for result, (name, scenario, config) in zip(results, keys):
        label = name
        if len(scenarios[name]) > 1:
            label += f" @{scenario}"
        if len(configs[(name, scenario)]) > 1:
            label += f" #{config}"
        groups.setdefault(label, []).append(result)
    return groups


def _digest(strategy: dict[str, Any]) -> str:
    text = json.dumps(strategy, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def lookup(result: Result, path: str) -> Any:
    """A value by dotted path (``"metrics.forgetting"``, ``"cost.flops.train"``), None if absent."""
    value: Any = result
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def over_seeds(group: list[Result], path: str) -> Estimate | None:
    """The estimate over seeds of the value at ``path`` (see :func:`lookup`)."""
    return estimate(lookup(r, path) for r in group)


def metric(group: list[Result], name: str) -> Estimate | None:
    return over_seeds(group, f"metrics.{name}")


def timing(group: list[Result], phase: str = "total") -> Estimate | None:
    return over_seeds(group, f"timings.{phase}")


def forgetting_matrix(R: Any) -> np.ndarray:
    """F[i, j] = max_{1 ≤ l ≤ i} R[l, j] − R[i, j] for j < i (the drop from the best accuracy on
    experience j so far to the one after training experience i, Chaudhry et al. 2018); NaN where
    j ≥ i (not yet learned) and for the untrained row 0. Rows and columns as in ``R``."""
    R = np.asarray(R, dtype=np.float64)
    F = np.full_like(R, np.nan)
    for i in range(2, R.shape[0]):
        for j in range(min(i - 1, R.shape[1])):
            F[i, j] = R[1 : i + 1, j].max() - R[i, j]
    return F


def probed(group: list[Result]) -> list[Result]:
    """The runs of ``group`` that carry a representation probe matrix."""
    return [r for r in group if (r.get("probe") or {}).get("matrix")]


def most_common(values: list[Any]) -> Any:
    """The value most runs share, the larger on a tie (complete runs over a diverged one's
    partial rows): which seeds a group's matrices and curves are drawn from."""
    return max(set(values), key=lambda value: (values.count(value), value))


def matrix_estimates(group: list[Result], kind: str = "accuracy") -> list[list[Estimate | None]]:
    """Cell-wise estimates over seeds of the accuracy matrix (``kind="accuracy"``), of the
    forgetting matrix, or of the representation probe's matrix (``kind="probe"``, from the runs
    that have one). Runs whose matrix has another shape than most runs' (the larger shape on a
    tie: complete runs over a diverged one's partial rows) are left out."""
    if kind == "probe":
        matrices = [np.asarray(r["probe"]["matrix"], dtype=np.float64) for r in probed(group)]
    else:
        matrices = [np.asarray(r["accuracy_matrix"], dtype=np.float64) for r in group]
    shape = most_common([m.shape for m in matrices])
    matrices = [m for m in matrices if m.shape == shape]
    if kind == "forgetting":
        matrices = [forgetting_matrix(m) for m in matrices]
    stack = np.stack(matrices)
    return [
        [
            estimate(None if np.isnan(v) else float(v) for v in stack[:, i, j])
            for j in range(shape[1])
        ]
        for i in range(shape[0])
    ]


def per_seed(group: list[Result], path: str) -> dict[int, float | None]:
    return {int(r["seed"]): lookup(r, path) for r in group}


def paired_difference(a: list[Result], b: list[Result], path: str) -> Paired | None:
    """Paired difference a − b of the value at ``path`` over the seeds both groups ran."""
    return paired(per_seed(a, path), per_seed(b, path))


DEFAULT_REFERENCES = ("finetune", "naive")  # the lower bound, by our name and Avalanche's


def reference_strategy(groups: dict[str, list[Result]], requested: str | None = None) -> str:
    """What paired differences are taken against: ``requested`` when given,
    else ``finetune`` when present (the lower bound), else ``naive`` (Avalanche's name for it),
    else the first strategy name in alphabetical order."""
    if requested is not None:
        if requested not in groups:
            raise ConfigError(
                f"reference {requested}: no such strategy in these results; choose one of "
                + ", ".join(sorted(groups)),
                field="reference",
            )
        return requested
    found = [name for name in DEFAULT_REFERENCES if name in groups]
    return found[0] if found else min(groups)
