"""File-based data sources on small files in the real on-disk format, written here."""

import gzip
import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from continual import specs
from continual.errors import ContinualError
from continual.scenarios.files import cifar10, cifar100, mnist, npz, read_idx
from continual.scenarios.locations import ready


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def fake_images(n: int, classes: int, shape, seed: int):
    """Class-dependent images: class c lights up block c, plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.integers(0, 40, size=(n, *shape)).astype(np.uint8)
    flat = x.reshape(n, -1)
    block = flat.shape[1] // classes
    for i, c in enumerate(y):
        flat[i, c * block : (c + 1) * block] = 250
    return flat.reshape(n, *shape), y


def write_mnist(root: Path, folder: str = "MNIST", compress_test: bool = True) -> None:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    x, y = fake_images(200, 10, (28, 28), 0)
    xt, yt = fake_images(100, 10, (28, 28), 1)
    write_idx(raw / "train-images-idx3-ubyte", x)
    write_idx(raw / "train-labels-idx1-ubyte", y)
    write_idx(raw / "t10k-images-idx3-ubyte", xt, compress_test)
    write_idx(raw / "t10k-labels-idx1-ubyte", yt, compress_test)


def write_cifar10(root: Path) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        x, y = fake_images(40, 10, (3, 32, 32), i)
        with open(folder / name, "wb") as stream:
            pickle.dump({b"data": x.reshape(40, -1), b"labels": y.tolist()}, stream)


def test_idx_round_trip_plain_and_gzipped(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a", array)
    write_idx(tmp_path / "b", array, compress=True)
    assert np.array_equal(read_idx(tmp_path / "a"), array)
    assert np.array_equal(read_idx(tmp_path / "b.gz"), array)


def test_mnist_reads_torchvision_layout(tmp_path):
    write_mnist(tmp_path)
    data = mnist(data_dir=str(tmp_path))
    assert data.x_train.shape == (200, 28, 28) and data.x_train.dtype.is_floating_point is False
    assert data.num_classes == 10 and len(data.y_test) == 100


def test_cifar_reads_pickled_batches(tmp_path):
    write_cifar10(tmp_path)
    data = cifar10(data_dir=str(tmp_path))
    assert data.x_train.shape == (200, 3, 32, 32) and len(data.y_test) == 40
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for name, n in (("train", 300), ("test", 100)):
        x, y = fake_images(n, 100, (3, 32, 32), 0)
        with open(folder / name, "wb") as stream:
            pickle.dump({b"data": x.reshape(n, -1), b"fine_labels": y.tolist()}, stream)
    assert cifar100(data_dir=str(tmp_path)).num_classes == 100


def test_missing_files_say_where_and_how(tmp_path):
    with pytest.raises(ContinualError) as error:
        mnist(data_dir=str(tmp_path))
    message = str(error.value)
    assert str(tmp_path / "MNIST" / "raw") in message and "download=True" in message
    assert not ready("mnist", str(tmp_path)) and ready("digits", str(tmp_path))


def test_split_mnist_preset_runs_on_files_in_data_dir(cli, tmp_path):
    write_mnist(tmp_path / "data")
    code, out, err = cli(
        "run",
        "--scenario",
        "split-mnist",
        "--strategy",
        "replay",
        "--data-dir",
        str(tmp_path / "data"),
        "--out",
        str(tmp_path / "out"),
        "--quiet",
    )
    assert code == 0, err
    result = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert result["stream"]["input_shape"] == [28, 28]
    assert result["metrics"]["average_accuracy"] > 0.5  # the fake classes are easy


def test_list_says_which_presets_are_ready(cli, tmp_path):
    write_mnist(tmp_path)
    code, out, _ = cli("list", "--data-dir", str(tmp_path))
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("│ ")}
    assert "yes" in lines["split-mnist"] and "yes" in lines["permuted-mnist"]
    assert "needs" in lines["split-cifar10"]


def _npz(path: Path, **overrides) -> Path:
    x, y = fake_images(120, 4, (6, 6), 0)
    xt, yt = fake_images(40, 4, (6, 6), 1)
    arrays = {"x_train": x, "y_train": y, "x_test": xt, "y_test": yt, **overrides}
    np.savez(path, **arrays)
    return path


def test_users_npz_runs_a_presets_protocol(cli, tmp_path):
    path = _npz(tmp_path / "mine.npz")
    code, out, err = cli(
        "run",
        "--scenario",
        "split-digits",
        "--dataset",
        str(path),
        "--experiences",
        "2",
        "--strategy",
        "finetune",
        "--out",
        str(tmp_path / "out"),
        "--quiet",
    )
    assert code == 0, err
    result = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert [len(e["classes"]) for e in result["stream"]["experiences"]] == [2, 2]
    assert result["scenario"]["dataset"] == {"name": "npz", "path": str(path)}


def test_one_experience_is_iid_training(cli, tmp_path):
    code, out, err = cli(
        "run", "--experiences", "1", "--strategy", "finetune", "--out", str(tmp_path), "--quiet"
    )
    assert code == 0, err
    result = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert len(result["accuracy_matrix"][0]) == 1 and result["metrics"]["average_accuracy"] > 0.95


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"y_train": np.arange(119) % 4}, "x_train has 120 samples but y_train has 119"),
        ({"x_train": np.full((120, 6, 6), np.nan)}, "NaN or infinite"),
        ({"y_train": (np.arange(120) % 4) + 0.5}, "integer class labels"),
        ({"x_test": np.zeros((40, 5, 5), np.uint8)}, "train inputs have shape"),
    ],
)
def test_bad_arrays_are_refused_with_a_clear_message(tmp_path, overrides, message):
    with pytest.raises(ContinualError, match=message):
        npz(path=str(_npz(tmp_path / "bad.npz", **overrides)))


def test_npz_missing_arrays_and_fewer_classes_than_the_split_asks(cli, tmp_path):
    path = tmp_path / "partial.npz"
    np.savez(path, x_train=np.zeros((4, 2)), y_train=np.zeros(4))
    with pytest.raises(ContinualError, match="missing array"):
        npz(path=str(path))
    code, _, err = cli(
        "run",
        "--dataset",
        str(_npz(tmp_path / "four.npz")),
        "--experiences",
        "5",
        "--strategy",
        "finetune",
        "--out",
        str(tmp_path / "o"),
    )
    assert code == 2 and "need 5 classes, but the data has 4" in err


def test_channels_last_images_are_moved_to_channels_first(tmp_path):
    x, y = fake_images(20, 2, (5, 5, 3), 0)
    data = npz(
        path=str(_npz(tmp_path / "hwc.npz", x_train=x, y_train=y, x_test=x[:4], y_test=y[:4]))
    )
    assert data.input_shape == (3, 5, 5)


def test_scenario_override_keeps_spec_and_names_it():
    spec = specs.with_overrides(specs.load_scenario("split-digits"), experiences=2)
    assert spec.generator.values["experiences"] == 2 and spec.name == "split-digitsx2"
    with pytest.raises(specs.SpecError, match="at least 1"):
        specs.with_overrides(specs.load_scenario("split-digits"), experiences=0)


def test_users_npz_runs_in_ablate_and_sweep_as_in_run(cli, tmp_path):
    """ablate and sweep take --dataset FILE.npz and --experiences as run does: a ladder or a
    grid on a user's own data needs no hand-written scenario file."""
    path = _npz(tmp_path / "mine.npz")
    strategy = tmp_path / "small.toml"
    strategy.write_text(
        '[learner]\nname = "backprop"\nhidden = [8]\n[training]\nepochs = 1\n'
        '[[components]]\nname = "consolidation"\n',
        encoding="utf-8",
    )
    data = ("--scenario", "split-digits", "--dataset", str(path), "--experiences", "2")
    out = tmp_path / "ladder"
    code, _, err = cli("ablate", str(strategy), *data, "--seed", "0", "--out", str(out), "--quiet")
    assert code == 0, err
    runs = [json.loads(p.read_text()) for p in out.glob("*seed*.json")]
    assert len(runs) == 3  # the learner alone, with consolidation, the untrained control
    for result in runs:
        assert result["scenario"]["dataset"] == {"name": "npz", "path": str(path)}
        assert [len(e["classes"]) for e in result["stream"]["experiences"]] == [2, 2]
    grid = tmp_path / "grid.toml"
    grid.write_text(f'scenarios = ["split-digits"]\nstrategies = ["{strategy}"]\nseeds = [0]\n')
    out = tmp_path / "grid"
    code, _, err = cli(
        "sweep",
        str(grid),
        "--dataset",
        str(path),
        "--experiences",
        "2",
        "--out",
        str(out),
        "--quiet",
    )
    assert code == 0, err
    (result,) = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert result["scenario"]["dataset"] == {"name": "npz", "path": str(path.resolve())}
    assert result["scenario"]["name"] == "split-digits@minex2"
    code, _, err = cli("ablate", str(strategy), "--dataset", str(tmp_path / "none.npz"))
    assert code == 2 and "none.npz" in err
