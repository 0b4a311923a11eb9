"""Terminal output without dependencies: number formats, aligned tables, bars, a progress bar.

Unicode block characters when the stream can encode them, ASCII otherwise; colour only on a
terminal and never when ``NO_COLOR`` is set (https://no-color.org).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TextIO

from llmledger.cli.safe_text import table_cell

_EIGHTHS = " ▏▎▍▌▋▊▉█"


@dataclass(frozen=True, slots=True)
class Style:
    unicode: bool = True
    color: bool = False

    @classmethod
    def for_stream(cls, stream: TextIO) -> Style:
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            "█▏→─".encode(encoding)
            unicode = True
        except (UnicodeEncodeError, LookupError):
            unicode = False
        color = stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        return cls(unicode=unicode, color=bool(color))

    def red(self, text: str) -> str:
        return f"\033[31m{text}\033[0m" if self.color and text.strip() else text

    def bold(self, text: str) -> str:
        return f"\033[1m{text}\033[0m" if self.color and text.strip() else text

    def dim(self, text: str) -> str:
        return f"\033[2m{text}\033[0m" if self.color and text.strip() else text

    @property
    def arrow(self) -> str:
        return "→" if self.unicode else "->"

    @property
    def rule_char(self) -> str:
        return "─" if self.unicode else "-"


def money(value: Decimal | None) -> str:
    """``$1,234.56``, ``-$1.79``; amounts under a cent keep four decimals (``$0.0042``)."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if 0 < magnitude < Decimal("0.0001"):
        return f"{sign}<$0.0001"
    places = Decimal("0.0001") if 0 < magnitude < Decimal("0.01") else Decimal("0.01")
    rounded = magnitude.quantize(places, ROUND_HALF_EVEN)
    return f"{sign}${rounded:,}"


def tokens(count: int) -> str:
    """``512``, ``12.3k``, ``6.3M``, ``1.20B``."""
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if count >= limit:
            value = count / limit
            return f"{value:.2f}{suffix}" if value < 10 else f"{value:.1f}{suffix}"
    return str(count)


def integer(count: int) -> str:
    return f"{count:,}"


def plain_number(value: Decimal) -> str:
    """``31``, ``0.5``, ``1.25`` (rounded to two decimals, no exponent)."""
    text = format(round(value, 2), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def bar(fraction: float, width: int, style: Style, *, overflow: bool = False) -> str:
    """A horizontal bar ``width`` cells wide for ``fraction`` in [0, 1]; ``overflow`` adds a tip."""
    fraction = min(max(fraction, 0.0), 1.0)
    if not style.unicode:
        filled = round(fraction * width)
        return "#" * filled + (">" if overflow else "")
    eighths = round(fraction * width * 8)
    full, rest = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[rest] if rest else "")
    return text + ("▶" if overflow else "")


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    align: str = "right"
    """``left`` or ``right``."""


def table(columns: Sequence[Column], rows: Sequence[Sequence[str]], *, footer: Sequence[str] = (),
          style: Style = Style(), highlight: Sequence[bool] = ()) -> str:
    """Aligned columns, a header, a rule, the rows, and an optional footer row after a rule.

    ``highlight[i]`` prints row ``i`` in red (when colour is on). Widths ignore colour codes
    because colour is applied after padding.
    """
    body = [[table_cell(cell) for cell in row] for row in rows]
    footer = [table_cell(cell) for cell in footer]
    everything = [[c.title for c in columns], *body, *([list(footer)] if footer else [])]
    widths = [max(len(row[i]) for row in everything) for i in range(len(columns))]

    def line(cells: Sequence[str]) -> str:
        parts = []
        for cell, column, width in zip(cells, columns, widths, strict=True):
            parts.append(cell.ljust(width) if column.align == "left" else cell.rjust(width))
        return "  ".join(parts).rstrip()

    rule = style.rule_char * sum([*widths, 2 * (len(columns) - 1)])
    out = [style.bold(line([c.title for c in columns])), style.dim(rule)]
    for index, row in enumerate(body):
        text = line(row)
        out.append(style.red(text) if index < len(highlight) and highlight[index] else text)
    if footer:
        out.append(style.dim(rule))
        out.append(style.bold(line(footer)))
    return "\n".join(out)


class ProgressBar:
    """``[████████░░░░] 67%  day 21/31  1,540 calls`` on stderr, redrawn in place on a terminal;
    elsewhere (CI logs) one line per quarter, so logs stay short."""

    def __init__(self, total: int, *, stream: TextIO | None = None, width: int = 28) -> None:
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self.width = width
        self.style = Style.for_stream(self.stream)
        self._tty = self.stream.isatty()
        self._last_draw = 0.0
        self._last_quarter = -1

    def update(self, done: int, note: str = "") -> None:
        fraction = min(done / self.total, 1.0)
        if self._tty:
            now = time.monotonic()
            if now - self._last_draw < 0.05 and done < self.total:
                return
            self._last_draw = now
            self.stream.write(f"\r{self._line(fraction, note)}\033[K")
        else:
            quarter = int(fraction * 4)
            if quarter >= 4 or quarter == self._last_quarter:
                return  # the last line is finish()'s
            self._last_quarter = quarter
            self.stream.write(self._line(fraction, note) + "\n")
        self.stream.flush()

    def finish(self, note: str = "") -> None:
        if self._tty:
            self.update(self.total, note)
            self.stream.write("\n")
        else:
            self.stream.write(self._line(1.0, note) + "\n")
        self.stream.flush()

    def _line(self, fraction: float, note: str) -> str:
        filled = bar(fraction, self.width, self.style)
        empty = ("░" if self.style.unicode else ".") * (self.width - len(filled))
        return f"[{filled}{empty}] {fraction * 100:3.0f}%  {note}".rstrip()
