"""Reports from hand-made result documents: cell-wise statistics, the terminal table's width,
the CSV round trip, ablation ladders and the Markdown tables."""

import copy
import csv
import io
import math

import pytest
from rich.console import Console

from continual.report import long_form, markdown, tables
from continual.report.aggregate import forgetting_matrix, matrix_estimates
from continual.report.terminal import comparison_table

LONG_NAME = "hebbian+consolidation+sleep"


def result(strategy, seed, matrix, **extra):
    acc = sum(matrix[-1]) / len(matrix[-1])
    return {
        "run_id": f"{strategy}-{seed}",
        "strategy": {"name": strategy},
        "scenario": {"name": "hand"},
        "seed": seed,
        "accuracy_matrix": matrix,
        "metrics": {
            "average_accuracy": acc,
            "learning_accuracy": (matrix[1][0] + matrix[2][1]) / 2,
            "forgetting": matrix[1][0] - matrix[2][0],
        },
        "curves": {"step": [0, 5, 10], "accuracy": matrix, "experience_end_steps": [5, 10]},
        "cost": {"flops": {"train": 100.0 * (seed + 1), "eval": 10.0}, "sleep_synops": 0},
        "timings": {"total": 1.0 + seed},
        "environment": {"continual": "0", "torch": "2", "device": "cpu"},
        **extra,
    }


def matrices(a, b, c):
    """Three seeds whose matrices differ only in R[2, 0] (a, b, c)."""
    return [[[0.1, 0.1], [0.9, 0.2], [x, 0.8]] for x in (a, b, c)]


def test_every_matrix_cell_gets_mean_and_confidence_interval():
    group = [result("s", i, m) for i, m in enumerate(matrices(0.3, 0.5, 0.7))]
    cells = matrix_estimates(group)
    cell = cells[2][0]
    assert cell.mean == pytest.approx(0.5) and cell.std == pytest.approx(0.2)
    assert cell.half_width == pytest.approx(4.302653 * 0.2 / math.sqrt(3), rel=1e-6)
    assert cells[1][0].mean == pytest.approx(0.9) and cells[1][0].half_width == 0
    forgetting = matrix_estimates(group, "forgetting")
    assert forgetting[2][0].mean == pytest.approx(0.4) and forgetting[1][0] is None


def test_a_diverged_first_seed_does_not_hide_the_complete_seeds_matrices():
    """Matrices are averaged over the runs of the most common shape: a diverged seed 0 (only the
    row before training) is left out, not the two complete seeds after it."""
    diverged = {**result("s", 0, matrices(0, 0, 0)[0]), "accuracy_matrix": [[0.1, 0.1]]}
    complete = [result("s", i + 1, m) for i, m in enumerate(matrices(0.3, 0.5, 0.7)[:2])]
    cells = matrix_estimates([diverged, *complete])
    assert len(cells) == 3 and cells[2][0].mean == pytest.approx(0.4) and cells[2][0].n == 2


def test_forgetting_matrix_by_hand():
    R = [[0.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.5, 0.8, 0.1], [0.7, 0.2, 0.9]]
    F = forgetting_matrix(R)
    assert F[2, 0] == pytest.approx(0.4)  # best 0.9 so far, now 0.5
    assert F[3, 0] == pytest.approx(0.2) and F[3, 1] == pytest.approx(0.6)
    assert math.isnan(F[1, 0]) and math.isnan(F[3, 2]) and math.isnan(F[0, 0])


def test_terminal_table_fits_80_columns_without_breaking_names():
    results = [
        result(name, seed, m)
        for name in ("finetune", "replay", LONG_NAME, "ff+consolidation+sleep")
        for seed, m in enumerate(matrices(0.31, 0.52, 0.77))
    ]
    buffer = io.StringIO()
    Console(file=buffer, width=80, force_terminal=False).print(comparison_table(results))
    lines = buffer.getvalue().splitlines()
    assert max(map(len, lines)) <= 80
    assert any(LONG_NAME in line for line in lines) and "…" not in buffer.getvalue()
    row = next(line for line in lines if line.lstrip().startswith("replay"))
    assert "±" in row  # several seeds: mean ± CI


