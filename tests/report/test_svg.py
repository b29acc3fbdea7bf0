"""The anytime curves drawn as SVG: every point where the data puts it."""

import re

import numpy as np
import pytest

from continual.report import svg
from tests.report.test_report import matrices, result

WIDTH = svg.WIDTH - svg.LEFT - svg.RIGHT
HEIGHT = svg.HEIGHT - svg.TOP - svg.BOTTOM


def drawn(chart: str) -> dict[str, np.ndarray]:
    """Each polyline's points back in data units (steps 0..10, accuracy in %)."""
    lines = {}
    for points, label in re.findall(r'<polyline points="([^"]*)"[^>]*><title>([^<]*)<', chart):
        xy = np.array([[float(v) for v in p.split(",")] for p in points.split()])
        step = (xy[:, 0] - svg.LEFT) / WIDTH * 10
        accuracy = 100 - (xy[:, 1] - svg.TOP) / HEIGHT * 100
        lines[label] = np.stack([step, accuracy], axis=1)
    return lines


def test_each_experience_and_the_average_are_drawn_at_their_mean_over_seeds():
    group = [result("finetune", i, m) for i, m in enumerate(matrices(0.3, 0.5, 0.8))]
    lines = drawn(svg.anytime(group, "finetune on hand"))
    mean = np.mean([r["curves"]["accuracy"] for r in group], axis=0) * 100
    assert set(lines) == {"exp 0", "exp 1", "average"}
    for label, expected in (("exp 0", mean[:, 0]), ("exp 1", mean[:, 1])):
        np.testing.assert_allclose(lines[label][:, 0], [0, 5, 10], atol=0.01)
        np.testing.assert_allclose(lines[label][:, 1], expected, atol=0.06)
    np.testing.assert_allclose(lines["average"][:, 1], mean.mean(axis=1), atol=0.06)
    assert lines["exp 0"][2, 1] == pytest.approx(160 / 3, abs=0.06)  # (30 + 50 + 80) / 3


def test_seeds_evaluated_at_other_steps_are_averaged_on_experience_progress():
    """Seed 2 has its points at steps 0, 4, 10 (experiences end at 5 and 10): on the axis of
    experiences trained its points sit at 0, 0.8 and 2, and its value at 1 (the end of the
    first experience for seeds 0 and 1) is interpolated between them."""
    group = [result("s", i, m) for i, m in enumerate(matrices(0.3, 0.5, 0.8))]
    group[2] = {**group[2], "curves": {**group[2]["curves"], "step": [0, 4, 10]}}
    chart = svg.anytime(group, "s <&> on hand")
    label = "s &lt;&amp;&gt; on hand (mean of 3 seeds, on experience progress)"
    assert f'aria-label="{label}"' in chart and "experiences trained" in chart
    exp0 = drawn(chart)["exp 0"]  # x axis 0..2 drawn where steps 0..10 would be
    np.testing.assert_allclose(exp0[:, 0] / 5, [0, 1, 2], atol=0.01)
    seed2_at_1 = 0.9 + (1 - 0.8) / (2 - 0.8) * (0.8 - 0.9)
    expected = [10.0, (0.9 + 0.9 + seed2_at_1) / 3 * 100, (0.3 + 0.5 + 0.8) / 3 * 100]
    np.testing.assert_allclose(exp0[:, 1], expected, atol=0.06)


def test_a_diverged_seed_is_left_out_of_the_mean():
    group = [result("s", i, m) for i, m in enumerate(matrices(0.3, 0.5, 0.8))]
    short = {"step": [0, 5], "accuracy": [[0.1, 0.1], [0.0, 0.0]], "experience_end_steps": [5]}
    group[1] = {**group[1], "status": "diverged", "curves": short}
    chart = svg.anytime(group)
    assert "(mean of 2 seeds)" in chart
    assert drawn(chart)["exp 0"][2, 1] == pytest.approx(55, abs=0.06)  # (30 + 80) / 2


def test_experience_boundaries_are_dashed_lines_at_their_steps_but_the_last():
    chart = svg.anytime([result("s", 0, matrices(0.3, 0.5, 0.8)[0])])
    boundaries = re.findall(r'<line x1="([0-9.]+)"[^>]*class="boundary"', chart)
    assert [float(b) for b in boundaries] == [pytest.approx(svg.LEFT + WIDTH / 2, abs=0.05)]
    assert "(seed 0)" in chart


def test_ticks_are_round_numbers_covering_the_range():
    assert svg.ticks(0, 100) == [0, 20, 40, 60, 80, 100]
    assert svg.ticks(0, 1234) == [0, 200, 400, 600, 800, 1000, 1200]
    assert svg.ticks(3, 3) == [3]


def test_a_long_stream_keeps_only_the_average_in_the_legend():
    steps = list(range(0, 30, 2))
    series = [(f"exp {j}", [50.0] * len(steps), "#000", 1.0) for j in range(15)]
    chart = svg.line_chart(
        steps,
        [*series, ("average", [50.0] * len(steps), "#000", 2.0)],
        title="t",
        x_label="x",
        y_label="y",
    )
    assert re.findall(r'class="legend">([^<]*)<', chart) == ["average"]
    assert chart.count("<polyline") == 16


def _chart(steps, values, boundaries=()):
    return svg.line_chart(
        steps,
        [("exp 0", values, "#000", 1.0)],
        title="t",
        x_label="x",
        y_label="y",
        boundaries=boundaries,
    )


