"""Size and memory limits checked before anything is allocated: a network, a replay buffer or a
data file that would not fit in this machine's memory ends in one clear message instead of an
allocator error (possibly after an experience had already trained). Pure Python: no torch."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from continual.errors import ContinualError

MAX_CLASSES = 100_000  # labels must lie in [0, MAX_CLASSES)
MAX_STEPS_PER_RUN = 100_000_000  # training steps of one run (about a day at 1 ms a step)
MAX_SEEDS = 10_000  # seeds of one command (--seeds, a grid's seeds)
MAX_CELLS = 10_000  # runs of one command (strategies x seeds, a grid's cells)
MAX_STEPS_PER_COMMAND = 10 * MAX_STEPS_PER_RUN  # training steps of all runs of one command
FLOAT_BYTES = 4
# Copies of every weight a run may hold: the weight, its update (p.grad), two Adam moments,
# and a consolidation anchor and importance.
STATE_COPIES = 6


def available_memory() -> int:
    """Bytes this machine can still give (``MemAvailable``), or its physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 1 << 40


def human(size: float) -> str:
    """Bytes as a person reads them: 1.5 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    raise AssertionError  # pragma: no cover


def check_bytes(what: str, size: int, hint: str = "") -> None:
    """Refuse ``what`` when it needs more than the memory available now."""
    free = available_memory()
    if size > free:
        raise ContinualError(
            f"{what} needs about {human(size)} of memory but {human(free)} is available"
            + (f"; {hint}" if hint else "")
        )


def check_cells(count: int, what: str = "this command") -> None:
    """Refuse a command of more than ``MAX_CELLS`` runs, counted before any is built."""
    if count > MAX_CELLS:
        raise ContinualError(
            f"{what} has {count:,} runs, more than one command may take ({MAX_CELLS:,}); "
            "use fewer seeds, strategies or parameter values, or split it"
        )


def network_parameters(sizes: Sequence[int]) -> int:
    """Weights and biases of a chain of fully connected layers of these widths."""
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))


def check_learner(
    name: str, hidden: Sequence[int], input_shape: Sequence[int], classes: int
) -> None:
    """Refuse a network whose weights and their optimiser and consolidation copies cannot fit."""
    features = math.prod(input_shape)
    first = features + classes if name == "ff" else features  # FF puts the label in the input
    weights = network_parameters([first, *hidden, classes])
    check_bytes(
        f"the {name} learner ({weights:,} weights)",
        weights * FLOAT_BYTES * STATE_COPIES,
        "use fewer or narrower hidden layers",
    )


def check_buffer(name: str, budget: int, input_shape: Sequence[int]) -> None:
    """Refuse a sample buffer of ``budget`` inputs that cannot fit."""
    check_bytes(
        f"the {name} buffer ({budget:,} samples)",
        budget * math.prod(input_shape) * FLOAT_BYTES,
        "lower its budget",
    )
