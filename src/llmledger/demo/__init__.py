"""``llmledger demo``: a simulated month of a small SaaS, offline, recorded in a real ledger.

Starts the local fake provider, instruments the real OpenAI and Anthropic SDKs with llmledger
(plans and a ledger configured as an app would), makes every call of the simulated month
(``scenario``) through them, and leaves a ledger plus the config file with its plans, so that
``llmledger report`` can be run on them afterwards. With an OTLP endpoint the same run also feeds
the collector (spans and metrics carry real time; the ledger carries the simulated days).

The openai SDK is required; without the anthropic SDK the Claude workloads run on OpenAI models
(``driver.FALLBACK_MODELS``) and the result says so.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import yaml

from llmledger.cli.render import ProgressBar
from llmledger.config import Config
from llmledger.demo.clock import SimulatedClockSink
from llmledger.demo.driver import Clients, anthropic_available, openai_available
from llmledger.demo.scenario import POWER_USER, PlannedCall, month_days, plan_month, plans_config, previous_month
from llmledger.endpoints import load_endpoints
from llmledger.errors import LLMLedgerError
from llmledger.fake_provider import FakeProviderServer
from llmledger.ledger import is_postgres, open_ledger_sink, redact, sqlite_path
from llmledger.ledger.probe import probe
from llmledger.plans import PlanBook, load_plans

SERVICE_NAME = "llmledger-demo"
DEFAULT_LEDGER = "llmledger-demo.db"
FAKE_PROVIDER_ENDPOINTS = load_endpoints({"127.0.0.1": "openai"}, "llmledger demo")[0]
"""The demo's fake provider listens on 127.0.0.1 and answers as OpenAI (and Anthropic, whose SDK
llmledger names by its client)."""


class DemoError(LLMLedgerError):
    """The demo cannot run as asked (the message says why and what to do)."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    ledger: str = DEFAULT_LEDGER
    config_file: str | None = None
    """Where to write the demo's plans (default: next to the ledger, ``.yaml``)."""
    month: date | None = None
    """First day of the simulated month (default: the last complete month of 30 or 31 days)."""
    seed: int = 7
    workers: int = 4
    otlp_endpoint: str | None = None
    otlp_protocol: str = "grpc"
    anthropic: bool | None = None
    """Call the Anthropic SDK (default: when it is installed); False runs the OpenAI-only demo."""
    provider_url: str | None = None
    """Send the calls to this provider base URL instead of starting the local fake provider."""

INSTALL_HINT = ("pip install 'openai>=3.57,<4' 'anthropic>=2.14,<3' (the SDK versions llmledger is tested "
                "with), or run bash scripts/demo.sh in a clone of llmledger, which installs everything")


@dataclass(slots=True)
class DemoResult:
    ledger: str
    config_file: Path
    plans: PlanBook
    since: datetime
    until: datetime
    calls: int = 0
    failed_calls: int = 0
    seconds: float = 0.0
    used_anthropic: bool = False
    dropped: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    """What went wrong, by description (``driver.describe_failure``), with its count."""
    scripted_failures: int = 0
    """Calls the scenario answers with a rate-limit error on purpose."""
    power_user_model: tuple[str, str] = ("anthropic", "")
    """(provider, model) of the power user's summaries in this run."""

    @property
    def sdks(self) -> tuple[str, ...]:
        return ("OpenAI", "Anthropic") if self.used_anthropic else ("OpenAI",)

    @property
    def unexpected_failures(self) -> int:
        """Failed calls the scenario did not script (a provider that cannot be reached, ...)."""
        return self.failed_calls - min(self.failures.get(SCRIPTED_FAILURE, 0), self.scripted_failures)


SCRIPTED_FAILURE = "rate-limit error (HTTP 429)"


