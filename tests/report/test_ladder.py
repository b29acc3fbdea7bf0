"""The ablation ladder summary (continual/report/ladder.py) on hand-made result documents:
paired gains with hand-computed t intervals and Holm-adjusted p-values, unpaired seeds, a missing
baseline; and its renderers, the 80-column terminal table and the report's table (Markdown,
HTML), which show the same numbers."""

from __future__ import annotations

import pytest
from rich.console import Console

from continual.errors import ContinualError
from continual.report import html, markdown
from continual.report.ladder import ladders, summarise
from continual.report.tables import ablation_ladder
from continual.report.terminal import ladder_table

# -- paired gains on hand-made result documents -------------------------------------------------

RUNGS = [  # name, role, baseline, accuracy per seed 0..2
    ("L", "learner", None, [0.50, 0.60, 0.70]),
    ("L[batch]", "option", "L", [0.60, 0.80, 1.00]),  # +0.1, +0.2, +0.3
    ("L[batch]+c", "full", "L[batch]", [0.70, 0.91, 1.12]),  # +0.10, +0.11, +0.12
]
LEARNING = {  # learning accuracy per seed: the component gives up plasticity (−0.35, −0.34, −0.33)
    "L": [0.95, 0.96, 0.97],
    "L[batch]": [0.95, 0.96, 0.97],
    "L[batch]+c": [0.60, 0.62, 0.64],
}


def documents() -> list[dict]:
    docs = []
    for index, (name, role, baseline, values) in enumerate(RUNGS):
        for seed, value in enumerate(values):
            tags = {"ablation": "L+c", "rung": name, "rung_index": index, "baseline": baseline}
            docs.append(
                {
                    "seed": seed,
                    "run_id": f"{name}-{seed}",
                    "scenario": {"name": "toy"},
                    "stream": {"name": "toy stream"},
                    "strategy": {"name": f"L+c~{name}"},
                    "metrics": {
                        "average_accuracy": value,
                        "learning_accuracy": LEARNING[name][seed],
                        "forgetting": 1 - value,
                    },
                    "tags": {**tags, "role": role},
                }
            )
    return docs


T_975_2 = 4.302652729911275  # Student t, 97.5 % quantile, 2 degrees of freedom


def test_paired_differences_match_hand_computed_t_intervals():
    summary = summarise(reversed(documents()))  # order of documents does not matter
    assert [r["name"] for r in summary["rungs"]] == ["L", "L[batch]", "L[batch]+c"]
    pairs = [(c["rung"], c["baseline"], c["why"]) for c in summary["comparisons"]]
    assert pairs == [
        ("L[batch]", "L", "rung below"),
        ("L[batch]+c", "L[batch]", "rung below"),
        ("L[batch]+c", "L", "full vs learner"),
    ]
    option = summary["comparisons"][0]["difference"]["average_accuracy"]
    half = T_975_2 * 0.1 / 3**0.5  # std of (0.1, 0.2, 0.3) is 0.1
    assert option["mean"] == pytest.approx(0.2)
    assert option["low"] == pytest.approx(0.2 - half) and option["high"] == pytest.approx(
        0.2 + half
    )
    assert option["distinguishable"] is False  # the interval straddles zero (−0.048, 0.448)
    assert option["seeds"] == [0, 1, 2]
    component = summary["comparisons"][1]["difference"]
    half = T_975_2 * 0.01 / 3**0.5
    assert component["average_accuracy"]["mean"] == pytest.approx(0.11)
    assert component["average_accuracy"]["low"] == pytest.approx(0.11 - half)
    assert component["average_accuracy"]["distinguishable"] is True
    assert component["forgetting"]["mean"] == pytest.approx(-0.11)  # every metric is compared
    assert component["forgetting"]["high"] == pytest.approx(-0.11 + half)
    total = summary["comparisons"][2]["difference"]["average_accuracy"]
    assert total["mean"] == pytest.approx((0.20 + 0.31 + 0.42) / 3)
    learner = summary["rungs"][0]["metrics"]["average_accuracy"]
    assert total["low"] > 0  # alone, its 95 % interval excludes 0 ...
    assert total["distinguishable"] is False  # ... but not after Holm over the ladder (below)
    assert learner["mean"] == pytest.approx(0.6) and learner["std"] == pytest.approx(0.1)
    assert summary["seeds"] == [0, 1, 2] and summary["ablation"] == "L+c"
    assert summary["rungs"][1]["runs"] == {"0": "L[batch]-0", "1": "L[batch]-1", "2": "L[batch]-2"}


def _df2_p(differences: list[float]) -> float:
    """Two-sided paired t p-value with 2 degrees of freedom: 1 − t/√(t² + 2)."""
    mean = sum(differences) / 3
    std = (sum((d - mean) ** 2 for d in differences) / 2) ** 0.5
    t = mean / (std / 3**0.5)
    return 1 - t / (t * t + 2) ** 0.5


