"""Importing the library or its CLI never imports Avalanche; without the extra, the bridge says
how to install it."""

from __future__ import annotations

import subprocess
import sys


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_library_and_cli_do_not_import_avalanche():
    done = _python(
        "import sys, contextlib, io\n"
        "import continual, continual.cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    continual.cli.main(['--help'])\n"
        "import continual.avalanche\n"  # only checks that the extra is installed
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'avalanche'))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_missing_extra_gives_one_clear_error():
    done = _python(
        "import sys\n"
        "sys.modules['avalanche'] = None\n"
        "from continual.errors import ContinualError\n"
        "try:\n"
        "    import continual.avalanche\n"
        "except ContinualError as error:\n"
        "    print(error)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'continual[avalanche]'" in done.stdout
