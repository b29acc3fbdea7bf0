"""Every example in docs/avalanche.md runs as written, in order, as one script (later blocks
continue the first), on the split-digits scenario (scikit-learn's 8×8 digits)."""

from __future__ import annotations

import re
from pathlib import Path

from continual.results import read_result

DOC = Path(__file__).resolve().parents[2] / "docs" / "avalanche.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_every_documented_example_runs(tmp_path, monkeypatch, capsys):
    found = blocks()
    assert len(found) >= 3  # the pipeline, EWC on a local learner, checkpoint and resume
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__doc_example__"}
    for number, code in enumerate(found):
        exec(compile(code, f"{DOC}, python block {number + 1}", "exec"), namespace)
    results = tmp_path / "results" / "avalanche"
    for name in ("naive+consolidation+sleep", "ff+consolidation"):
        document = read_result(results / f"{name}.json")
        assert len(document["accuracy_matrix"]) == 6  # split-digits: a row before, 5 after
        assert document["components"]["consolidation"]["mean_importance"] > 0
    assert "naive+consol" in capsys.readouterr().out  # our report table was printed
    pc = namespace["pc"].plugins[0].component
    assert sum(float(v.sum()) for v in pc.anchor.importance.values()) > 0  # EWC's Fisher
    resumable = read_result(results / "resumable.json")
    assert len(resumable["accuracy_matrix"]) == 6
    assert (results / "resumable.pt").exists()
    (resuming,) = [code for code in found if "load_checkpoint(" in code]
    exec(compile(resuming, str(DOC), "exec"), namespace)  # again: every experience is done
    assert namespace["done"] == 5
