"""Result files are data from anywhere: `report` and `compare` skip a file that is not a valid
result with one line naming it and the field, never a traceback, a hang or a memory blow-up;
what they render is the valid files only."""

from __future__ import annotations

import json
import os
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from continual.errors import ContinualError
from continual.report.files import load_results, write_reports
from continual.report.terminal import comparison_table
from continual.results import read_result
from continual.schema import validate
from tests.report.documents import document, save


def _without(key: str, within: str | None = None) -> dict:
    doc = document("bad")
    (doc[within] if within else doc).pop(key)
    return doc


BAD = {  # a document, the field the message must name
    "no strategy": (_without("strategy"), "strategy: missing"),
    "no scenario": (_without("scenario"), "scenario: missing"),
    "no run_id": (_without("run_id"), "run_id: missing"),
    "no matrix": (_without("accuracy_matrix"), "accuracy_matrix: missing"),
    "no curves": (_without("curves"), "curves: missing"),
    "no strategy name": (_without("name", "strategy"), "strategy.name: missing"),
    "seed text": (document("bad", seed="zero"), "seed: expected an integer"),
    "seed null": (document("bad", seed=None), "seed: expected an integer"),
    "seed huge": (document("bad", seed=2**40), "seed: expected an integer"),
    "name number": (document("bad", strategy={"name": 3}), "strategy.name: expected a non-empty"),
    "name list": (document("bad", scenario={"name": ["a"]}), "scenario.name: expected"),
    "metric text": (document("bad", metrics={"forgetting": "0.1"}), "metrics.forgetting"),
    "timing text": (document("bad", timings={"total": "1 s"}), "timings.total"),
    "cost text": (document("bad", cost={"flops": {"train": "x"}}), "cost.flops.train"),
    "empty matrix": (document("bad", accuracy_matrix=[]), "accuracy_matrix: expected at least"),
    "empty row": (document("bad", accuracy_matrix=[[]]), "accuracy_matrix[0]: expected at least"),
    "ragged": (document("bad", accuracy_matrix=[[0.1, 0.2], [0.3]]), "accuracy_matrix[1]"),
    "3-D": (document("bad", accuracy_matrix=[[[0.1]], [[0.2]]]), "accuracy_matrix[0][0]"),
    "accuracy 5": (document("bad", accuracy_matrix=[[5.0]]), "accuracy_matrix[0][0]"),
    "curves ragged": (
        document("bad", curves={"step": [0], "accuracy": [], "experience_end_steps": []}),
        "curves.accuracy: expected 1 rows",
    ),
    "status": (document("bad", status=["complete"]), "status: expected one of"),
    "robustness": (
        document("bad", robustness={"noise": [{"strength": "big", "accuracy": [0.5]}]}),
        "robustness.noise[0].strength",
    ),
    "rung index": (document("bad", tags={"rung_index": "one"}), "tags.rung_index"),
    "top list": ([document("bad")], "schema version"),
}


@pytest.mark.parametrize("case", list(BAD), ids=str)
def test_an_invalid_result_is_skipped_naming_the_field(tmp_path, capsys, case):
    doc, field = BAD[case]
    save(tmp_path, document("good"), "good.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    skipped: list[str] = []
    results = load_results([tmp_path], on_skip=skipped.append)
    assert [r["run_id"] for r in results] == ["good"]
    assert len(skipped) == 1 and skipped[0].startswith(f"skipped: {bad}: ") and field in skipped[0]
    assert capsys.readouterr().err == ""  # the library says it to the caller; it never prints


def test_the_report_command_prints_the_skipped_file(cli, tmp_path):
    save(tmp_path, document("good"), "good.json")
    (tmp_path / "bad.json").write_text(json.dumps(BAD["seed text"][0]), encoding="utf-8")
    code, _, err = cli("report", str(tmp_path))
    assert code == 0 and f"skipped: {tmp_path / 'bad.json'}: seed: expected an integer" in err


RAW = {  # text that is not a result document a report can use
    "5000-digit integer": '{"schema_version": 1, "seed": ' + "9" * 5000 + "}",
    "4000-digit integer": json.dumps(document("bad", seed=10**4000 - 1)),
    "deeply nested": '{"schema_version": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "NaN accuracy": json.dumps(document("bad", accuracy_matrix=[[float("nan")]])),
    "not UTF-8": b"\xff\xfe{}",
    "empty": "",
}


@pytest.mark.parametrize("case", list(RAW), ids=str)
def test_unparseable_or_absurd_text_is_refused(tmp_path, case):
    path = tmp_path / "r.json"
    data = RAW[case]
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    with pytest.raises(ContinualError, match=str(path)):
        read_result(path)


@pytest.mark.parametrize("kind", ["/dev/zero link", "fifo", "folder", "link loop", "dangling"])
def test_a_result_that_is_not_a_regular_file_is_refused_without_opening(tmp_path, kind):
    path = tmp_path / "r.json"
    if kind == "/dev/zero link":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "link loop":
        path.symlink_to(path)
    else:
        path.symlink_to(tmp_path / "gone")
    outcome: list = []
    reader = threading.Thread(target=lambda: outcome.append(_attempt(path)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert outcome, "reading the result hung"
    assert isinstance(outcome[0], ContinualError) and str(path) in str(outcome[0])


def _attempt(path):
    try:
        return read_result(path)
    except Exception as error:  # the test checks which
        return error


def test_an_oversized_result_is_refused_before_reading(tmp_path, monkeypatch):
    from continual import results

    monkeypatch.setattr(results, "MAX_RESULT_BYTES", 1000)
    path = save(tmp_path, document("big", stream={"name": "x" * 2000}))
    with pytest.raises(ContinualError, match="too large for a result file"):
        read_result(path)


def test_a_folder_of_only_invalid_files_is_one_clear_error(cli, tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "a.json").write_text("{}")
    code, _, err = cli("report", str(tmp_path / "runs"))
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[-1].startswith("error: ") and "no valid result files" in err


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
PATHS = [
    ("strategy",), ("strategy", "name"), ("scenario", "name"), ("seed",), ("run_id",),
    ("accuracy_matrix",), ("accuracy_matrix", 0), ("accuracy_matrix", 1, 0), ("curves",),
    ("curves", "step"), ("curves", "accuracy"), ("curves", "experience_end_steps"),
    ("metrics",), ("metrics", "average_accuracy"), ("timings", "total"), ("cost", "flops"),
    ("robustness",), ("robustness", "noise"), ("tags",), ("status",), ("environment",),
    ("memory", "peak_rss_mib"), ("stream",),
]  # fmt: skip


@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(where=st.sampled_from(PATHS), value=JSON)
def test_any_field_replaced_by_any_json_is_valid_or_refused_never_a_crash(tmp_path, where, value):
    """Replace one field of a valid result with random JSON: validation either refuses it with
    a ContinualError, or every renderer (terminal, Markdown, HTML, CSV) takes it."""
    doc = document("mutant", seed=1)
    target = doc
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    try:
        validate(doc)
    except ContinualError:
        return
    out = tmp_path / "out"
    from rich.console import Console

    results = [document("good"), doc]
    Console(file=open(os.devnull, "w")).print(comparison_table(results, title="t"))  # noqa: SIM115
    written = write_reports(results, out)
    assert {p.name for p in written} >= {"report.md", "report.html", "metrics.csv"}
    assert "2 runs" in (out / "report.md").read_text(encoding="utf-8")  # both reported