def test_a_gap_is_left_open_and_a_lone_point_is_a_dot():
    chart = _chart([0, 1, 2, 3, 4], [10.0, 20.0, float("nan"), 40.0, 50.0])
    assert chart.count("<polyline") == 2 and "nan" not in chart
    lone = _chart([7], [30.0])
    assert lone.count("<circle") == 1 and "<polyline" not in lone
    labels = re.findall(r'text-anchor="middle">([0-9.]+)</text>', lone)
    assert labels == ["7", "8"]  # whole training steps, not 7.2, 7.4 ...


def test_boundaries_beyond_the_last_point_stay_inside_the_chart():
    chart = _chart([0, 5], [10.0, 20.0], boundaries=[5, 10, 20])
    xs = [float(b) for b in re.findall(r'<line x1="([0-9.]+)"[^>]*class="boundary"', chart)]
    assert max(xs) == pytest.approx(svg.LEFT + WIDTH, abs=0.05)


def test_a_very_long_curve_is_thinned_but_keeps_its_ends():
    steps = list(range(5000))
    curve = {
        "step": steps,
        "accuracy": [[s / 5000, 1.0] for s in steps],
        "experience_end_steps": [2500, 4999],
    }
    chart = svg.anytime([{**result("s", 0, matrices(0.3, 0.5, 0.8)[0]), "curves": curve}])
    points = re.findall(r'<polyline points="([^"]*)"', chart)[0].split()
    assert len(points) <= svg.MAX_POINTS + 1
    assert points[0].startswith(f"{svg.LEFT:.1f},") and points[-1].startswith(
        f"{svg.LEFT + WIDTH:.1f},"
    )


def _seed(seed, steps, ends, accuracy, **extra):
    base = result("s", seed, matrices(0.3, 0.5, 0.8)[0], **extra)
    curves = {"step": steps, "experience_end_steps": ends, "accuracy": accuracy}
    return {**base, "curves": curves}


def _on_progress(chart: str) -> dict[str, np.ndarray]:
    """Polylines back in (experiences trained, accuracy %), for a 0..T axis of ``T`` = 2."""
    return {k: np.stack([v[:, 0] / 5, v[:, 1]], 1) for k, v in drawn(chart).items()}


def test_seeds_on_the_same_steps_but_other_boundaries_meet_at_their_matrix_rows():
    """Both seeds were evaluated at steps 0, 2, 4, 6 (a common eval_every), but seed 0's first
    experience ended at 2 and seed 1's at 4: averaging by step would mix a row with a mid-training
    point; on experience progress the chart at 1 is the mean of the two rows."""
    rows0 = [[0.1, 0.1], [0.9, 0.0], [0.5, 0.6], [0.3, 0.8]]
    rows1 = [[0.2, 0.1], [0.6, 0.3], [0.7, 0.0], [0.4, 0.9]]
    chart = svg.anytime(
        [_seed(0, [0, 2, 4, 6], [2, 6], rows0), _seed(1, [0, 2, 4, 6], [4, 6], rows1)]
    )
    assert "mean of 2 seeds, on experience progress" in chart
    exp0 = _on_progress(chart)["exp 0"]
    at = {round(float(x), 2): y for x, y in exp0}
    assert at[1.0] == pytest.approx((0.9 + 0.7) / 2 * 100, abs=0.06)  # the two rows after exp 0
    assert at[2.0] == pytest.approx((0.3 + 0.4) / 2 * 100, abs=0.06)


def test_a_batch_that_ended_two_tasks_stands_at_both_rows():
    """Seed 1 finished its first two tasks in the batch of step 5 (task-free): that evaluation
    is its row 1 and its row 2, so the chart at 1 and at 2 uses it for seed 1."""
    a = _seed(
        0, [0, 2, 5, 8, 10], [5, 8, 10], [[0.0] * 3, [0.2] * 3, [0.6] * 3, [0.7] * 3, [0.9] * 3]
    )
    b = _seed(
        1, [0, 2, 5, 7, 10], [5, 5, 10], [[0.0] * 3, [0.1] * 3, [0.4] * 3, [0.5] * 3, [0.8] * 3]
    )
    positions, _ = svg.on_progress(b["curves"])
    assert positions.tolist() == [0, 0.8, 1, 2, 2.4, 3]  # step 2: 2/5 of two tasks; 7: of the third
    chart = svg.anytime([a, b])
    values = {round(x * 3 / 10, 2): y for x, y in drawn(chart)["exp 0"]}  # axis 0..3
    assert values[1.0] == pytest.approx((0.6 + 0.4) / 2 * 100, abs=0.06)
    assert values[2.0] == pytest.approx((0.7 + 0.4) / 2 * 100, abs=0.06)


def test_diverged_alone_or_outnumbered_seeds_still_draw_sensibly():
    short = [[0.1, 0.1], [0.9, 0.0], [0.5, 0.5]]
    alone = svg.anytime([_seed(3, [0, 5, 7], [5], short, status="diverged")])
    assert "(seed 3)" in alone and "training step" in alone
    three = [[0.1] * 3, [0.5] * 3, [0.6] * 3, [0.7] * 3]
    two = [[0.1, 0.1], [0.9, 0.2], [0.3, 0.8]]
    group = [_seed(0, [0, 4, 8, 12], [4, 8, 12], three)]
    group += [_seed(s, [0, 5, 10], [5, 10], two) for s in (1, 2)]  # most seeds: 2 experiences
    chart = svg.anytime(group)
    assert "mean of 2 seeds)" in chart and set(drawn(chart)) == {"exp 0", "exp 1", "average"}
