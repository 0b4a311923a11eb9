"""``llmledger report --format html`` rendered by a real headless Chromium (Debian's ``chromium``,
installed by ``scripts/chromium.sh``): the numbers in the DOM are the JSON report's, and the page
makes no request at all (Chromium's network log, checked against a control page that does).
A screenshot is saved in the test's tmp dir."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from llmledger.cli import main
from llmledger.cli.render import money
from llmledger.ledger import open_store
from llmledger.ledger.schema import row_from_record
from llmledger.usage import EPOCH, CallRecord, Cost, CustomerContext, Usage

# A customer id that would load an image if the page did not escape it.
HOSTILE = '<img src="http://127.0.0.1:{port}/escaped.png">'
CONFIG = """\
plans:
  starter: {monthly_usd: 5}
  writer: {monthly_usd: 20, included_tokens: 1000000, overage_usd_per_mtok: 5}
customers:
  writer-co: {plan: writer}
  starved-co: {plan: starter}
"""


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("LLMLEDGER_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is not installed: run scripts/chromium.sh")
        pytest.skip("chromium is not installed (scripts/chromium.sh installs it)")
    return found


class _Probe(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture()
def probe() -> Iterator[tuple[int, list[str]]]:
    """A loopback server that records every request a page makes to it."""
    _Probe.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Probe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Probe.hits
    server.shutdown()
    server.server_close()


def _record(day: int, customer: str, plan: str, model: str, provider: str, tokens: tuple[int, int, int],
            cost: str) -> CallRecord:
    start = int((datetime(2026, 10, day, 12, tzinfo=timezone.utc) - EPOCH).total_seconds()) * 10**9
    return CallRecord(provider=provider, operation="chat", request_model=model, stream=False,
                      start_time_ns=start, end_time_ns=start + 10**9,
                      usage=Usage(tokens[0], tokens[2], cache_read_tokens=tokens[1]),
                      cost=Cost("priced", Decimal(cost)), customer=CustomerContext(customer, plan, "draft"))


def _run_chromium(chromium: str, page: Path, tmp: Path, *extra: str) -> tuple[str, Path]:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    netlog = profile.with_suffix(".netlog.json")
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", f"--log-net-log={netlog}", "--net-log-capture-mode=Everything",
               "--window-size=1200,2400", *extra, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout, netlog


def _page_requests(netlog: Path, page: Path) -> list[str]:
    """URLs requested on behalf of a page (Chromium's own update checks have no initiator origin)."""
    data = json.loads(netlog.read_text())
    start_job = data["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in data["events"]:
        params = event.get("params", {})
        if event["type"] == start_job and "url" in params and params.get("initiator") != "not an origin":
            urls.append(str(params["url"]))
    return [url for url in urls if url != page.as_uri()]


class _Figures(HTMLParser):
    """Every ``data-field``/``data-value`` cell, by table id and row key; the cards by field."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, dict[str, tuple[str, str]]]] = defaultdict(dict)
        self.cards: dict[str, str] = {}
        self._table = ""
        self._row: dict[str, tuple[str, str]] | None = None
        self._cell: tuple[str, str] | None = None
        self._text = ""
        self.fetching: list[str] = []
        """Elements that could load something: src/href attributes, scripts, links, frames."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "link", "img", "iframe", "object", "embed", "image", "use") or (
                {"src", "href", "xlink:href", "srcset", "background"} & found.keys()):
            self.fetching.append(f"<{tag} {found}>")
        if tag == "table":
            self._table = found.get("id") or ""
        elif tag == "tr":
            self._row = {}
        elif "data-field" in found:
            self._cell, self._text = (found["data-field"] or "", found.get("data-value") or ""), ""

    def handle_data(self, data: str) -> None:
        self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "b", "span") and self._cell is not None:
            field, value = self._cell
            if self._row is not None and tag == "td":
                self._row[field] = (value, self._text)
            else:
                self.cards[field] = value
            self._cell = None
        elif tag == "tr" and self._row:
            key = next(iter(self._row.values()))[1]
            self.tables[self._table][key] = self._row
            self._row = None


