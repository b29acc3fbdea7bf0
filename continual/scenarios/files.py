"""Data sources that read files: the user's ``.npz`` and the standard datasets in the on-disk
layout torchvision downloads (``MNIST/raw``, ``FashionMNIST/raw``, ``KMNIST/raw``: IDX files;
``cifar-10-batches-py``, ``cifar-100-python``: pickled batches). Nothing here downloads: with no
files, the error says where they were looked for and how to get them.

Data never runs code: ``.npz`` files load with ``allow_pickle=False``; CIFAR's pickled batches go
through a restricted unpickler that builds only dicts, lists, bytes, numbers and NumPy arrays.
Every size a file's header claims is checked against the memory available before it is read.

The data folder is ``--data-dir``, else ``$CONTINUAL_DATA``, else ``~/.cache/continual``.
"""

from __future__ import annotations

import gzip
import io
import math
import pickle
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from continual import limits
from continual.errors import ContinualError
from continual.ranges import checked
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


@checked
def npz(*, path: str) -> LabelledData:
    """The user's own data: a ``.npz`` file with arrays ``x_train, y_train, x_test, y_test``
    (images N×H×W or N×H×W×C, uint8 or float, or flat N×D)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ContinualError(
            f"{file}: no such file (expected a .npz with x_train, y_train, x_test, y_test)"
        )
    try:
        _check_npz_sizes(file)
        with np.load(file, allow_pickle=False) as arrays:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays]
            if missing:
                raise ContinualError(
                    f"{file}: missing array(s) {', '.join(missing)} "
                    f"(found: {', '.join(arrays.files) or 'none'})"
                )
            parts = {k: arrays[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except UNREADABLE as error:
        raise ContinualError(f"{file}: not a readable .npz file ({error})") from None
    return labelled(file.stem, **parts, where=str(file))


# What a corrupt, truncated or mislabelled file raises while being read.
UNREADABLE = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, struct.error)


def _check_npz_sizes(file: Path) -> None:
    """Read each array's ``.npy`` header (not its data) and refuse arrays that cannot fit."""
    with zipfile.ZipFile(file) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            with archive.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(stream)
            size = math.prod(shape) * dtype.itemsize
            limits.check_bytes(f"{file}: array {member[:-4]} of shape {shape}", size)


# -- IDX (MNIST, Fashion-MNIST, KMNIST) ---------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped): magic, dimensions, then unsigned bytes. The size
    the header claims is checked before the data is read."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            head = stream.read(4)
            if len(head) < 4:
                raise ContinualError(f"{path}: truncated ({len(head)} bytes, not an IDX file)")
            zero, kind, ndim = struct.unpack(">HBB", head)
            if zero != 0 or kind != 0x08 or not 1 <= ndim <= 4:
                raise ContinualError(f"{path}: not an IDX file of unsigned bytes")
            dims = stream.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise ContinualError(f"{path}: truncated IDX header")
            shape = struct.unpack(f">{ndim}I", dims)
            count = math.prod(shape)
            limits.check_bytes(f"{path}: IDX data of shape {shape}", count)
            data = stream.read(count + 1)
    except UNREADABLE as error:
        raise ContinualError(f"{path}: not a readable IDX file ({error})") from None
    if len(data) != count:
        state = "truncated" if len(data) < count else "longer than its header says"
        raise ContinualError(f"{path}: {state} ({len(data)} values for shape {shape})")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def _missing(dataset: str, folder: Path, torchvision_class: str, root: Path) -> ContinualError:
    hint = f"import torchvision; torchvision.datasets.{torchvision_class}('{root}', download=True)"
    return ContinualError(
        f"{dataset}: files not found in {folder}. Put the dataset there (or point data_dir or "
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


@checked
def mnist(*, data_dir: str | None = None) -> LabelledData:
    """MNIST (LeCun et al. 1998), 28×28 grey digits, from torchvision's ``MNIST/raw`` files."""
    return idx_dataset("mnist", data_dir)


@checked
def fashion_mnist(*, data_dir: str | None = None) -> LabelledData:
    """Fashion-MNIST (Xiao et al. 2017), from torchvision's ``FashionMNIST/raw`` files."""
    return idx_dataset("fashion-mnist", data_dir)


@checked
def kmnist(*, data_dir: str | None = None) -> LabelledData:
    """Kuzushiji-MNIST (Clanuwat et al. 2018), from torchvision's ``KMNIST/raw`` files."""
    return idx_dataset("kmnist", data_dir)


# -- CIFAR ------------------------------------------------------------------------------------


class _BatchUnpickler(pickle.Unpickler):
    """Builds only what a CIFAR batch holds: dicts, lists, bytes, strings, numbers and NumPy
    arrays. Any other global (``os.system``, ``builtins.eval`` ...) is refused before it runs."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}")
        return super().find_class(module, name)


def _unpickle(path: Path, keys: tuple[bytes, ...]) -> dict:
    """One CIFAR batch: a dict with ``keys`` (at least), loaded without running any code."""
    size = path.stat().st_size
    if size > limits.MAX_CIFAR_BYTES:
        raise ContinualError(f"{path}: {limits.human(size)} is too large for a CIFAR batch")
    limits.check_bytes(f"{path}", 2 * size)
    try:
        batch = _BatchUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (
        pickle.UnpicklingError,
        *UNREADABLE,
        AttributeError,
        TypeError,
        IndexError,
        OverflowError,  # a corrupt frame or length field
        MemoryError,
    ) as error:
        raise ContinualError(f"{path}: not a CIFAR batch ({error})") from None
    if not isinstance(batch, dict):
        raise ContinualError(f"{path}: not a CIFAR batch (a {type(batch).__name__})")
    missing = [k.decode() for k in keys if k not in batch]
    if missing:
        raise ContinualError(f"{path}: not a CIFAR batch (missing {', '.join(missing)})")
    if isinstance(batch[b"data"], np.ndarray) and batch[b"data"].dtype == object:
        raise ContinualError(f"{path}: not a CIFAR batch (data must be numeric)")
    return batch


def _cifar(
    folder: Path, train: list[str], test: str, label_key: bytes, name: str, torchvision_class: str
) -> LabelledData:
    files = [folder / f for f in [*train, test]]
    if not all(f.is_file() for f in files):
        raise _missing(name, folder, torchvision_class, folder.parent)
    batches = [_unpickle(f, (b"data", label_key)) for f in files]

    def images(batch: dict, path: Path) -> np.ndarray:
        try:
            return np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        except (ValueError, TypeError) as error:
            raise ContinualError(f"{path}: data is not 32x32 colour images ({error})") from None

    return labelled(
        name,
        np.concatenate([images(b, f) for b, f in zip(batches[:-1], files)]),
        np.concatenate([np.asarray(b[label_key]) for b in batches[:-1]]),
        images(batches[-1], files[-1]),
        np.asarray(batches[-1][label_key]),
        where=str(folder),
    )


@checked
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


@checked
def cifar100(*, data_dir: str | None = None) -> LabelledData:
    """CIFAR-100 (Krizhevsky 2009), 100 fine classes, from ``cifar-100-python``."""
    folder = resolve_data_dir(data_dir) / CIFAR_FOLDERS["cifar100"][0]
    return _cifar(folder, ["train"], "test", b"fine_labels", "cifar100", "CIFAR100")
