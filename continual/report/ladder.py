"""An ablation ladder's summary as plain data: from the tagged result documents of one ladder
(:func:`continual.ablation.plan` tags each run with its rung), each rung's metrics over seeds, and
for each rung against its baseline (and the full strategy against the learner alone and the
options alone) the paired per-seed difference of every metric — learning accuracy, forgetting
and the representation probe's accuracy where the runs have one included — with its paired-t
interval, raw p-value, Holm-adjusted p-value over the ladder's comparisons of that metric
(Holm 1979) and the Wilcoxon check (:mod:`continual.statistics`).

One computation, used by ``continual ablate`` (which writes it as the ladder summary JSON and
prints it) and by the reports (which rebuild it from the run files); its renderers are
:func:`continual.report.terminal.ladder_table` and :func:`continual.report.tables.ablation_ladder`
(Markdown and HTML)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from continual.errors import ContinualError
from continual.statistics import CONFIDENCE, Estimate, Paired, estimate, holm_family, paired

SUMMARY_KIND = "ablation-ladder"
SUMMARY_SUFFIX = "__ablation.json"  # a ladder summary, not a run: reports skip these files
TEST = (
    "paired t: 95 % confidence interval and p-value of the per-seed difference (rung − "
    "baseline); Holm-adjusted p-value over the ladder's comparisons of each metric (a star needs "
    "it below 0.05 and a spread); Wilcoxon signed-rank p-value as a check from 6 pairs on"
)


def ladders(results: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The summary (:func:`summarise`) of every ablation ladder whose runs are among ``results``
    (those tagged with an ablation and a rung), one per ablation and scenario, in first-seen
    order. A ladder whose files are incomplete (a rung without its baseline's runs: an
    interrupted ablation) is summarised with that comparison empty."""
    by_ablation: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for result in results:
        tags = result.get("tags") or {}
        if "ablation" in tags and "rung" in tags:
            key = (str(tags["ablation"]), str(result["scenario"]["name"]))
            by_ablation.setdefault(key, []).append(result)
    return [summarise(group, complete=False) for group in by_ablation.values()]


def summarise(
    results: Iterable[dict[str, Any]], confidence: float = CONFIDENCE, complete: bool = True
) -> dict[str, Any]:
    """The ladder summary of tagged result documents: each rung's metrics over seeds, and for each
    rung against its baseline (and the full strategy against the learner alone and the options
    alone) the paired per-seed difference of every metric, with its p-value Holm-adjusted over
    the ladder's comparisons of that metric. A rung whose baseline has no results is an error
    (``complete=False``: its differences are None, left out of the Holm families)."""
    results = list(results)
    ladder = _group(results)
    if not ladder:
        raise ContinualError("no ablation results (result documents carry no ablation tags)")
    names = {tags["rung"]: tags for tags, _ in ladder}
    by_rung = {tags["rung"]: runs for tags, runs in ladder}
    first = ladder[0][0]
    metric_names = sorted({m for _, runs in ladder for r in runs for m in r["metrics"]})
    rung_rows = [_rung_summary(tags, runs, metric_names, confidence) for tags, runs in ladder]
    comparisons = [
        _comparison(names, by_rung, a, b, why, metric_names, confidence, complete)
        for a, b, why in _pairs([tags for tags, _ in ladder])
    ]
    for m in metric_names:  # one Holm family per metric: the ladder's comparisons
        family = holm_family([c["difference"][m] for c in comparisons])
        for comparison, result in zip(comparisons, family):
            comparison["difference"][m] = _paired_dict(result)
    return {
        "kind": SUMMARY_KIND,
        "ablation": first["ablation"],
        "scenario": results[0]["scenario"]["name"],
        "stream": results[0].get("stream", {}).get("name"),
        "seeds": sorted({r["seed"] for r in results}),
        "confidence": confidence,
        "test": TEST,
        "metrics": metric_names,
        "rungs": rung_rows,
        "comparisons": comparisons,
    }


