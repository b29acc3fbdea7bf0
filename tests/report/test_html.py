"""The HTML report opened in a real headless browser: figures present and decoded, no errors."""

import json
import re
import shutil
import subprocess

import pytest

from continual.report import html
from tests.report.test_report import matrices, result

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
# Injected at the top of <head>: records script errors and console.error calls, and after load
# writes what the test checks into the DOM, which --dump-dom prints.
PROBE = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message || e.type)), true);
const originalError = console.error;
console.error = (...a) => { window.__errors.push(a.join(" ")); originalError(...a); };
window.addEventListener("load", () => {
  const images = [...document.images].map(i => ({alt: i.alt, width: i.naturalWidth}));
  const charts = [...document.querySelectorAll("svg")].map(s => ({
    label: s.getAttribute("aria-label"),
    width: s.getBoundingClientRect().width,
    lines: [...s.querySelectorAll("polyline")].map(p => p.getBBox().width),
  }));
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({images, charts, errors: window.__errors});
  document.body.appendChild(out);
});
</script>"""


def browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def opened(page, tmp_path) -> dict:
    path = tmp_path / "report.html"
    path.write_text(page.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    command = [
        browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--virtual-time-budget=10000",
        "--dump-dom",
        path.as_uri(),
    ]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert match, f"the page did not finish loading: {dom[:300]!r}"
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.skipif(browser() is None, reason="no chromium here (apt-get install chromium)")
def test_report_opens_in_a_browser_with_every_figure_decoded(tmp_path):
    pytest.importorskip("matplotlib")
    results = [
        result(n, i, m)
        for n in ("finetune", "replay")
        for i, m in enumerate(matrices(0.3, 0.5, 0.7))
    ]
    page = html.render(results)
    assert "http://" not in page and "https://" not in page  # opens offline
    probe = opened(page, tmp_path)
    assert [i["alt"] for i in probe["images"]] == [
        "final accuracy, learning accuracy, forgetting and FLOPs"
    ]
    labels = [c["label"] for c in probe["charts"]]
    assert labels == ["finetune (mean of 3 seeds)", "replay (mean of 3 seeds)"]  # anytime, SVG
    for chart in probe["charts"]:  # laid out, one drawn line per experience and the average
        assert chart["width"] > 300 and len(chart["lines"]) == 3 and min(chart["lines"]) > 100
    for name in ("finetune", "replay"):
        for kind in ("accuracy", "forgetting"):  # the matrices: colour-scaled tables
            assert f"<caption>{name}: {kind} matrix (%" in page
    assert all(i["width"] > 0 for i in probe["images"]), probe["images"]
    assert probe["errors"] == []


@pytest.mark.skipif(browser() is None, reason="no chromium here (apt-get install chromium)")
def test_a_broken_image_is_caught(tmp_path):
    broken = '<html><head></head><body><img alt="x" src="data:image/png;base64,AAAA"></body></html>'
    probe = opened(broken, tmp_path)
    assert probe["images"] == [{"alt": "x", "width": 0}]


def test_matrix_cells_are_shaded_by_their_mean():
    """Accuracy cells go from white (0 %) to full green (100 %), forgetting cells to red; the
    text of every cell is the mean ± CI of the Markdown report's matrix."""
    results = [result("finetune", i, m) for i, m in enumerate(matrices(0.3, 0.5, 0.7))]
    accuracy = html.heat_table(results, "accuracy")
    forgetting = html.heat_table(results, "forgetting")
    shades = [float(x) for x in re.findall(r"hsl\(130 60% ([0-9.]+)%\)", accuracy)]
    cells = re.findall(r"<td style=[^>]*>([^<]*)</td>", accuracy)
    assert len(shades) == len(cells) > 0
    table = html.tables.matrix(results, "accuracy")
    assert cells == [c for row in table.rows for c in row[1:] if c != "—"]
    means = [
        c.mean for row in html.matrix_estimates(results, "accuracy") for c in row if c is not None
    ]
    for shade, mean in zip(shades, means):
        assert shade == pytest.approx(97 - 62 * min(max(mean, 0), 1), abs=0.5)
    assert "hsl(0 60%" in forgetting and "hsl(130" not in forgetting


def test_matrix_tables_are_titled_by_the_reports_group_name():
    """One strategy on two scenarios: two groups in the report, each matrix table captioned with
    its own group's name (not twice the strategy's)."""
    a = [result("fast", i, m) for i, m in enumerate(matrices(0.3, 0.5, 0.7))]
    b = [
        {**r, "run_id": f"b{i}", "scenario": {"name": "other"}}
        for i, r in enumerate(result("fast", i, m) for i, m in enumerate(matrices(0.2, 0.4, 0.6)))
    ]
    page = html.render(a + b)
    captions = re.findall(r"<caption>([^<]*) matrix", page)
    assert len(captions) == 4 and len(set(captions)) == 4, captions


def test_without_matplotlib_the_page_keeps_its_curves_and_says_how_to_get_the_bars(monkeypatch):
    results = [result("finetune", i, m) for i, m in enumerate(matrices(0.3, 0.5, 0.7))]
    monkeypatch.setattr(html, "plotter", lambda: None)
    page = html.render(results)
    assert "<img" not in page and "The bar chart needs matplotlib" in page
    assert page.count('<svg class="chart"') == 1 and page.count("<polyline") == 3


def test_without_matplotlib_writing_the_report_hands_the_note_to_the_caller(
    monkeypatch, tmp_path, capsys
):
    from continual.report.files import write_reports

    results = [result("finetune", i, m) for i, m in enumerate(matrices(0.3, 0.5, 0.7))]
    monkeypatch.setattr(html, "plotter", lambda: None)
    notes: list[str] = []
    write_reports(results, tmp_path, on_note=notes.append)
    assert notes == [f"note: {html.NO_PLOTS}"] and capsys.readouterr().err == ""
    write_reports(results, tmp_path)  # without a listener: nothing said, nothing printed
    assert capsys.readouterr().err == ""
