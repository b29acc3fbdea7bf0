"""Avalanche's accuracy log as our accuracy matrix, so our metrics (and report) apply to any
Avalanche run evaluated with ``accuracy_metrics(experience=True)``.

Avalanche logs ``Top1_Acc_Exp/eval_phase/test_stream[/Task<t>]/Exp<j>`` once per evaluation. When
the test stream is evaluated once after each training experience (and optionally once before
training), the i-th logged value of experience j is ``R[i, j]``. Avalanche's "forgetting" of j
is then ``R[j, j] − R[T, j]`` and its stream forgetting the mean over j < T, which equals our
``forgetting_since_learned`` (= −BWT); our ``forgetting`` is Chaudhry et al.'s
``max_l R[l, j] − R[T, j]``, which differs when accuracy on j peaked after it was learned.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from continual.errors import ContinualError

KEY = re.compile(r"^Top1_Acc_Exp/eval_phase/(?P<stream>[^/]+)(?:/Task\d+)?/Exp(?P<exp>\d+)$")


def matrix_from_avalanche(
    logged: Mapping[str, Any], experiences: int, stream: str = "test_stream"
) -> list[list[float]]:
    """Our ``(T + 1) × T`` matrix from ``EvaluationPlugin.get_all_metrics()``; row 0 (before
    training) is NaN unless the stream was also evaluated once before training. No metric of
    :mod:`continual.evaluation.metrics` reads row 0."""
    columns: dict[int, list[float]] = {}
    for key, value in logged.items():
        match = KEY.match(key)
        if match and match["stream"] == stream:
            columns[int(match["exp"])] = [float(v) for v in value[1]]
    if sorted(columns) != list(range(experiences)):
        raise ContinualError(
            f"Avalanche logged experience accuracies for {sorted(columns)} on {stream}, expected "
            f"0..{experiences - 1}: add accuracy_metrics(experience=True) to the EvaluationPlugin "
            "and evaluate the whole test stream"
        )
    counts = sorted({len(v) for v in columns.values()})
    if len(counts) != 1 or counts[0] not in (experiences, experiences + 1):
        raise ContinualError(
            f"expected {experiences} evaluations of every experience (one after each training "
            f"experience, optionally one before training), found counts {counts}"
        )
    rows = [list(r) for r in zip(*(columns[j] for j in range(experiences)))]
    if len(rows) == experiences:
        rows.insert(0, [math.nan] * experiences)
    return rows
