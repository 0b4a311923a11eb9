"""``llmledger doctor``: is everything llmledger needs in place? One line per check, with a fix.

Checks the configuration, the bundled prices, each supported SDK (installed? in the tested range?
are its patch points there?), the OTLP exporter endpoint (a TCP connect, only when one is
configured) and the ledger (read-only). Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal, TextIO
from urllib.parse import urlsplit

from llmledger.cli.render import Style
from llmledger.config import Config, load_config
from llmledger.errors import ConfigError
from llmledger.instrumentation.adapter import ProviderAdapter
from llmledger.version import __version__

Status = Literal["ok", "warn", "fail", "info"]
_LABELS = {"ok": "OK", "warn": "WARN", "fail": "FAIL", "info": "--"}
_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                  "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")


@dataclass(frozen=True, slots=True)
class Check:
    status: Status
    name: str
    detail: str
    fix: str | None = None


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check SDKs, prices, config, exporter and ledger; say how to fix problems",
        description=(__doc__ or "").replace("``", ""), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", metavar="FILE", help="config file (default: LLMLEDGER_CONFIG, "
                        "else ./llmledger.yaml if present)")
    parser.add_argument("--db", metavar="URL", help="ledger to check (default: the configured one)")
    parser.add_argument("--timeout", type=float, default=1.0, metavar="S",
                        help="seconds to wait for the exporter endpoint (default 1)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    style = Style.for_stream(out)
    checks = list(all_checks(args.config, args.db, args.timeout))
    out.write(f"llmledger doctor (llmledger {__version__}, Python {platform.python_version()})\n")
    width = max(len(check.name) for check in checks)
    for check in checks:
        label = _LABELS[check.status].ljust(4)
        if check.status == "fail":
            label = style.red(label)
        out.write(f"  {label}  {check.name.ljust(width)}  {check.detail}\n")
        if check.fix:
            out.write(f"  {'':4}  {'':{width}}  fix: {check.fix}\n")
    failed = sum(check.status == "fail" for check in checks)
    out.write(f"{failed} problem(s) found.\n" if failed else "No problems found.\n")
    return 1 if failed else 0


def all_checks(config_file: str | None, db: str | None, timeout: float) -> Iterator[Check]:
    config, check = _config(config_file)
    yield check
    yield _pricing(config)
    yield from sdk_checks(config)
    yield _exporter(config, timeout)
    yield ledger_check(db, config)


def _config(config_file: str | None) -> tuple[Config, Check]:
    try:
        config = load_config(config_file)
    except ConfigError as exc:
        return Config(), Check("fail", "config", str(exc), "correct the file and key named above")
    if config.config_file is None:
        return config, Check("info", "config", "no config file (defaults and LLMLEDGER_* variables)",
                             None)
    plans = config.plans
    return config, Check("ok", "config", f"{config.config_file}: {len(plans.plans)} plan(s), "
                         f"{len(plans.accounts)} customer(s)")


def _pricing(config: Config) -> Check:
    import genai_prices

    from llmledger.pricing import Pricer
    from llmledger.usage import Usage

    # gpt-4o: 1,000,000 input tokens at $2.50/M; a known price proves the bundled data loads.
    cost = Pricer(config.price_overrides).price("openai", "gpt-4o", Usage(input_tokens=1_000_000),
                                                 at=datetime.now(timezone.utc))
    version = f"genai-prices {genai_prices.__version__}"
    if cost.status != "priced":
        return Check("fail", "pricing", f"{version} could not price gpt-4o",
                     "reinstall llmledger (pip install --force-reinstall llmledger)")
    overrides = len(config.price_overrides.entries)
    extra = f", {overrides} override(s) from {config.price_overrides.source}" if overrides else ""
    return _price_freshness(Check("ok", "pricing", f"{version}, bundled (no network needed){extra}"))


def _price_freshness(check: Check, today: date | None = None) -> Check:
    """The price data's date on the check; a warning when it is older than STALE_AFTER_DAYS."""
    from llmledger.pricing.catalog import STALE_AFTER_DAYS, data_date

    today = today or datetime.now(timezone.utc).date()
    as_of = data_date(today)
    if as_of is None:
        return Check("warn", check.name, f"{check.detail}; the price data holds no date",
                     "pip install --upgrade 'genai-prices<0.3' for current prices")
    age = (today - as_of).days
    detail = f"{check.detail}; prices as of {as_of.isoformat()} ({age} days old)"
    if age > STALE_AFTER_DAYS:
        return Check("warn", check.name, f"{detail}, more than {STALE_AFTER_DAYS} days",
                     "pip install --upgrade 'genai-prices<0.3' for newer prices (your pricing: overrides still win)")
    return Check(check.status, check.name, detail, check.fix)