def test_the_html_report_shows_the_json_figures_and_requests_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], probe: tuple[int, list[str]]) -> None:
    chromium = _chromium()
    port, hits = probe
    hostile = HOSTILE.format(port=port)
    ledger = tmp_path / "ledger.db"
    (tmp_path / "plans.yaml").write_text(CONFIG)
    records = [_record(day, "writer-co", "writer", "claude-sonnet-4-6", "anthropic", (100_000, 60_000, 2_000),
                       "0.168") for day in range(1, 11)]
    records += [_record(day, "starved-co", "starter", "gpt-4o-mini", "openai", (10_000_000, 0, 1_000_000), "2.1")
                for day in range(1, 4)]
    records.append(_record(4, hostile, "starter", "gpt-4o-mini", "openai", (1_000, 0, 100), "0.00021"))
    with open_store(str(ledger)) as store:
        store.insert([row_from_record(record) for record in records])
    args = ["report", "--db", str(ledger), "--config", str(tmp_path / "plans.yaml"), "--month", "2026-10",
            "--what-if", "claude-sonnet-4-6=claude-haiku-4-5"]
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert main([*args, "--format", "html"]) == 0
    page = tmp_path / "report.html"
    page.write_text(capsys.readouterr().out, encoding="utf-8")

    dom, netlog = _run_chromium(chromium, page, tmp_path, "--dump-dom")
    figures = _Figures()
    figures.feed(dom)
    assert figures.fetching == []  # the hostile id is text, not an <img>
    assert 'content="default-src \'none\'' in dom  # the CSP meta tag forbids any request anyway
    customers = figures.tables["customers"]
    assert set(customers) == {row["customer"] for row in data["rows"]} | {"total"}
    for row in [*data["rows"], {**data["total"], "customer": "total"}]:
        shown = customers[row["customer"]]
        for field in ("cost_usd", "base_revenue_usd", "overage_revenue_usd", "revenue_usd", "margin_usd",
                      "cache_savings_usd"):
            value, text = shown[field]
            assert value == (row[field] or ""), (row["customer"], field)
            assert text == money(Decimal(row[field]) if row[field] is not None else None), (row["customer"], field)
        assert shown["calls"][0] == str(row["calls"])
    assert figures.cards["total_cost_usd"] == data["total"]["cost_usd"]
    assert figures.cards["total_margin_usd"] == data["total"]["margin_usd"]
    assert figures.cards["total_cache_savings_usd"] == data["cache_savings"]["total_usd"] == "1.62"
    what_if = figures.tables["what-if-customer"]["writer-co"]
    expected = next(line for line in data["what_if"]["by_customer"] if line["customer"] == "writer-co")
    assert (what_if["saving_usd"][0], what_if["margin_if_usd"][0]) == (expected["saving_usd"],
                                                                       expected["margin_if_usd"]) == ("1.12", "19.54")
    assert figures.tables["unprofitable"].keys() == {"starved-co"}

    assert _page_requests(netlog, page) == []
    _, shot_log = _run_chromium(chromium, page, tmp_path, f"--screenshot={tmp_path / 'report.png'}")
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert _page_requests(shot_log, page) == [] and hits == []


def test_the_request_check_sees_a_page_that_does_request(tmp_path: Path, probe: tuple[int, list[str]]) -> None:
    """The control: the same check catches an image load from an ordinary page."""
    chromium = _chromium()
    port, hits = probe
    page = tmp_path / "leaky.html"
    page.write_text(f'<!DOCTYPE html><html><body><img src="http://127.0.0.1:{port}/leak.png"></body></html>')
    _, netlog = _run_chromium(chromium, page, tmp_path, "--dump-dom")
    assert _page_requests(netlog, page) == [f"http://127.0.0.1:{port}/leak.png"]
    assert hits == ["/leak.png"]
