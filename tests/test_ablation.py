"""Ablation ladders: rung expansion per learner (hand-checked), paired gains on hand-made result
documents (hand-computed t intervals), the 80-column table, and the command end to end."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from continual import ablation, specs
from continual.errors import ContinualError
from continual.report.ladder import ladder_markdown, ladder_table
from tests.conftest import write

SLEEP = '[[components]]\nname = "sleep"\nsteps = 40\n'
CONSOLIDATION = '[[components]]\nname = "consolidation"\nstrength = 0.01\n'


def strategy(tmp_path, name: str, learner: str, *components: str) -> specs.StrategySpec:
    text = f"[learner]\n{learner}\n[training]\nepochs = 1\nbatch_size = 16\n" + "".join(components)
    return specs.load_strategy(str(write(tmp_path, f"{name}.toml", text)))


def ladder(spec: specs.StrategySpec) -> list[tuple[str, str, str | None]]:
    return [(r.name, r.role, r.baseline) for r in ablation.rungs(spec)]


def test_hebbian_ladder_has_option_components_full_and_untrained_control(tmp_path):
    learner = 'name = "hebbian"\nhidden = [8]\nreadout_competition = "batch"'
    spec = strategy(tmp_path, "h", learner, CONSOLIDATION, SLEEP)
    assert ladder(spec) == [
        ("hebbian", "learner", None),
        ("hebbian[batch]", "option", "hebbian"),
        ("hebbian[batch]+consolidation", "component", "hebbian[batch]"),
        ("hebbian[batch]+sleep", "component", "hebbian[batch]"),
        ("hebbian[batch]+consolidation+sleep", "full", "hebbian[batch]+sleep"),
        (
            "hebbian[batch,untrained]+consolidation+sleep",
            "control",
            "hebbian[batch]+consolidation+sleep",
        ),
    ]
    rungs = ablation.rungs(spec)
    learners = [r.strategy.learner.values for r in rungs]
    assert [v["readout_competition"] for v in learners] == ["all"] + ["batch"] * 5
    # the control: the same learner settings, [readout] features = "untrained"
    assert learners[5] == learners[4]
    assert [r.strategy.readout for r in rungs[:5]] == [None] * 5
    assert rungs[5].strategy.readout.values == {"name": "trained", "features": "untrained"}
    assert all(v["hidden"] == [8] for v in learners)  # other settings kept on every rung
    names = [[c.name for c in r.strategy.components] for r in rungs]
    assert names == [[], [], ["consolidation"], ["sleep"], ["consolidation", "sleep"]] * 1 + [
        ["consolidation", "sleep"]
    ]
    assert rungs[4].strategy.components == spec.components  # the full strategy, as given
    assert rungs[2].strategy.components[0].values["strength"] == 0.01
    assert {r.strategy.name for r in rungs} == {f"h~{r.name}" for r in rungs}


@pytest.mark.parametrize(
    ("learner", "field", "plain"),
    [
        ('name = "ff"\nhidden = [8]\nnegatives = "batch"', "negatives", "random"),
        ('name = "pc"\nhidden = [8]\noutput_clamp = "batch"', "output_clamp", "all"),
        ('name = "backprop"\nhidden = [8]\nloss_classes = "batch"', "loss_classes", "all"),
    ],
)
def test_learner_alone_takes_the_plain_default_of_its_batch_option(tmp_path, learner, field, plain):
    spec = strategy(tmp_path, "s", learner, CONSOLIDATION, SLEEP)
    short = learner.split('"')[1]
    assert ladder(spec) == [
        (short, "learner", None),
        (f"{short}[batch]", "option", short),
        (f"{short}[batch]+consolidation", "component", f"{short}[batch]"),
        (f"{short}[batch]+sleep", "component", f"{short}[batch]"),
        (f"{short}[batch]+consolidation+sleep", "full", f"{short}[batch]+sleep"),
        (
            f"{short}[batch,untrained]+consolidation+sleep",
            "control",
            f"{short}[batch]+consolidation+sleep",
        ),
    ]
    values = [r.strategy.learner.values[field] for r in ablation.rungs(spec)]
    assert values == [plain, "batch", "batch", "batch", "batch", "batch"]


def test_one_component_and_no_option_gives_learner_then_full(tmp_path):
    spec = strategy(tmp_path, "bs", 'name = "backprop"\nhidden = [8]\nbias = false', SLEEP)
    assert ladder(spec) == [
        ("backprop", "learner", None),
        ("backprop+sleep", "full", "backprop"),
        ("backprop[untrained]+sleep", "control", "backprop+sleep"),
    ]
    assert ablation.rungs(spec)[0].strategy.learner.values["bias"] is False


def test_option_only_strategy_and_repeated_components(tmp_path):
    spec = strategy(tmp_path, "fb", 'name = "ff"\nhidden = [8]\nnegatives = "batch"')
    assert ladder(spec) == [
        ("ff", "learner", None),
        ("ff[batch]", "full", "ff"),
        ("ff[batch,untrained]", "control", "ff[batch]"),
    ]
    with pytest.raises(ContinualError, match="appears twice"):  # refused when the spec loads
        strategy(tmp_path, "t", 'name = "pc"\nhidden = [8]', SLEEP, SLEEP)


def test_untrained_hebbian_alone_gets_only_its_control_and_nothing_to_ablate_is_an_error(tmp_path):
    hebbian = strategy(tmp_path, "h", 'name = "hebbian"\nhidden = [8]')
    assert ladder(hebbian) == [
        ("hebbian", "full", None),
        ("hebbian[untrained]", "control", "hebbian"),
    ]
    plain = strategy(tmp_path, "b", 'name = "random-features"\nhidden = [8]')
    with pytest.raises(ContinualError, match="nothing to ablate"):
        ablation.rungs(plain)  # fixed random features: no control to run
    untrained = strategy(tmp_path, "u", 'name = "hebbian"\nhidden = [8]\ntrain_features = false')
    with pytest.raises(ContinualError, match="nothing to ablate"):
        ablation.rungs(untrained)
    text = '[readout]\nname = "slda"\nfeatures = "untrained"\n'
    already = strategy(tmp_path, "v", 'name = "backprop"\nhidden = [8]', text)
    with pytest.raises(ContinualError, match="nothing to ablate"):
        ablation.rungs(already)


def test_control_keeps_a_statistics_readout(tmp_path):
    readout = '[readout]\nname = "slda"\nshrinkage = 0.01\n'
    spec = strategy(tmp_path, "hs", 'name = "hebbian"\nhidden = [8]', readout)
    rungs = ablation.rungs(spec)
    assert [r.role for r in rungs] == ["full", "control"]
    assert rungs[0].strategy.readout is spec.readout
    assert rungs[1].strategy.readout.values == {
        "name": "slda",
        "shrinkage": 0.01,
        "features": "untrained",
    }


def test_plan_tags_every_cell_and_pairs_seeds(tmp_path, synthetic_scenario):
    spec = strategy(tmp_path, "bs", 'name = "backprop"\nhidden = [8]', SLEEP)
    scenario = specs.load_scenario(str(synthetic_scenario))
    cells = ablation.plan(scenario, spec, [3, 7])
    assert [(c.tags["rung"], c.seed) for c in cells] == [
        ("backprop", 3),
        ("backprop", 7),
        ("backprop+sleep", 3),
        ("backprop+sleep", 7),
        ("backprop[untrained]+sleep", 3),
        ("backprop[untrained]+sleep", 7),
    ]
    assert cells[2].tags == {
        "ablation": "bs",
        "rung": "backprop+sleep",
        "rung_index": 1,
        "baseline": "backprop",
        "role": "full",
    }
    with pytest.raises(ContinualError, match="each seed once"):
        ablation.plan(scenario, spec, [1, 1])
    with pytest.raises(ContinualError, match="at least one seed"):
        ablation.plan(scenario, spec, [])


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
    summary = ablation.summarise(reversed(documents()))  # order of documents does not matter
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
    summary = ablation.summarise(documents())
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
    summary = ablation.summarise(docs)
    option = summary["comparisons"][0]["difference"]["average_accuracy"]
    assert option["seeds"] == [0, 1] and option["mean"] == pytest.approx(0.15)
    with pytest.raises(ContinualError, match="baseline 'L' has no results"):
        ablation.summarise([d for d in documents() if d["tags"]["rung"] != "L"])
    with pytest.raises(ContinualError, match="no ablation results"):
        ablation.summarise([{**d, "tags": {}} for d in documents()])


def test_table_fits_80_columns_and_marks_distinguishable_rows():
    console = Console(width=80, record=True)
    console.print(ladder_table(ablation.summarise(documents())))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    assert "+11.0±2.5*" in text  # hand-computed: 0.11 ± 4.303 · 0.01/√3
    assert "+20.0±24.8 " in text  # not distinguishable: no star
    assert "+31.0±27.3 " in text  # its interval excludes 0, its Holm p does not
    assert "-34.0±2.5*" in text  # learning accuracy lost: −0.34 ± 4.303 · 0.01/√3
    assert "0.079" in text and "0.008" in text and "Holm" in text
    markdown = ladder_markdown(ablation.summarise(documents()))
    assert "+11.0 [+8.5,+13.5]\\*" in markdown and markdown.count("\n") == 2 + 4
    assert "-34.0 [-36.5,-31.5]\\*" in markdown  # beside Δ acc, in the Markdown ladder too
    assert "| 91.0 | 62.0 |" in markdown  # the rung's own final and learning accuracy
    # raw p, Holm p, Wilcoxon (3 pairs: n too small) of the full strategy vs the learner alone
    assert "| +31.0 [+3.7,+58.3] |" in markdown and "| 0.040 | 0.079 | n too small |" in markdown


# -- the command, end to end --------------------------------------------------------------------


def test_ablate_command_end_to_end(cli, tmp_path, synthetic_scenario):
    learner = 'name = "hebbian"\nhidden = [16]\nreadout_competition = "batch"'
    path = write(
        tmp_path,
        "tiny.toml",
        f"[learner]\n{learner}\n[training]\nepochs = 2\nbatch_size = 32\n{CONSOLIDATION}{SLEEP}",
    )
    out = tmp_path / "out"
    code, stdout, stderr = cli(
        "ablate",
        str(path),
        "--scenario",
        str(synthetic_scenario),
        "--seeds",
        "2",
        "--out",
        str(out),
        "--quiet",
    )
    assert code == 0, stderr
    runs = sorted(out.glob("*seed*.json"))
    assert len(runs) == 6 * 2
    summary = json.loads((out / "synthetic__tiny__ablation.json").read_text())
    assert summary["seeds"] == [0, 1] and len(summary["rungs"]) == 6
    assert len(summary["comparisons"]) == 5 + 2  # each rung vs below + full vs learner, options
    option = summary["comparisons"][0]
    assert option["rung"] == "hebbian[batch]" and option["baseline"] == "hebbian"
    # the labels trick removes most class-incremental forgetting: clearly positive accuracy gain
    assert option["difference"]["average_accuracy"]["mean"] > 0.1
    tags = json.loads(runs[0].read_text())["tags"]
    assert tags["ablation"] == "tiny" and set(tags) >= {"rung", "rung_index", "baseline"}
    assert "untrained control" in stdout and "ablation of tiny" in stdout
    assert max(len(line) for line in stdout.splitlines()) <= 80
    # the report renders the ladder's runs; the summary beside them is not mistaken for a run
    code, _, stderr = cli("report", str(out))
    assert code == 0, stderr
    assert "ablation" in (out / "report.md").read_text(encoding="utf-8").lower()


def test_ablate_command_bad_input_is_one_clear_message(cli, tmp_path, synthetic_scenario):
    code, _, err = cli("ablate", "hebian+consolidation", "--seeds", "2", "--out", str(tmp_path))
    assert code == 2 and "did you mean 'hebbian'" in err and "Traceback" not in err
    code, _, err = cli("ablate", "hebbian+sleep", "--seeds", "0")
    assert code == 2 and "--seeds 0" in err
    plain = write(tmp_path, "plain.toml", '[learner]\nname = "random-features"\nhidden = [4]\n')
    code, _, err = cli(
        "ablate", str(plain), "--scenario", str(synthetic_scenario), "--out", str(tmp_path / "o")
    )
    assert code == 2 and "nothing to ablate" in err
    assert not (tmp_path / "o").exists()  # nothing half-written
