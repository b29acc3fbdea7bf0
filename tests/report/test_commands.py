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


SMALL_BACKPROP = """
[learner]
name = "backprop"
hidden = [8]
[training]
epochs = 1
"""


def test_the_reference_strategy_is_chosen_and_said(cli, synthetic_scenario, tmp_path):
    """Paired differences are taken against --reference; by default finetune, else naive (not
    the first name: here 'alpha'); the choice is printed, and an unknown name is refused before
    anything is written. compare takes a name from the first folder or a labelled one."""
    strategies = [str(write(tmp_path, f"{n}.toml", SMALL_BACKPROP)) for n in ("alpha", "naive")]
    folders = []
    for name in ("a", "b"):
        out = tmp_path / name
        args = ["run", "--scenario", str(synthetic_scenario), "--seed", "0", "--out", str(out)]
        for strategy in strategies:
            args += ["--strategy", strategy]
        assert cli(*args, "--quiet", "--no-report")[0] == 0
        folders.append(str(out))
    report = tmp_path / "a" / "report.md"
    code, _, err = cli("report", folders[0])
    assert code == 0 and "paired differences against: naive" in err
    assert "## Paired differences against naive" in report.read_text()
    code, _, err = cli("report", folders[0], "--reference", "alpha")
    assert code == 0 and "paired differences against: alpha" in err
    assert "## Paired differences against alpha" in report.read_text()
    report.unlink()
    code, _, err = cli("report", folders[0], "--reference", "finetune")
    assert code == 2 and "--reference finetune: no such strategy" in err and "alpha, naive" in err
    assert not report.exists()
    both = tmp_path / "both"
    code, _, err = cli("compare", *folders, "--out", str(both), "--reference", "alpha")
    assert code == 0 and "paired differences against: a:alpha" in err
    assert "## Paired differences against a:alpha" in (both / "report.md").read_text()
    code, _, err = cli("compare", *folders, "--out", str(both), "--reference", "b:naive")
    assert code == 0 and "## Paired differences against b:naive" in (both / "report.md").read_text()
