"""The example in docs/avalanche.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

from continual.results import read_result

DOC = Path(__file__).resolve().parents[2] / "docs" / "avalanche.md"


def test_documented_example_runs(tmp_path, monkeypatch, capsys):
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert code is not None
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), str(DOC), "exec"), {"__name__": "__doc_example__"})
    for name in ("naive+consolidation+sleep", "ff+consolidation"):
        document = read_result(tmp_path / "results" / "avalanche" / f"{name}.json")
        assert len(document["accuracy_matrix"]) == 6  # split-digits: a row before, 5 after
        assert document["components"]["consolidation"]["mean_importance"] > 0
    assert "naive+consol" in capsys.readouterr().out  # our report table was printed
