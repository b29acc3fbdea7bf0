"""Property-based: random and malformed specs and data files each end in one clear error
(exit 2, one line, no traceback, no result file) or a valid run; never a partial file."""

from __future__ import annotations

import gzip
import io
import json
import math
import pickle
import struct
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from continual.cli import main
from continual.errors import ContinualError
from continual.scenarios import files

TINY_SCENARIO = """
[dataset]
name = "synthetic"
samples = 120
features = 6
classes = 4
[generator]
name = "class-incremental"
experiences = 2
"""
FUZZ = settings(  # derandomized: the same examples on every run, so CI is deterministic
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, 1, 2, 8, -1, 2**31, 10**12]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1e-3, 0.5, 1.0, 1e6, -1.0, math.nan, math.inf]),
    st.booleans(),
    st.text(max_size=8),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.lists(st.lists(scalars, max_size=2)))
LEARNER_KEYS = ["hidden", "lr", "momentum", "weight_decay", "init_scale", "optimizer", "bogus"]
COMPONENT_NAMES = ["ewc", "si", "replay", "consolidation", "sleep", "lwf", "nope"]
COMPONENT_KEYS = ["strength", "budget", "input_scale", "dt", "steps", "gamma", "decay", "bogus"]


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


@st.composite
def strategy_specs(draw) -> bytes:
    lines = ["[learner]", 'name = "backprop"', "hidden = [4]"]
    for key in draw(st.lists(st.sampled_from(LEARNER_KEYS), unique=True, max_size=3)):
        if key != "hidden" or draw(st.booleans()):
            lines.append(f"{key} = {toml_value(draw(values))}")
    lines += ["[training]", "epochs = 1", "batch_size = 64"]
    for name in draw(st.lists(st.sampled_from(COMPONENT_NAMES), max_size=2)):
        lines += ["[[components]]", f'name = "{name}"']
        if name == "sleep":
            lines.append("steps = 5\nsteps_increment = 0\ncalibration_steps = 5")
        for key in draw(st.lists(st.sampled_from(COMPONENT_KEYS), unique=True, max_size=2)):
            lines.append(f"{key} = {toml_value(draw(values))}")
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    if draw(st.booleans()):  # malformed: bytes spliced in somewhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=6)) + data[at:]
    return data


@FUZZ
@given(spec=strategy_specs())
def test_random_specs_end_in_a_clear_error_or_a_valid_run(tmp_path_factory, capsys, spec):
    folder = tmp_path_factory.mktemp("fuzz")
    scenario = folder / "tiny.toml"
    scenario.write_text(TINY_SCENARIO)
    strategy = folder / "s.toml"
    strategy.write_bytes(spec)
    out = folder / "out"
    code = main(["run", "--scenario", str(scenario), "--strategy", str(strategy),
                 "--out", str(out), "--quiet"])  # fmt: skip
    err = capsys.readouterr().err
    event(f"exit {code}")
    assert "Traceback" not in err
    written = list(out.glob("*.json")) if out.is_dir() else []
    assert not list(out.glob(".*.tmp")) if out.is_dir() else True
    if code == 2:
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert written == []
    else:
        (result,) = written
        status = json.loads(result.read_text())["status"]
        assert (code, status) in ((0, "complete"), (1, "diverged")), err


# -- data files ----------------------------------------------------------------------------------


def _valid_idx() -> bytes:
    return struct.pack(">HBBII", 0, 8, 2, 3, 2) + bytes(range(6))


def _valid_cifar() -> bytes:
    return pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [1]})


def _valid_npz() -> bytes:
    stream = io.BytesIO()
    x, y = np.ones((4, 2), np.float32), np.array([0, 1, 0, 1])
    np.savez(stream, x_train=x, y_train=y, x_test=x, y_test=y)
    return stream.getvalue()


@st.composite
def mutated(draw, valid: bytes) -> bytes:
    data = bytearray(valid)
    for _ in range(draw(st.integers(0, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at:]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def _read_or_clear_error(read, path: Path) -> bool:
    """True when ``read`` gave data or one clear one-line error (anything else propagates)."""
    try:
        read(path)
    except ContinualError as error:
        return bool(str(error)) and "\n" not in str(error)
    return True


@FUZZ
@given(data=mutated(_valid_idx()), zipped=st.booleans())
def test_random_idx_files(tmp_path_factory, data, zipped):
    path = tmp_path_factory.mktemp("idx") / ("f.gz" if zipped else "f")
    path.write_bytes(gzip.compress(data) if zipped and data[:1] != b"\x01" else data)
    assert _read_or_clear_error(files.read_idx, path)


@FUZZ
@given(data=mutated(_valid_npz()))
def test_random_npz_files(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("npz") / "f.npz"
    path.write_bytes(data)
    assert _read_or_clear_error(lambda p: files.npz(path=str(p)), path)


@FUZZ
@given(data=mutated(_valid_cifar()))
def test_random_cifar_batches(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("cifar") / "data_batch_1"
    path.write_bytes(data)
    assert _read_or_clear_error(lambda p: files._unpickle(p, (b"data", b"labels")), path)
