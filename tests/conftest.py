"""Shared fixtures: a tiny synthetic scenario and helpers to write specs and run the CLI."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from continual.cli import main

SYNTHETIC_SCENARIO = """
description = "tiny synthetic class-incremental stream for tests"
[dataset]
name = "synthetic"
samples = 600
features = 16
classes = 6
[generator]
name = "class-incremental"
experiences = 3
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def synthetic_scenario(tmp_path: Path) -> Path:
    return write(tmp_path, "synthetic.toml", SYNTHETIC_SCENARIO)


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke
