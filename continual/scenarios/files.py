"""Data sources that read files: the user's ``.npz`` and the standard datasets in the on-disk
layout torchvision downloads (``MNIST/raw``, ``FashionMNIST/raw``, ``KMNIST/raw``: IDX files;
``cifar-10-batches-py``, ``cifar-100-python``: pickled batches). Nothing here downloads: with no
files, the error says where they were looked for and how to get them.

The data folder is ``--data-dir``, else ``$CONTINUAL_DATA``, else ``~/.cache/continual``.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

from continual.errors import ContinualError
from continual.scenarios.experience import LabelledData
from continual.scenarios.locations import (
    CIFAR_FOLDERS,
    ENVIRONMENT,
    IDX_FILES,
    IDX_FOLDERS,
    find,
    resolve_data_dir,
)
from continual.scenarios.validate import labelled


def npz(*, path: str) -> LabelledData:
    """The user's own data: a ``.npz`` file with arrays ``x_train, y_train, x_test, y_test``
    (images N×H×W or N×H×W×C, uint8 or float, or flat N×D)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ContinualError(
            f"{file}: no such file (expected a .npz with x_train, y_train, x_test, y_test)"
        )
    try:
        with np.load(file, allow_pickle=False) as arrays:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays]
            if missing:
                raise ContinualError(
                    f"{file}: missing array(s) {', '.join(missing)} "
                    f"(found: {', '.join(arrays.files) or 'none'})"
                )
            parts = {k: arrays[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except (OSError, ValueError) as error:
        raise ContinualError(f"{file}: not a readable .npz file ({error})") from None
    return labelled(file.stem, **parts, where=str(file))


# -- IDX (MNIST, Fashion-MNIST, KMNIST) ---------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped): magic, dimensions, then unsigned bytes."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        data = stream.read()
    zero, kind, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or kind != 0x08:
        raise ContinualError(f"{path}: not an IDX file of unsigned bytes")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ContinualError(f"{path}: truncated ({array.size} values for shape {shape})")
    return array.reshape(shape)


def _missing(dataset: str, folder: Path, torchvision_class: str, root: Path) -> ContinualError:
    hint = f"import torchvision; torchvision.datasets.{torchvision_class}('{root}', download=True)"
    return ContinualError(
        f"{dataset}: files not found in {folder}. Put the dataset there (or point --data-dir or "
        f"${ENVIRONMENT} at a folder that has it); on a machine with internet: "
        f'python -c "{hint}", then copy {root} here'
    )


def idx_dataset(name: str, root: str | None) -> LabelledData:
    folder_name = IDX_FOLDERS[name]
    base = resolve_data_dir(root)
    folder = base / folder_name / "raw"
    parts = {}
    for split, (images, labels) in IDX_FILES.items():
        image_file, label_file = find(folder, images), find(folder, labels)
        if image_file is None or label_file is None:
            raise _missing(name, folder, folder_name, base)
        parts[f"x_{split}"] = read_idx(image_file)
        parts[f"y_{split}"] = read_idx(label_file).astype(np.int64)
    return labelled(name, where=str(folder), **parts)


def mnist(*, data_dir: str | None = None) -> LabelledData:
    """MNIST (LeCun et al. 1998), 28×28 grey digits, from torchvision's ``MNIST/raw`` files."""
    return idx_dataset("mnist", data_dir)


def fashion_mnist(*, data_dir: str | None = None) -> LabelledData:
    """Fashion-MNIST (Xiao et al. 2017), from torchvision's ``FashionMNIST/raw`` files."""
    return idx_dataset("fashion-mnist", data_dir)


def kmnist(*, data_dir: str | None = None) -> LabelledData:
    """Kuzushiji-MNIST (Clanuwat et al. 2018), from torchvision's ``KMNIST/raw`` files."""
    return idx_dataset("kmnist", data_dir)


# -- CIFAR ------------------------------------------------------------------------------------


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as stream:
        return pickle.load(stream, encoding="bytes")


def _cifar(
    folder: Path, train: list[str], test: str, label_key: bytes, name: str, torchvision_class: str
) -> LabelledData:
    files = [folder / f for f in [*train, test]]
    if not all(f.is_file() for f in files):
        raise _missing(name, folder, torchvision_class, folder.parent)
    batches = [_unpickle(f) for f in files]

    def images(batch: dict) -> np.ndarray:
        return np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)

    return labelled(
        name,
        np.concatenate([images(b) for b in batches[:-1]]),
        np.concatenate([np.asarray(b[label_key]) for b in batches[:-1]]),
        images(batches[-1]),
        np.asarray(batches[-1][label_key]),
        where=str(folder),
    )


def cifar10(*, data_dir: str | None = None) -> LabelledData:
    """CIFAR-10 (Krizhevsky 2009), 32×32 colour, from ``cifar-10-batches-py``."""
    folder = resolve_data_dir(data_dir) / CIFAR_FOLDERS["cifar10"][0]
    return _cifar(
        folder,
        [f"data_batch_{i}" for i in range(1, 6)],
        "test_batch",
        b"labels",
        "cifar10",
        "CIFAR10",
    )


def cifar100(*, data_dir: str | None = None) -> LabelledData:
    """CIFAR-100 (Krizhevsky 2009), 100 fine classes, from ``cifar-100-python``."""
    folder = resolve_data_dir(data_dir) / CIFAR_FOLDERS["cifar100"][0]
    return _cifar(folder, ["train"], "test", b"fine_labels", "cifar100", "CIFAR100")