def _patch_points(adapter: ProviderAdapter) -> tuple[int, int]:
    """How many of the adapter's targets exist in the installed SDK (as the instrumentor looks)."""
    from llmledger.instrumentation.instrumentor import resolve_target

    found = sum(resolve_target(target) is not None for target in adapter.targets)
    return found, len(adapter.targets)


def sdk_checks(config: Config, adapters: list[ProviderAdapter] | None = None) -> Iterator[Check]:
    """One check per adapter (default: every adapter llmledger has)."""
    from llmledger.instrumentation.instrumentor import installed_version, version_supported
    from llmledger.instrumentation.providers import load_adapters

    for adapter in load_adapters() if adapters is None else adapters:
        name, dist = adapter.name, adapter.distribution
        version = installed_version(dist)
        if version is None:
            yield Check("info", name, f"{dist} not installed", None)
            continue
        if config.providers is not None and name not in config.providers:
            yield Check("info", name, f"{dist} {version} installed, not instrumented (not in providers:)")
            continue
        try:
            importlib.import_module(adapter.import_name)
        except Exception as exc:
            yield Check("fail", name, f"{dist} {version} is installed but does not import: {exc}",
                        f"pip install --force-reinstall '{dist}{adapter.supported}'")
            continue
        found, total = _patch_points(adapter)
        if found == 0:
            yield Check("fail", name, f"{dist} {version}: none of its {total} patch points exist, "
                        "nothing is instrumented", f"pip install '{dist}{adapter.supported}'")
        elif not version_supported(version, adapter.supported):
            yield Check("warn", name, f"{dist} {version} is outside the tested range {adapter.supported}; "
                        f"instrumented anyway ({found}/{total} patch points)",
                        f"pip install '{dist}{adapter.supported}' to use a tested version")
        else:
            yield Check("ok", name, f"{dist} {version}, instrumented ({found}/{total} patch points, "
                        f"tested {adapter.supported})")


def endpoint_address(endpoint: str, protocol: str) -> tuple[str, int]:
    """Host and port of an OTLP endpoint (``http://host:port/...`` or ``host:port``)."""
    parts = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
    default = 4318 if protocol == "http/protobuf" else 4317
    if parts.port is None and parts.scheme == "https":
        default = 443
    return parts.hostname or "127.0.0.1", parts.port or default


def _exporter(config: Config, timeout: float) -> Check:
    endpoint = config.otlp_endpoint
    protocol = config.otlp_protocol
    source = "otlp_endpoint"
    if endpoint is None:
        for var in _ENDPOINT_VARS:
            if os.environ.get(var):
                endpoint, source = os.environ[var], var
                protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
                break
    if endpoint is None:
        return Check("info", "exporter", "no OTLP endpoint configured: spans and metrics are not "
                     "exported (the ledger still records every call)")
    try:
        host, port = endpoint_address(endpoint, protocol)
    except ValueError as exc:
        return Check("fail", "exporter", f"{source}={endpoint!r} is not a valid endpoint: {exc}",
                     "use e.g. http://127.0.0.1:4317")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        return Check("fail", "exporter", f"{source}: cannot connect to {host}:{port} ({reason})",
                     "start the OpenTelemetry Collector (see collector-config/) or correct "
                     f"{source}")
    return Check("ok", "exporter", f"{host}:{port} accepts connections ({protocol}, from {source})")


def _ledger(url: str | None) -> Check:
    from llmledger.ledger.probe import probe

    if url is None:
        return Check("info", "ledger", "no ledger configured (set ledger: llmledger.db, or "
                     "LLMLEDGER_LEDGER, to keep every call locally for `llmledger report`)")
    try:
        result = probe(url)
    except ConfigError as exc:
        return Check("fail", "ledger", str(exc), "use a file path or a postgresql:// URL")
    return Check("ok" if result.ok else "fail", "ledger", f"{result.description}: {result.detail}",
                 result.fix)


def ledger_check(db: str | None, config: Config) -> Check:
    """The ledger ``llmledger report`` would read, checked: ``--db``, else the config's ``ledger:``
    (the same file an app gives ``init()``, e.g. ``./llmledger.yaml``), else ``./llmledger.db``
    when it exists (report's default)."""
    from llmledger.cli.report import DEFAULT_LEDGER

    if db or config.ledger:
        return _ledger(db or config.ledger)
    if Path(DEFAULT_LEDGER).is_file():
        found = _ledger(DEFAULT_LEDGER)
        return replace(found, detail=f"{found.detail} (not configured, but here: `llmledger report` "
                       "reads it by default)")
    where = f"in {config.config_file}" if config.config_file else "(no config file)"
    return Check("info", "ledger", f"no ledger configured {where}. An app that calls "
                 "init(ledger=...) keeps it to itself: put `ledger: llmledger.db` in the config file "
                 "the app reads (init() reads ./llmledger.yaml or LLMLEDGER_CONFIG) and pass that file "
                 "with --config, or pass --db")
