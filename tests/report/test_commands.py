"""The report commands end to end on the tiny synthetic stream."""

import csv
import json

from tests.conftest import write

STRATEGY_WITH_ROBUSTNESS = """
[learner]
name = "backprop"
hidden = [16]
[training]
epochs = 2
[evaluation]
robustness = {noise = [0.5], fgsm = [0.2]}
"""


def test_run_with_seeds_writes_the_reports_and_report_rerenders_them(
    cli, synthetic_scenario, tmp_path
):
    strategy = write(tmp_path, "robust.toml", STRATEGY_WITH_ROBUSTNESS)
    out = tmp_path / "runs"
    args = ("run", "--scenario", str(synthetic_scenario), "--strategy", "finetune")
    code, stdout, _ = cli(
        *args, "--strategy", str(strategy), "--seeds", "2", "--out", str(out), "--quiet"
    )
    assert code == 0 and "±" in stdout
    documents = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    assert sorted(d["seed"] for d in documents) == [0, 0, 1, 1]
    robust = [d for d in documents if d["strategy"]["name"] == "robust"][0]
    assert [e["strength"] for e in robust["robustness"]["fgsm"]] == [0.2]
    text = (out / "report.md").read_text()
    assert "## Robustness" in text and "FGSM ε=0.2" in text and "## Paired differences" in text
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert {r["strategy"] for r in rows} == {"finetune", "robust"}
    (out / "report.md").unlink()
    code, _, err = cli("report", str(out), "--tensorboard")
    assert code == 0 and (out / "report.md").exists() and "report.html" in err
    assert list((out / "tensorboard").rglob("events.out.tfevents.*"))


def test_no_report_and_compare(cli, synthetic_scenario, tmp_path):
    folders = []
    for name in ("a", "b"):
        out = tmp_path / name
        args = (
            "run",
            "--scenario",
            str(synthetic_scenario),
            "--strategy",
            "finetune",
            "--seed",
            "0",
        )
        assert cli(*args, "--out", str(out), "--quiet", "--no-report")[0] == 0
        assert not (out / "report.html").exists()
        folders.append(str(out))
    code, stdout, _ = cli("compare", *folders, "--out", str(tmp_path / "both"))
    assert code == 0 and "a:finetune" in stdout and "b:finetune" in stdout and "b − a" in stdout
    assert "a:finetune" in (tmp_path / "both" / "report.md").read_text()


def test_bad_input_gets_one_clear_message(cli, synthetic_scenario, tmp_path):
    code, _, err = cli("report", str(tmp_path / "missing"))
    assert code == 2 and "no such folder" in err
    code, _, err = cli("run", "--seed", "1", "--seeds", "2")
    assert code == 2 and "not both" in err
    bad = write(tmp_path, "bad.toml", STRATEGY_WITH_ROBUSTNESS.replace("noise =", "nois ="))
    code, _, err = cli("run", "--scenario", str(synthetic_scenario), "--strategy", str(bad))
    assert code == 2 and "did you mean 'noise'" in err and "[evaluation]" in err