def test_csv_round_trips_to_the_json_numbers():
    results = [  # values with many digits, so any rounding on the way shows
        result("s", i, m, robustness={"noise": [{"strength": 0.1, "accuracy": [1 / 3, 0.25]}]})
        for i, m in enumerate(matrices(1 / 3, 2 / 7, 0.123456789))
    ]
    rows = list(csv.DictReader(io.StringIO(long_form.render(results))))
    assert tuple(rows[0]) == long_form.COLUMNS
    for original in results:
        mine = [r for r in rows if r["run"] == original["run_id"]]
        cells = {
            (int(r["train_exp"]), int(r["eval_exp"])): float(r["value"])
            for r in mine
            if r["metric"] == "accuracy"
        }
        assert [[cells[i, j] for j in range(2)] for i in range(3)] == original["accuracy_matrix"]
        scalars = {r["metric"]: float(r["value"]) for r in mine if r["train_exp"] == ""}
        assert scalars["average_accuracy"] == original["metrics"]["average_accuracy"]
        assert scalars["cost.flops.train"] == original["cost"]["flops"]["train"]
        noise = [float(r["value"]) for r in mine if r["metric"] == "noise@0.1"]
        assert noise == [1 / 3, 0.25]


def test_pandas_reads_the_csv():
    pandas = pytest.importorskip("pandas")
    results = [result("s", i, m) for i, m in enumerate(matrices(1 / 3, 2 / 7, 0.1))]
    frame = pandas.read_csv(io.StringIO(long_form.render(results)))
    assert list(frame.columns) == list(long_form.COLUMNS)
    cell = frame.query("metric == 'accuracy' and train_exp == 2 and eval_exp == 0")
    assert sorted(cell["value"]) == sorted([1 / 3, 2 / 7, 0.1])


def test_ablation_ladder_shows_paired_gains_between_rungs():
    results = []
    for seed in range(3):
        for index, (rung, gain, below) in enumerate(
            (("learner", 0.0, None), ("+ sleep", 0.1, "learner"))
        ):
            tags = {"ablation": "ff+sleep", "rung": rung, "rung_index": index, "baseline": below}
            m = [[0.1, 0.1], [0.9, 0.2], [0.3 + 0.1 * seed + gain, 0.8]]
            results.append(result(f"ff ({rung})", seed, m, tags=tags))
    (ladder,) = [t for t in markdown.sections(results) if t.title.startswith("Ablation")]
    assert ladder.title == "Ablation ladder: ff+sleep"
    assert [row[1] for row in ladder.rows] == ["learner", "+ sleep"]
    assert ladder.headers[3:8] == (
        "acc %",
        "learn acc %",
        "Δ acc (pp)",
        "Δ learn acc (pp)",
        "Δ forgetting (pp)",
    )
    # +0.1 on R[2, 0] is +5 points of the mean, on every seed: no spread, so no star and no p
    assert ladder.rows[1][2:6] == ("#0", "65.0", "85.0", "+5.0 [+5.0,+5.0]")  # (0.5 + 0.8) / 2
    assert ladder.rows[1][-3:-1] == ("—", "—")
    # learning accuracy beside forgetting: (R[1, 0] + R[2, 1]) / 2 = 85 %, unchanged by the rung
    assert ladder.rows[1][6:8] == ("+0.0 [+0.0,+0.0]", "-10.0 [-10.0,-10.0]")
    assert "probe acc %" not in ladder.headers  # no run has a probe
    for r in results:
        r["probe"] = {"kind": "ncm", "matrix": [[0.5, 0.5], [0.9, 0.0], [0.8, 0.9]]}
        r["metrics"]["probe_accuracy"] = 0.85
    (ladder,) = [t for t in markdown.sections(results) if t.title.startswith("Ablation")]
    assert ladder.headers[5] == "probe acc %" and ladder.headers[9] == "Δ probe acc (pp)"
    assert ladder.rows[1][5] == "85.0" and ladder.rows[1][9] == "+0.0 [+0.0,+0.0]"


def test_markdown_has_every_table_and_paired_differences():
    results = [result("finetune", i, m) for i, m in enumerate(matrices(0.1, 0.2, 0.3))]
    better = copy.deepcopy(results)
    for r in better:
        r["strategy"]["name"] = "replay"
        r["metrics"]["average_accuracy"] += 0.1
    text = markdown.render(results + better)
    for title in ("## Summary", "## Paired differences against finetune", "## Cost", "## Runs"):
        assert title in text
    assert "| replay | 3 | 10.0 ± 0.0 | — | n too small |" in text  # equal gains: no claim
    assert "replay: forgetting matrix" in text


