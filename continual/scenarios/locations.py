"""Where the standard datasets' files live (torchvision's on-disk layout), without importing
torch: ``continual list`` uses it to say which presets are ready on this machine."""

from __future__ import annotations

import os
from pathlib import Path

from continual.errors import ContinualError

ENVIRONMENT = "CONTINUAL_DATA"

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}
CIFAR_FOLDERS = {
    "cifar10": ("cifar-10-batches-py", "test_batch"),
    "cifar100": ("cifar-100-python", "test"),
}


def resolve_data_dir(override: str | None = None) -> Path:
    """``--data-dir``, else ``$CONTINUAL_DATA``, else ``~/.cache/continual``."""
    return Path(override or os.environ.get(ENVIRONMENT) or Path.home() / ".cache" / "continual")


def find(folder: Path, name: str) -> Path | None:
    """``folder/name`` or its gzipped form, whichever exists."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        try:
            if candidate.is_file():
                return candidate
        except OSError as error:
            raise ContinualError(
                f"{folder}: cannot be read ({error.strerror}); check its permissions"
            ) from None
    return None


def readable(root: str | None = None) -> bool:
    """Whether the data folder is absent or can be listed and entered."""
    base = resolve_data_dir(root)
    try:
        return not base.exists() or os.access(base, os.R_OK | os.X_OK)
    except OSError:  # a folder above it cannot be entered (Permission denied), a name too long
        return False


def ready(name: str, root: str | None = None) -> bool:
    """Whether the files of dataset ``name`` are present (embedded datasets always are)."""
    base = resolve_data_dir(root)
    try:
        if name in IDX_FOLDERS:
            folder = base / IDX_FOLDERS[name] / "raw"
            return all(find(folder, f) for pair in IDX_FILES.values() for f in pair)
        if name in CIFAR_FOLDERS:
            folder, last = CIFAR_FOLDERS[name]
            return (base / folder / last).is_file()
    except (OSError, ContinualError):
        return False
    return True
