"""Avalanche bridge: our components as Avalanche plugins, our local learners as Avalanche
strategies, streams converted both ways, our result file written from an Avalanche run, and
checkpoints of such a run.

Importing ``continual.avalanche`` only checks that Avalanche is installed; Avalanche itself
(about 10 s to import) loads when one of the names below is first used. Nothing else in the
library imports Avalanche.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from continual.errors import ContinualError

INSTALL = "pip install 'continual[avalanche]'"


def require_avalanche() -> None:
    """Raise one clear ContinualError when the ``avalanche`` extra is not installed."""
    try:
        found = importlib.util.find_spec("avalanche") is not None
    except (ImportError, ValueError, AttributeError):  # e.g. sys.modules["avalanche"] = None
        found = False
    if not found:
        raise ContinualError(
            f"the Avalanche bridge needs avalanche-lib, which is not installed: run {INSTALL}"
        )


require_avalanche()

_EXPORTS = {
    "ComponentPlugin": "plugins",
    "HebbianConsolidationPlugin": "plugins",
    "SpikingSleepPlugin": "plugins",
    "ReplaySleepPlugin": "plugins",
    "ModuleLearner": "model",
    "LearnerStrategy": "strategy",
    "refuse_loss_plugins": "strategy",
    "to_stream": "streams",
    "to_benchmark": "streams",
    "dataset_tensors": "streams",
    "ResultsPlugin": "results",
    "matrix_from_avalanche": "matrix",
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'continual.avalanche' has no attribute {name!r}")
    module = importlib.import_module(f"continual.avalanche.{_EXPORTS[name]}")
    return getattr(module, name)