def test_paired_differences_star_only_what_survives_holm():
    # per-seed gains over finetune with raw paired-t p 0.0011, 0.0335, 0.0259 (three strategies):
    # each interval excludes 0 alone; Holm keeps only the first (0.0033; 0.0519, 0.0519)
    base = [result("finetune", s, [[0.1, 0.1], [0.9, 0.2], [0.2, 0.2]]) for s in range(6)]
    results = list(base)
    for name, mean in (("a", 0.03), ("b", 0.013), ("c", 0.014)):
        for s, r in enumerate(base):
            better = copy.deepcopy(r)
            better["strategy"]["name"] = name
            better["run_id"] = f"{name}-{s}"
            better["metrics"]["average_accuracy"] += mean + (0.01 if s % 2 == 0 else -0.01)
            results.append(better)
    table = tables.paired_differences(results)
    cells = {row[0]: row[2:5] for row in table.rows}
    assert cells["a"] == ("3.0 ± 1.1 *", "0.001 (0.003)", "0.031")
    assert cells["b"] == ("1.3 ± 1.1", "0.034 (0.052)", "0.031")
    assert cells["c"] == ("1.4 ± 1.1", "0.026 (0.052)", "0.031")
    assert "Holm" in table.note and "n too small" in table.note


def test_the_default_reference_is_finetune_then_naive_then_the_first_name():
    from continual.errors import ContinualError
    from continual.report.aggregate import reference_strategy

    assert reference_strategy(dict.fromkeys(["zeta", "naive", "finetune"], [])) == "finetune"
    assert reference_strategy(dict.fromkeys(["zeta", "naive", "alpha"], [])) == "naive"
    assert reference_strategy(dict.fromkeys(["zeta", "beta", "alpha"], [])) == "alpha"
    assert reference_strategy(dict.fromkeys(["zeta", "finetune"], []), "zeta") == "zeta"
    with pytest.raises(ContinualError, match="^reference nope: .* one of finetune, zeta"):
        reference_strategy(dict.fromkeys(["zeta", "finetune"], []), "nope")


def test_the_representation_probe_shows_in_the_markdown_html_and_csv():
    probes = [[[0.9, 0.8], [0.95, 0.0], [0.85 + 0.05 * s, 0.9]] for s in range(3)]
    results = [
        result(
            "s",
            seed,
            m,
            probe={"kind": "slda", "matrix": p},
            metrics={
                "average_accuracy": 0.5,
                "forgetting": 0.6,
                "probe_accuracy": (p[2][0] + p[2][1]) / 2,
                "probe_forgetting": p[1][0] - p[2][0],
                "probe_untrained_accuracy": 0.85,
            },
        )
        for seed, (m, p) in enumerate(zip(matrices(0.3, 0.4, 0.5), probes))
    ]
    results.append(result("plain", 0, matrices(0.3, 0.4, 0.5)[0]))  # no probe: no row
    table = tables.probe(results)
    assert [row[:3] for row in table.rows] == [("s", "slda", "3")]
    # probe acc over seeds: (0.85 + 0.9) / 2, (0.9 + 0.9) / 2, (0.95 + 0.9) / 2 → mean 90.0
    assert table.rows[0][4].startswith("90.0 ± ") and table.rows[0][3] == "50.0 ± 0.0"
    text = markdown.render(results)
    assert "## Representation probe" in text and "### s: probe matrix" in text
    assert "### plain: probe matrix" not in text
    assert "| exp 1 | 90.0 ± 12.4 | 90.0 ± 0.0 |" in text  # 0.85, 0.9, 0.95: t·0.05/√3
    rows = list(csv.DictReader(io.StringIO(long_form.render(results))))
    cells = [r for r in rows if r["metric"] == "probe" and r["run"] == "s-2"]
    assert [(r["train_exp"], r["eval_exp"], float(r["value"])) for r in cells][-2:] == [
        ("2", "0", 0.95),
        ("2", "1", 0.9),
    ]
    assert tables.probe([result("plain", 0, matrices(0.3, 0.4, 0.5)[0])]) is None
