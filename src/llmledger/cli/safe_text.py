"""Untrusted text (customer ids, plans, features, models: whatever an app or a provider sent) made
safe for the report's outputs. Applied at output, so the ledger keeps what it was given.

- terminal: control characters (ESC, newlines, BEL, DEL, C1) are shown escaped (``\\x1b``), so a
  customer id cannot clear the screen, move the cursor or split a row;
- table cells are clipped to a bounded width with a marker, so one huge id cannot pad every row;
- CSV: a text cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR
  first) is prefixed with ``'`` (OWASP's advice); numbers are left alone.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MAX_CELL_WIDTH = 48
"""Widest text cell in the report table; longer ones end in ``…`` (the JSON and CSV keep them whole)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match[str]) -> str:
    return match.group(0).encode("unicode_escape").decode("ascii")


def terminal_text(text: str) -> str:
    """``text`` with every control character escaped (``\\x1b``, ``\\n``)."""
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text


def table_cell(text: str, width: int = MAX_CELL_WIDTH, ellipsis: str = "…") -> str:
    """A table cell: control characters escaped, at most ``width`` characters."""
    if len(text) > 4 * width:
        text = text[:4 * width]  # escaping multiplies length: never escape a megabyte to clip it
    text = terminal_text(text)
    return text if len(text) <= width else text[:width - len(ellipsis)] + ellipsis


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except (InvalidOperation, ValueError):
        return False
    return True


def csv_cell(value: object) -> object:
    """A CSV value a spreadsheet shows as text, never runs as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value
    return value
