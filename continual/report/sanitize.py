"""Names from data (strategy, scenario and folder names, metric keys of a result file) made safe
for each renderer, in one place. A name is text, never markup or a command:

- terminal: control characters (escape sequences that move the cursor, retitle the window or
  clear the screen; bidirectional overrides that reorder what is shown) are removed, and the
  text is a rich ``Text`` so ``[/bold]`` is shown, not parsed as markup;
- matplotlib: ``$`` is escaped so ``$\\frac`` is shown, not parsed as mathtext;
- spreadsheets: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
  gets a leading ``'`` (OWASP's advice against CSV injection), so ``=HYPERLINK(...)`` stays text;
  numbers stay numbers.

HTML and SVG escape with ``html.escape`` where they write; Markdown escapes ``|``."""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides/isolates
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plain(text: object) -> str:
    """``text`` without control characters (safe to print on a terminal or in a log)."""
    return CONTROL.sub("", str(text))


def terminal(text: object) -> Text:
    """``text`` as a rich ``Text`` without control characters: rich never reads it as markup."""
    return Text(plain(text))


def markup(text: object) -> str:
    """``text`` for a place that takes rich markup (a progress bar's description)."""
    from rich.markup import escape

    return escape(plain(text))


def mathtext(text: object) -> str:
    """``text`` for a matplotlib label: dollar signs escaped, so no mathtext is parsed."""
    return plain(text).replace("$", r"\$")


def spreadsheet(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as it is: text that would start a formula gets a
    leading ``'``; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
