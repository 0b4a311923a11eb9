"""Terminal rendering for reports and the demo: numbers, bars, tables, the progress bar."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from llmledger.cli.render import Column, ProgressBar, Style, bar, money, percent, plain_number, table, tokens

UNICODE, ASCII = Style(unicode=True), Style(unicode=False)


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("1234.5"), "$1,234.50"), (Decimal("-1.46"), "-$1.46"), (Decimal("0.0042"), "$0.0042"),
    (Decimal("0.00000038"), "<$0.0001"), (Decimal(0), "$0.00"), (Decimal("19.995"), "$20.00"),
    (None, "—"),
])
def test_money(value: Decimal | None, text: str) -> None:
    assert money(value) == text


@pytest.mark.parametrize(("count", "text"), [
    (512, "512"), (12_345, "12.3k"), (6_324_000, "6.32M"), (40_200_000, "40.2M"), (1_200_000_000, "1.20B"),
])
def test_tokens(count: int, text: str) -> None:
    assert tokens(count) == text


def test_percent_and_plain_numbers() -> None:
    assert percent(Decimal("-7.6842")) == "-7.7%" and percent(None) == "—"
    assert (plain_number(Decimal(31)), plain_number(Decimal("0.5")), plain_number(Decimal("1.254"))) == (
        "31", "0.5", "1.25")


def test_bars_use_eighths_and_mark_overflow() -> None:
    assert bar(0.5, 10, UNICODE) == "█████"
    assert bar(0.55, 10, UNICODE) == "█████▌"  # 5.5 cells
    assert bar(1.7, 4, UNICODE, overflow=True) == "████▶"
    assert bar(0.0, 10, UNICODE) == ""
    assert bar(0.5, 10, ASCII) == "#####" and bar(2, 3, ASCII, overflow=True) == "###>"


def test_table_aligns_and_highlights() -> None:
    text = table([Column("name", "left"), Column("cost")], [["a", "$1.00"], ["longer", "$10.00"]],
                 footer=["total", "$11.00"], style=Style(unicode=False, color=True),
                 highlight=[False, True])
    lines = text.splitlines()
    assert lines[0] == "\033[1mname      cost\033[0m"
    assert lines[1] == "\033[2m" + "-" * 14 + "\033[0m"
    assert lines[2] == "a        $1.00"
    assert lines[3] == "\033[31mlonger  $10.00\033[0m"
    assert lines[4] == "\033[2m" + "-" * 14 + "\033[0m" and "total" in lines[5]


def test_style_follows_the_stream() -> None:
    class Latin1(io.StringIO):
        encoding = "latin-1"

    assert Style.for_stream(Latin1()) == Style(unicode=False, color=False)
    assert Style.for_stream(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")).unicode


class _Utf8Log(io.StringIO):
    encoding = "utf-8"


def test_progress_off_a_terminal_prints_a_line_per_quarter() -> None:
    stream = _Utf8Log()  # a CI log: no terminal, so no redrawing in place
    progress = ProgressBar(100, stream=stream, width=8)
    for done in range(1, 101):
        progress.update(done, f"{done} calls")
    progress.finish("done")
    assert stream.getvalue().splitlines() == [
        "[▏░░░░░░░]   1%  1 calls", "[██░░░░░░]  25%  25 calls", "[████░░░░]  50%  50 calls",
        "[██████░░]  75%  75 calls", "[████████] 100%  done"]