def _prepare_ledger(ledger: str) -> None:
    """A previous demo ledger is replaced; any other existing file is left alone (and refused)."""
    if is_postgres(ledger):
        return  # rows are added; use a scratch database
    path = sqlite_path(ledger)
    if not path.exists():
        return
    found = probe(ledger)
    if not found.ok or "schema v" not in found.detail:
        raise DemoError(f"{path} exists and is not an llmledger ledger; choose another --ledger")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _write_config(options: DemoOptions) -> tuple[Path, PlanBook]:
    if options.config_file is not None:
        target = Path(options.config_file)
    elif is_postgres(options.ledger):
        target = Path("llmledger-demo.yaml")
    else:
        target = sqlite_path(options.ledger).with_suffix(".yaml")
    sections = plans_config()
    shown = redact(options.ledger)
    header = ("# Written by `llmledger demo`: the plans and customers of the simulated month.\n"
              f"# Try: llmledger report --db {shown} --config {target}\n")
    # A URL with a password is not written to the file.
    content = {"ledger": options.ledger, **sections} if shown == options.ledger else sections
    target.write_text(header + yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return target, load_plans(sections["plans"], sections["customers"], str(target))


def _telemetry_providers(options: DemoOptions) -> Any:
    """SDK providers: exporting over OTLP when an endpoint is given, else local only."""
    from llmledger.otel_setup import Providers, setup_providers

    if options.otlp_endpoint:
        # A month runs in seconds: export metrics every second (not every minute) so that the
        # collector's Prometheus sees the counters grow, not a single final sample.
        os.environ.setdefault("OTEL_METRIC_EXPORT_INTERVAL", "1000")
        return setup_providers(service_name=SERVICE_NAME, otlp_endpoint=options.otlp_endpoint,
                               otlp_protocol=options.otlp_protocol)
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import SERVICE_NAME as SERVICE_NAME_KEY
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create({SERVICE_NAME_KEY: SERVICE_NAME})
    tracer, meter = TracerProvider(resource=resource), MeterProvider(resource=resource)
    return Providers(tracer, meter, [tracer, meter])


def run_demo(options: DemoOptions, *, tracer_provider: Any = None, meter_provider: Any = None,
             progress: TextIO | None = sys.stderr) -> DemoResult:
    """Simulate the month and write the ledger. Providers may be injected (tests); otherwise
    they are built here and shut down at the end."""
    from llmledger.instrumentation.instrumentor import LLMLedgerInstrumentor

    first_day = options.month or previous_month(datetime.now(timezone.utc).date())
    days = month_days(first_day)
    month = plan_month(first_day, options.seed)
    _prepare_ledger(options.ledger)
    config_file, plans = _write_config(options)
    since = datetime.combine(days[0], datetime.min.time(), tzinfo=timezone.utc)
    until = _next_month(since)
    if not openai_available():
        raise DemoError(f"the demo calls the OpenAI SDK, which is not installed: {INSTALL_HINT}")
    use_anthropic = anthropic_available() if options.anthropic is None else (
        options.anthropic and anthropic_available())
    result = DemoResult(options.ledger, config_file, plans, since, until, used_anthropic=use_anthropic,
                        scripted_failures=sum(call.fail_status is not None for day in month for call in day))

    instrumentor = LLMLedgerInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        raise DemoError("llmledger is already instrumenting this process; run the demo on its own")
    owned = None
    if tracer_provider is None or meter_provider is None:
        owned = _telemetry_providers(options)
        tracer_provider, meter_provider = owned.tracer_provider, owned.meter_provider
    sink = SimulatedClockSink(open_ledger_sink(options.ledger, service_name=SERVICE_NAME))
    # Only the SDKs the demo calls: importing every installed SDK would double its run time.
    config = Config(service_name=SERVICE_NAME, plans=plans, otlp_endpoint=options.otlp_endpoint,
                    providers=frozenset({"openai", "anthropic"}), endpoints=FAKE_PROVIDER_ENDPOINTS)
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, config=config,
                            sinks=[sink])
    sink.bind_telemetry(instrumentor.telemetry)
    started = time.monotonic()
    try:
        with FakeProviderServer() as fake:
            clients = Clients(options.provider_url or fake.url, use_anthropic=result.used_anthropic)
            try:
                result.power_user_model = clients.model_for(_power_user_summary(month))
                _run_month(month, clients, options.workers, result, progress, len(days))
            finally:
                clients.close()
    finally:
        instrumentor.uninstrument()
        sink.flush()
        sink.close()
        result.dropped = dict(sink.inner.dropped)
        if owned is not None:
            owned.flush()
            owned.shutdown()
    result.seconds = time.monotonic() - started
    return result


def _power_user_summary(month: list[list[PlannedCall]]) -> PlannedCall:
    return next(call for day in month for call in day
                if call.customer == POWER_USER and call.workload.kind == "summary")


def _next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def _run_month(month: list[list[Any]], clients: Clients, workers: int, result: DemoResult,
               progress: TextIO | None, day_count: int) -> None:
    total = sum(len(day) for day in month)
    bar = ProgressBar(total, stream=progress) if progress is not None else None
    dot = "·" if bar is None or bar.style.unicode else "-"
    failures: Counter[str] = Counter()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="llmledger-demo") as pool:
        for index, day_calls in enumerate(month, start=1):
            for future in as_completed([pool.submit(clients.perform, call) for call in day_calls]):
                result.calls += 1
                failure = future.result()
                if failure is not None:
                    failures[failure] += 1
                    result.failed_calls += 1
                    result.failures = dict(failures)
                if bar is not None:
                    bar.update(result.calls, f"day {index}/{day_count} {dot} {result.calls:,} calls")
    if bar is not None:
        bar.finish(f"{day_count} days {dot} {result.calls:,} calls")