def test_holm_adjusts_the_ladders_comparisons_of_each_metric():
    summary = summarise(documents())
    option, component, total = (c["difference"]["average_accuracy"] for c in summary["comparisons"])
    raw = [_df2_p([0.1, 0.2, 0.3]), _df2_p([0.10, 0.11, 0.12]), _df2_p([0.20, 0.31, 0.42])]
    assert raw == pytest.approx([0.074180, 0.002743, 0.039500], abs=1e-6)
    assert [d["t_p"] for d in (option, component, total)] == pytest.approx(raw)
    # Holm over 3: sorted 0.0027·3 = 0.0082, 0.0395·2 = 0.0790, max(0.0790, 0.0742) = 0.0790
    holm = [2 * raw[2], 3 * raw[1], 2 * raw[2]]
    assert [d["holm_p"] for d in (option, component, total)] == pytest.approx(holm)
    assert [d["distinguishable"] for d in (option, component, total)] == [False, True, False]
    assert all(d["family"] == 3 for d in (option, component, total))
    # 3 seeds: no Wilcoxon p, and the reason kept beside the null
    assert component["wilcoxon_p"] is None and component["wilcoxon_note"] == "n too small"
    # the Bonferroni interval at 1 − 0.05/3 is wider than the 95 % one
    assert component["simultaneous_low"] < component["low"]
    assert component["simultaneous_high"] > component["high"]
    forgetting = summary["comparisons"][1]["difference"]["forgetting"]
    assert forgetting["holm_p"] == pytest.approx(3 * raw[1])  # its own family, same numbers


def test_unpaired_seeds_are_left_out_and_missing_baseline_is_an_error():
    docs = [d for d in documents() if not (d["tags"]["rung"] == "L" and d["seed"] == 2)]
    summary = summarise(docs)
    option = summary["comparisons"][0]["difference"]["average_accuracy"]
    assert option["seeds"] == [0, 1] and option["mean"] == pytest.approx(0.15)
    with pytest.raises(ContinualError, match="baseline 'L' has no results"):
        summarise([d for d in documents() if d["tags"]["rung"] != "L"])
    with pytest.raises(ContinualError, match="no ablation results"):
        summarise([{**d, "tags": {}} for d in documents()])


def test_table_fits_80_columns_and_marks_distinguishable_rows():
    console = Console(width=80, record=True)
    console.print(ladder_table(summarise(documents())))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    assert "+11.0±2.5*" in text  # hand-computed: 0.11 ± 4.303 · 0.01/√3
    assert "+20.0±24.8 " in text  # not distinguishable: no star
    assert "+31.0±27.3 " in text  # its interval excludes 0, its Holm p does not
    assert "-34.0±2.5*" in text  # learning accuracy lost: −0.34 ± 4.303 · 0.01/√3
    assert "0.079" in text and "0.008" in text and "Holm" in text


def test_report_table_shows_the_summarys_numbers_in_markdown_and_html():
    summary = summarise(documents())
    table = ablation_ladder(summary)
    text = markdown.grid(table)
    assert text.count("\n") == 2 + 4  # header, rule; three rungs and the full-vs-learner row
    assert "| +11.0 [+8.5,+13.5]* |" in text  # 0.11 ± 4.303 · 0.01/√3, Holm p 0.008: starred
    assert "| -34.0 [-36.5,-31.5]* |" in text  # learning accuracy lost, beside Δ acc
    assert "| 91.0 | 62.0 |" in text  # the rung's own final and learning accuracy
    # raw p, Holm p (the same family as the terminal's: 0.079), Wilcoxon (3 pairs: n too small)
    # of the full strategy vs the learner alone, on its own row
    full_vs_learner = table.rows[-1]
    assert full_vs_learner[:3] == ("", "└ full vs learner", "#0")
    assert full_vs_learner[5] == "+31.0 [+3.7,+58.3]"  # not starred: Holm p 0.079
    assert full_vs_learner[-3:] == ("0.040", "0.079", "n too small")
    assert "probe acc %" not in table.headers  # no run has a probe
    page = html.render_table(table)
    assert "<td>+11.0 [+8.5,+13.5]*</td>" in page and "<td>0.079</td>" in page


def test_probe_columns_appear_when_the_runs_have_a_probe():
    docs = documents()
    for doc in docs:  # the probe gains 0.05 on the option rung only
        doc["metrics"]["probe_accuracy"] = 0.5 + 0.05 * (doc["tags"]["rung"] != "L")
    table = ablation_ladder(summarise(docs))
    probe, gain = table.headers.index("probe acc %"), table.headers.index("Δ probe acc (pp)")
    assert [row[probe] for row in table.rows] == ["50.0", "55.0", "55.0", ""]
    five, zero = "+5.0 [+5.0,+5.0]", "+0.0 [+0.0,+0.0]"  # no spread: never starred
    assert [row[gain] for row in table.rows] == ["", five, zero, five]


def test_reports_summarise_an_incomplete_ladder_with_its_comparison_empty():
    docs = [d for d in documents() if d["tags"]["rung"] != "L"]  # the bottom rung never ran
    (summary,) = ladders(docs)
    option, component = summary["comparisons"]  # full vs learner: no learner rung, no row
    assert option["baseline_index"] is None
    assert option["difference"]["average_accuracy"] is None
    assert component["difference"]["average_accuracy"]["family"] == 1  # the empty one left out
    assert ablation_ladder(summary).rows[0][2:6] == ("—", "80.0", "96.0", "—")
    untagged = [{**d, "tags": {}} for d in documents()]
    assert ladders(untagged) == []
