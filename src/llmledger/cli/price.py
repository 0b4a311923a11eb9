"""``llmledger price``: what one call costs, line by line, and where the price comes from.

Token flags mean what the span attributes mean: ``--input`` counts all input tokens (cache reads
and writes included), ``--cache-write`` all cache writes and ``--cache-write-1h`` the part of them
written with a one-hour TTL, ``--reasoning``, ``--output-audio`` and ``--output-image`` are parts of
``--output``, ``--cache-read-audio`` is the audio part of ``--cache-read`` (and of ``--input-audio``).
``--geo us`` (Anthropic US-only inference, +10%), ``--traffic-type flex`` (Vertex Flex PayGo, -50%),
``--region`` (a regional-processing endpoint) and the service tier / batch flags change the rates.
Exit status 2 when the call cannot be priced (unknown model, no rate for the tier) or the arguments are invalid.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import yaml

from llmledger.errors import ConfigError
from llmledger.pricing import PriceOverrides, Pricer, Quote, load_price_overrides
from llmledger.pricing.modifiers import describe, price_context
from llmledger.usage import PriceModifiers, Usage

_COUNTS = (
    ("--input", "input_tokens", "all input tokens, cache reads and writes included"),
    ("--output", "output_tokens", "all output tokens, reasoning included"),
    ("--cache-read", "cache_read_tokens", "input tokens read from the prompt cache"),
    ("--cache-write", "cache_write_tokens", "input tokens written to the prompt cache (any TTL)"),
    ("--cache-write-1h", "cache_write_1h_tokens", "the part of --cache-write written with a 1h TTL"),
    ("--reasoning", "reasoning_tokens", "the part of --output spent on reasoning"),
    ("--input-audio", "input_audio_tokens", "the part of --input that is audio"),
    ("--cache-read-audio", "cache_read_audio_tokens", "the part of --cache-read that is audio"),
    ("--output-audio", "output_audio_tokens", "the part of --output that is audio"),
    ("--output-image", "output_image_tokens", "the part of --output that is image tokens"),
    ("--web-searches", "web_searches", "server-side web search requests"),
)
# (subset flag(s), total flag) pairs that must nest, as the span attributes do.
_NESTING = (
    (("--cache-read", "--cache-write"), "--input"),
    (("--cache-write-1h",), "--cache-write"),
    (("--input-audio",), "--input"),
    (("--reasoning",), "--output"),
    (("--output-audio",), "--output"),
    (("--output-image",), "--output"),
    (("--cache-read-audio",), "--cache-read"),
    (("--cache-read-audio",), "--input-audio"),
)
# --traffic-type words (Vertex AI ``trafficType`` without its ON_DEMAND_ prefix) -> service tier
_TRAFFIC_TYPES = {"standard": None, "flex": "ON_DEMAND_FLEX", "priority": "ON_DEMAND_PRIORITY"}


class _UsageError(Exception):
    """Invalid arguments: the message names the flag."""


def add_parser(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "price",
        help="price one call: matched model, line-by-line breakdown, total and price source",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--provider", required=True, help="gen_ai.provider.name, e.g. openai, aws.bedrock")
    parser.add_argument("--model", required=True, help="model id as the provider reports it")
    for flag, dest, help_text in _COUNTS:
        required = flag in ("--input", "--output")
        parser.add_argument(flag, dest=dest, type=int, default=0, required=required, help=help_text)
    parser.add_argument("--batch", action="store_true", help="the call went through a batch API")
    parser.add_argument("--service-tier", help="provider service tier: flex, priority, scale, ON_DEMAND_FLEX ...")
    parser.add_argument("--speed", help="Anthropic fast mode: fast")
    parser.add_argument("--geo", help="Anthropic inference_geo the response reports: us (US-only, +10%%), global")
    parser.add_argument(
        "--traffic-type", choices=sorted(_TRAFFIC_TYPES), help="Vertex AI / Gemini traffic type (flex: Flex PayGo)"
    )
    parser.add_argument("--region", help="regional-processing endpoint, e.g. eu for eu.api.openai.com")
    parser.add_argument("--at", help="time of the call (ISO date or datetime, UTC if no offset); default now")
    parser.add_argument("--config", help="llmledger YAML config whose `pricing:` section applies")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        usage = _usage(args)
        at = _at(args.at)
        overrides = _overrides(args.config)
    except _UsageError as exc:
        print(f"llmledger price: {exc}", file=sys.stderr)
        return 2
    modifiers = quote_modifiers(args)
    pricing_log = logging.getLogger("llmledger.pricing")
    quiet = _Silence()  # the CLI reports an unpriced call itself; the engine's warning would repeat it
    pricing_log.addFilter(quiet)
    try:
        quote = Pricer(overrides).quote(args.provider, args.model, usage, modifiers, at)
    finally:
        pricing_log.removeFilter(quiet)
    if args.json:
        print(json.dumps(_as_json(args, quote, at), indent=2))
    else:
        _print_text(args, quote)
    if quote.cost.status != "priced":
        if not args.json:
            what = f"model {args.model!r} of provider {args.provider!r}"
            print(f"llmledger price: no price for {what}: {quote.reason}", file=sys.stderr)
        return 2
    return 0


class _Silence(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def quote_modifiers(args: argparse.Namespace) -> PriceModifiers:
    tier = _TRAFFIC_TYPES[args.traffic_type] if args.traffic_type else args.service_tier
    return PriceModifiers(
        service_tier=tier, batch=args.batch, speed=args.speed, inference_geo=args.geo, region=args.region
    )


def _usage(args: argparse.Namespace) -> Usage:
    counts = {dest: getattr(args, dest) for _, dest, _ in _COUNTS}
    flags = {flag: counts[dest] for flag, dest, _ in _COUNTS}
    for flag, value in flags.items():
        if value < 0:
            raise _UsageError(f"{flag} must be >= 0, got {value}")
    for parts, whole in _NESTING:
        if sum(flags[part] for part in parts) > flags[whole]:
            names = " + ".join(parts)
            raise _UsageError(
                f"{names} ({sum(flags[p] for p in parts)}) cannot exceed {whole} ({flags[whole]}): {whole} counts them"
            )
    return Usage(**counts)


def _at(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _UsageError(f"--at: expected an ISO date or datetime like 2026-05-01, got {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _overrides(path: str | None) -> PriceOverrides | None:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as exc:
        raise _UsageError(f"--config: cannot read {path}: {exc.strerror or exc}") from None
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError for dates like 2026-13-01
        raise _UsageError(f"--config: {path} is not valid YAML: {exc}") from None
    if data is None:
        return None
    if not isinstance(data, dict):
        raise _UsageError(f"--config: {path}: the top level must be a mapping")
    try:
        return load_price_overrides(data.get("pricing"), path)
    except ConfigError as exc:
        raise _UsageError(f"--config: {exc}") from None


def plain(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 0.13500000 -> 0.135, 1E+1 -> 10."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _print_text(args: argparse.Namespace, quote: Quote) -> None:
    cost = quote.cost
    print(f"model     {args.model} ({args.provider})")
    if cost.status != "priced" or cost.total is None:
        print(f"status    {cost.status}")
        return
    print(f"matched   {cost.matched_model}")
    print(f"source    {cost.source}")
    context = price_context(quote_modifiers(args))
    if context:
        print(f"applied   {describe(context)} (the rates below include it)")
    if quote.lines:
        print()
        print(f"{'':<18}{'tokens':>12}  {'USD rate':>16}  {'USD':>14}")
        for line in quote.lines:
            rate = f"{plain(line.rate)}/{line.per}"
            print(f"{line.label:<18}{line.count:>12,}  {rate:>16}  {plain(line.usd):>14}")
    print()
    print(f"{'input subtotal':<18}{'':>12}  {'':>16}  {plain(cost.input or Decimal(0)):>14}")
    print(f"{'output subtotal':<18}{'':>12}  {'':>16}  {plain(cost.output or Decimal(0)):>14}")
    print(f"{'total':<18}{'':>12}  {'':>16}  {plain(cost.total):>14} USD")


def _as_json(args: argparse.Namespace, quote: Quote, at: datetime | None) -> dict[str, Any]:
    cost = quote.cost

    def usd(value: Decimal | None) -> str | None:
        return None if value is None else plain(value)

    return {
        "status": cost.status,
        "provider": args.provider,
        "requested_model": args.model,
        "model": cost.matched_model,
        "source": cost.source,
        "total_usd": usd(cost.total),
        "input_usd": usd(cost.input),
        "output_usd": usd(cost.output),
        "breakdown": [
            {
                "line": line.label,
                "tokens": line.count,
                "rate_usd": plain(line.rate),
                "per": line.per,
                "usd": plain(line.usd),
            }
            for line in quote.lines
        ],
        "modifiers": {
            "batch": args.batch,
            "service_tier": args.service_tier,
            "speed": args.speed,
            "geo": args.geo,
            "traffic_type": args.traffic_type,
            "region": args.region,
        },
        "at": at.isoformat() if at else None,
        "reason": quote.reason,
    }
