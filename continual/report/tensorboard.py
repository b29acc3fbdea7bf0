"""TensorBoard event files (optional, ``--tensorboard``): per run, the anytime accuracy of each
experience and its average against training steps, and the final metrics. Needs the
``tensorboard`` package; nothing here logs in or goes online."""

from __future__ import annotations

from pathlib import Path

from continual.errors import ContinualError
from continual.report.aggregate import Result
from continual.results import safe_name


def write_events(results: list[Result], folder: Path) -> Path:
    """One event-file folder per run, ``folder/STRATEGY/seedN``; returns ``folder``."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ContinualError(
            "TensorBoard event files need the tensorboard package: pip install tensorboard"
        ) from None
    for result in results:
        name = safe_name(result["strategy"]["name"])  # never a path: "..", "/"
        with SummaryWriter(str(folder / name / f"seed{result['seed']}")) as writer:
            curves = result["curves"]
            for step, accuracy in zip(curves["step"], curves["accuracy"]):
                for j, value in enumerate(accuracy):
                    writer.add_scalar(f"accuracy/experience_{j}", value, step)
                writer.add_scalar("accuracy/average", sum(accuracy) / len(accuracy), step)
            for key, value in result["metrics"].items():
                if value is not None:
                    writer.add_scalar(f"final/{key}", value, curves["step"][-1])
    return folder
