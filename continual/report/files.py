"""Reading result folders and writing the report files next to them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from continual.errors import ContinualError
from continual.report import html, long_form, markdown
from continual.report.aggregate import Result
from continual.report.ladder import SUMMARY_SUFFIX
from continual.report.sanitize import plain
from continual.results import read_result, write_atomic


def load_results(
    folders: Iterable[Path], on_skip: Callable[[str], None] | None = None
) -> list[Result]:
    """Every result file (``*.json`` with a schema version) in ``folders``, sorted by name;
    ablation ladder summaries beside them are not runs and are skipped, and a run found twice
    (the same run id in two folders) counts once. A file that is not a valid result (see
    :func:`continual.results.read_result`) is skipped, and ``on_skip`` gets one line naming it
    and the field (the command prints it); a folder without any valid result is an error."""
    results, seen = [], set()
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise ContinualError(f"{folder}: no such folder (expected a folder of result files)")
        files = [p for p in sorted(folder.glob("*.json")) if not p.name.endswith(SUMMARY_SUFFIX)]
        found = []
        for path in files:
            try:
                found.append(read_result(path))
            except ContinualError as error:
                if on_skip is not None:
                    on_skip(f"skipped: {plain(error)}")  # a name may hold escapes
        if not found:
            raise ContinualError(
                f"{folder}: no valid result files (*.json) here; run `continual run`"
            )
        for result in found:
            if result["run_id"] not in seen:
                seen.add(result["run_id"])
                results.append(result)
    return results


def _write_text(path: Path, text: str) -> Path:
    """Write atomically, so a reader never sees half a report."""
    return write_atomic(path, lambda stream: stream.write(text))


REPORT_FILES = ("report.md", "report.html", "metrics.csv")


def check_targets(out: Path) -> None:
    """Refuse, before anything is written (or trained), a report file's name taken by a folder
    or anything else that is not a file."""
    for name in REPORT_FILES:
        path = Path(out) / name
        if path.exists() and not path.is_file():
            kind = "a folder" if path.is_dir() else "not a regular file"
            raise ContinualError(f"{path}: is {kind}; move it (or write no reports)")


def write_reports(
    results: list[Result],
    out: Path,
    tensorboard: bool = False,
    reference: str | None = None,
    on_note: Callable[[str], None] | None = None,
) -> list[Path]:
    """``report.md``, ``report.html`` and ``metrics.csv`` in ``out`` (and TensorBoard event
    files under ``out/tensorboard`` when asked), paired differences against ``reference``
    (default: :func:`continual.report.aggregate.reference_strategy`'s rule); returns the paths
    written. ``on_note`` gets a line when a part is missing (the bar chart without
    matplotlib)."""
    if not results:
        raise ContinualError("no results to report")
    check_targets(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [
        _write_text(out / "report.md", markdown.render(results, reference)),
        _write_text(out / "report.html", html.render(results, reference)),
        _write_text(out / "metrics.csv", long_form.render(results)),
    ]
    if on_note is not None and html.plotter() is None:
        on_note(f"note: {html.NO_PLOTS}")
    if tensorboard:
        from continual.report.tensorboard import write_events

        written.append(write_events(results, out / "tensorboard"))
    return written
