"""Every bound in one place: how large a setting, a run, a command and a file may be, and the
memory checks made before anything is allocated. A value beyond a bound is a typo or an attack,
not an experiment; a network, a replay buffer or a data file that would not fit in this
machine's memory ends in one clear message instead of an allocator error (possibly after an
experience had already trained). Pure Python: no torch.

The split with :mod:`continual.ranges`: this module holds the numbers; ``ranges`` holds the
range *types* that annotations use (``Width = Annotated[int, Range(1, MAX_WIDTH)]``) and the
checking of annotated values, built from these numbers. Drawing choices (how many points a
curve keeps in a figure) stay with the code that draws.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from continual.errors import ContinualError

# One setting (a spec value, an option of a learner or component, a command-line value).
MAX_MAGNITUDE = 1e15  # any float setting: past this, float32 training arithmetic overflows
MAX_WIDTH = 1_000_000  # units in one layer
MAX_COUNT = 1_000_000_000  # steps, samples, budgets
MAX_EPOCHS = 100_000
MAX_BATCH = 1_000_000  # samples in one training batch
MAX_EXPERIENCES = 1_000
MAX_SEED = 2**32 - 1
MAX_CLASSES = 100_000  # labels must lie in [0, MAX_CLASSES)

# One run, one command.
MAX_STEPS_PER_RUN = 100_000_000  # training steps of one run (about a day at 1 ms a step)
MAX_SEEDS = 10_000  # seeds of one command (a count of seeds, a grid's seeds)
MAX_CELLS = 10_000  # runs of one command (strategies x seeds, a grid's cells)
MAX_STEPS_PER_COMMAND = 10 * MAX_STEPS_PER_RUN  # training steps of all runs of one command
MAX_WORKERS = 1024  # worker processes of one command
MAX_THREADS = 1024  # torch threads per worker
MAX_RETRIES = 100  # a cell that failed this often fails for a reason a retry does not change
MAX_PER_CELL = 1024  # CPUs or GPUs one cell may ask of a Ray cluster

# Files read.
MAX_SPEC_BYTES = 1 << 20  # a spec is a screen of settings; 1 MiB is already absurd
MAX_SPEC_DEPTH = 32  # brackets and braces nested deeper than this are not a spec
MAX_RESULT_BYTES = 64 << 20  # a result file larger than this is not one of ours
MAX_RESULT_DEPTH = 32  # a result file nests 5 deep
MAX_TEXT = 10_000  # characters of a name or id in a result file
MAX_INTEGER = 2**63  # |an integer| a report turns into a float
MAX_TABLE_DEPTH = 8  # nesting of a result's cost, timing and tag tables
MAX_CIFAR_BYTES = 1 << 30  # a CIFAR batch is ~30 MiB, CIFAR-100's train file ~150 MiB

# Memory.
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
