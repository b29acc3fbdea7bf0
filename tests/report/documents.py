"""A valid result document made by hand (no training), for tests of reading and rendering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def document(
    run_id: str = "r0", strategy: str = "finetune", seed: int = 0, scenario: str = "syn", **extra
) -> dict[str, Any]:
    """A complete two-experience result as ``continual run`` writes it (the fields reports
    read), with ``extra`` fields replacing the defaults."""
    shift = 0.01 * seed if isinstance(seed, int) and seed < 10 else 0.0  # seeds differ a little
    doc = {
        "schema_version": 1,
        "run_id": run_id,
        "status": "complete",
        "scenario": {"name": scenario, "dataset": {"name": "synthetic"}},
        "strategy": {"name": strategy, "learner": {"name": "backprop", "lr": 1e-3}},
        "seed": seed,
        "stream": {"name": "class-incremental synthetic"},
        "environment": {"continual": "0.1.0", "python": "3.11", "device": "cpu"},
        "accuracy_matrix": [[0.1, 0.2], [0.9, 0.1], [0.5 + shift, 0.8]],
        "metrics": {"average_accuracy": 0.65 + shift / 2, "forgetting": 0.4 - shift},
        "curves": {
            "step": [0, 2, 4],
            "accuracy": [[0.1, 0.2], [0.9, 0.1], [0.5, 0.8]],
            "experience_end_steps": [2, 4],
        },
        "cost": {"flops": {"train": 1e6}, "flops_total": 2e6, "energy_assumption": "estimate"},
        "robustness": {"noise": [], "fgsm": []},
        "timings": {"train": 0.5, "total": 1.0},
        "memory": {"peak_rss_mib": 100.0, "peak_cuda_mib": None},
    }
    doc.update(extra)
    return doc


def save(folder: Path, doc: dict[str, Any], name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{doc['strategy']['name']}__seed{doc['seed']}__{doc['run_id']}.json")
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