def _group(results: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(tags, results) per rung, in rung order; one ablation only. A rung without a
    ``rung_index`` tag (a result file tagged by hand) takes its place in first-seen order."""
    rungs_seen: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    ablations = set()
    for result in results:
        tags = result.get("tags") or {}
        if "rung" not in tags:
            continue
        ablations.add(tags.get("ablation"))
        if tags["rung"] not in rungs_seen:
            tags = {"rung_index": len(rungs_seen), **tags}
        rungs_seen.setdefault(tags["rung"], (tags, []))[1].append(result)
    if len(ablations) > 1:
        raise ContinualError(f"results of several ablations mixed: {sorted(map(str, ablations))}")
    return sorted(rungs_seen.values(), key=lambda item: item[0]["rung_index"])


def _pairs(ladder: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(rung, baseline, why) for every comparison the summary reports, without duplicates."""
    pairs = [(t["rung"], t["baseline"], "rung below") for t in ladder if t.get("baseline")]
    full = next((t["rung"] for t in ladder if t.get("role") == "full"), None)
    learner = next((t["rung"] for t in ladder if t.get("role") == "learner"), None)
    option = next((t["rung"] for t in ladder if t.get("role") == "option"), None)
    seen = {(a, b) for a, b, _ in pairs}
    for base, why in ((learner, "full vs learner"), (option, "full vs options")):
        if full is not None and base is not None and (full, base) not in seen and full != base:
            pairs.append((full, base, why))
            seen.add((full, base))
    return pairs


def _estimate_dict(value: Estimate | None) -> dict[str, Any] | None:
    return None if value is None else dataclasses.asdict(value)


def _paired_dict(result: Paired | None) -> dict[str, Any] | None:
    if result is None:
        return None
    simultaneous = result.simultaneous
    return {
        **dataclasses.asdict(result.difference),
        "seeds": list(result.seeds),
        "t_p": result.t_p,
        "holm_p": result.holm_p,
        "family": result.family,
        "simultaneous_low": None if simultaneous is None else simultaneous[0],
        "simultaneous_high": None if simultaneous is None else simultaneous[1],
        "wilcoxon_p": result.wilcoxon_p,
        "wilcoxon_note": result.wilcoxon_note,
        "distinguishable": result.distinguishable,
    }


def _rung_summary(
    tags: dict[str, Any], runs: list[dict[str, Any]], metric_names: list[str], confidence: float
) -> dict[str, Any]:
    return {
        "index": tags["rung_index"],
        "name": tags["rung"],
        "role": tags.get("role"),
        "baseline": tags.get("baseline"),
        "strategy": runs[0]["strategy"],
        "runs": {str(r["seed"]): r.get("run_id") for r in runs},
        "metrics": {
            m: _estimate_dict(estimate((r["metrics"].get(m) for r in runs), confidence))
            for m in metric_names
        },
    }


def _comparison(
    names: dict[str, dict[str, Any]],
    by_rung: dict[str, list[dict[str, Any]]],
    rung: str,
    baseline: str,
    why: str,
    metric_names: list[str],
    confidence: float,
    complete: bool = True,
) -> dict[str, Any]:
    if baseline not in by_rung and complete:
        raise ContinualError(f"rung {rung!r}: its baseline {baseline!r} has no results")
    runs = lambda name: by_rung.get(name, [])  # noqa: E731
    per_seed = lambda name, m: {r["seed"]: r["metrics"].get(m) for r in runs(name)}  # noqa: E731
    differences: dict[str, Any] = {
        m: paired(per_seed(rung, m), per_seed(baseline, m), confidence) for m in metric_names
    }  # Paired objects until summarise has adjusted the family
    return {
        "rung": rung,
        "rung_index": names[rung]["rung_index"],
        "baseline": baseline,
        "baseline_index": names[baseline]["rung_index"] if baseline in names else None,
        "why": why,
        "difference": differences,
    }
