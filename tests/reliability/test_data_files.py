"""Data files that are corrupt, truncated, oversized or hostile end in one clear error; a
CIFAR batch can never run code."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from continual.errors import ContinualError
from continual.scenarios import files, locations
from continual.scenarios.validate import labelled


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def _good_arrays():
    rng = np.random.default_rng(0)
    x = rng.random((20, 4)).astype(np.float32)
    y = np.arange(20) % 2
    return {"x_train": x, "y_train": y, "x_test": x, "y_test": y}


def test_truncated_npz(tmp_path):
    good = _npz(tmp_path / "good.npz", **_good_arrays())
    bad = tmp_path / "bad.npz"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ContinualError, match="not a readable .npz"):
        files.npz(path=str(bad))


def test_npz_header_claiming_too_much_is_refused_before_reading(tmp_path):
    path = _npz(tmp_path / "big.npz", **_good_arrays())
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**12, 4)}
    )
    with warnings.catch_warnings(), zipfile.ZipFile(path, "a") as archive:
        warnings.simplefilter("ignore")  # "duplicate name": the last x_train is the one read
        archive.writestr("x_train.npy", header.getvalue())
    with pytest.raises(ContinualError, match=r"x_train of shape \(1000000000000, 4\) needs"):
        files.npz(path=str(path))


def test_npz_with_pickled_objects_is_refused(tmp_path):
    arrays = _good_arrays()
    arrays["x_train"] = np.array([object()] * 20, dtype=object)
    path = _npz(tmp_path / "obj.npz", **arrays)
    with pytest.raises(ContinualError, match="not a readable .npz"):
        files.npz(path=str(path))


def _idx(*shape: int, data: bytes = b"") -> bytes:
    return struct.pack(">HBB", 0, 8, len(shape)) + struct.pack(f">{len(shape)}I", *shape) + data


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("one-byte", b"\x00", "truncated"),
        ("not-idx", b"\x01\x02\x03\x04\x05", "not an IDX file"),
        ("short-header", _idx(2, 2)[:6], "truncated IDX header"),
        ("truncated", _idx(2, 3, data=b"\x00" * 5), "truncated"),
        ("trailing", _idx(2, 3, data=b"\x00" * 7), "longer than its header"),
        ("huge", _idx(1_000_000, 1_000_000), "needs about"),
    ],
)
def test_bad_idx_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ContinualError, match=message):
        files.read_idx(path)


def test_gz_that_is_not_gzip(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(_idx(1, 2, data=b"\x00\x00"))
    with pytest.raises(ContinualError, match="not a readable IDX file"):
        files.read_idx(path)
    good = tmp_path / "ok.gz"
    good.write_bytes(gzip.compress(_idx(1, 2, data=b"\x07\x08")))
    assert files.read_idx(good).tolist() == [[7, 8]]


def test_labels_far_beyond_any_class_count_are_refused():
    x = np.zeros((4, 3), dtype=np.float32)
    y = np.array([0, 1, 2, 10**9])
    with pytest.raises(ContinualError, match="labels must be below"):
        labelled("big-labels", x, y, x, y, where="arrays")


# -- CIFAR: a restricted unpickler ---------------------------------------------------------------


class _Payload:
    """Unpickling this would create a file: the proof that code ran."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def _cifar_folder(tmp_path: Path, batch: object) -> Path:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    good = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1], b"batch_label": b"x"}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps(batch if name == "data_batch_1" else good))
    return tmp_path


def test_cifar_payload_never_runs(tmp_path):
    proof = tmp_path / "code-ran"
    root = _cifar_folder(tmp_path, {b"data": _Payload(proof), b"labels": [0]})
    with pytest.raises(ContinualError, match="refused to load pathlib"):
        files.cifar10(data_dir=str(root))
    assert not proof.exists()


def test_cifar_payload_through_os_system_never_runs(tmp_path):
    proof = tmp_path / "system-ran"

    class System:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {proof}",))

    root = _cifar_folder(tmp_path, System())
    with pytest.raises(ContinualError, match="not a CIFAR batch"):
        files.cifar10(data_dir=str(root))
    assert not proof.exists()


def test_cifar_batch_missing_keys(tmp_path):
    root = _cifar_folder(tmp_path, {b"data": np.zeros((2, 3072), np.uint8)})
    with pytest.raises(ContinualError, match="missing labels"):
        files.cifar10(data_dir=str(root))


def test_real_cifar_layout_still_loads(tmp_path):
    batch = {b"data": np.full((2, 3072), 9, np.uint8), b"labels": [3, 4], b"filenames": [b"a"]}
    data = files.cifar10(data_dir=str(_cifar_folder(tmp_path, batch)))
    assert data.x_train.shape == (10, 3, 32, 32) and int(data.x_train[0, 0, 0, 0]) == 9


def test_unreadable_data_folder(tmp_path, monkeypatch):
    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "is_file", denied)
    with pytest.raises(ContinualError, match="cannot be read .Permission denied"):
        files.mnist(data_dir=str(tmp_path))
    assert locations.ready("mnist", str(tmp_path)) is False
