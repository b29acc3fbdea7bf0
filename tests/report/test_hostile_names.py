"""Names from data (strategy names, folder paths) are text in every renderer: never rich markup,
matplotlib mathtext, a spreadsheet formula or a terminal escape sequence; and `compare` of a
folder with itself does not count each seed twice."""

from __future__ import annotations

import csv
import io

import pytest
from rich.console import Console

from continual.report import long_form
from continual.report.files import write_reports
from continual.report.sanitize import plain, spreadsheet
from continual.report.terminal import comparison_table
from tests.report.documents import document, save

HOSTILE = ["[/bold]", "[red]x[/]", "$\\frac$", "a$b$c", '=HYPERLINK("http://x")', "\x1b]0;pwn\x07x"]


def _printed(table) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=120, force_terminal=True, color_system=None).print(table)
    return buffer.getvalue()


@pytest.mark.parametrize("name", HOSTILE, ids=repr)
def test_a_hostile_strategy_name_renders_as_text_everywhere(tmp_path, name):
    results = [document("a", strategy=name), document("b", strategy="finetune")]
    shown = _printed(comparison_table(results, title=f"/runs/{name}"))
    assert plain(name) in shown  # the name itself, not interpreted
    assert "\x1b]" not in shown and "\x07" not in shown
    write_reports(results, tmp_path)  # the bar chart (mathtext), HTML, Markdown, CSV


def test_control_characters_are_stripped_for_the_terminal():
    assert plain("a\x1b[2Jb\x07c\u202ed\x9be") == "a[2Jbcde"
    assert plain("tab\tand newline\n") == "tab\tand newline\n"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"], ids=repr)
def test_spreadsheet_formulas_are_neutralised_in_metrics_csv(start):
    name = f'{start}HYPERLINK("http://evil","x")'
    text = long_form.render([document("a", strategy=name)])
    cells = [row[1] for row in csv.reader(io.StringIO(text))][1:]
    assert cells and all(cell == "'" + name for cell in cells)
    assert spreadsheet(-0.5) == -0.5 and spreadsheet("finetune") == "finetune"


def test_a_wide_table_keeps_every_number(tmp_path):
    names = [f"finetune(learner.lr={lr},training.epochs=3,ewc.strength=1000.0)" for lr in (1, 2)]
    results = [
        document(f"r{i}{s}", strategy=n, seed=s) for i, n in enumerate(names) for s in (0, 1)
    ]
    shown = _printed(comparison_table(results))
    narrow = io.StringIO()
    Console(file=narrow, width=80, color_system=None).print(comparison_table(results))
    assert "…" not in narrow.getvalue() and "65.3 ± 3.2" in narrow.getvalue()
    assert "65.3 ± 3.2" in shown


def test_compare_of_a_folder_with_itself_is_refused_not_double_counted(cli, tmp_path):
    runs = tmp_path / "runs"
    for seed in (0, 1):
        save(runs, document(f"r{seed}", seed=seed))
    (tmp_path / "link").symlink_to(runs)
    for other in (runs, tmp_path / "link", tmp_path / "runs" / ".." / "runs"):
        code, _, err = cli("compare", str(runs), str(other))
        assert code == 2 and "two different result folders" in err
    save(tmp_path / "other", document("o0", seed=0))
    code, out, err = cli("compare", str(runs), str(tmp_path / "link"), str(tmp_path / "other"))
    assert code == 0, err
    row = next(line for line in out.splitlines() if "runs:finetune" in line)
    assert row.split()[1] == "2"  # two seeds, not four
