"""The demo's simulated month: twenty customers on three plans, and every call they make.

Pure data and a seeded random generator: the same seed and month give the same calls, so the
demo's report is reproducible. Token counts are what a real app of this kind sends; the fake
provider is told to report them (``x-fake-*`` headers) instead of real multi-megabyte prompts.

The classic case is ``brightline-legal``: a $19/month starter customer who summarises a
50,000-token contract into 1,000 tokens four times a day, every day, with Claude Sonnet 4.6
($3/$15 per million tokens, the price of Sonnet 4.5, which the SDK now flags as deprecated):
50,000 x $3/M + 1,000 x $15/M = $0.15 + $0.015 = $0.165 a summary, $0.66 a day, $19.80 in a
30-day month and $20.46 in a 31-day one: more than the $19 the customer pays. The same work on
GPT-4o ($2.50/$10) would cost $0.135 a summary ($16.20 / $16.74 a month) and leave a margin.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

Kind = Literal["chat", "chat_stream", "summary", "cached_qa", "embedding", "reasoning"]

PLANS: dict[str, dict[str, int]] = {
    "starter": {"monthly_usd": 19, "included_tokens": 2_000_000},
    "pro": {"monthly_usd": 99, "included_tokens": 40_000_000},
    "business": {"monthly_usd": 499},
}
POWER_USER = "brightline-legal"


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    plan: str
    rates: dict[str, float]
    """Feature -> mean calls per working day (weekends see a third of it)."""
    monthly_usd: int | None = None
    """A negotiated price overriding the plan's."""
    every_day: bool = False
    """Same activity at weekends."""


@dataclass(frozen=True, slots=True)
class Workload:
    """How one feature calls a model, and the token counts (ranges) it sends and gets back."""

    feature: str
    kind: Kind
    provider: Literal["openai", "anthropic"]
    model: str
    input_tokens: tuple[int, int]
    output_tokens: tuple[int, int]


WORKLOADS: dict[str, Workload] = {
    # Support chat with a long system prompt: OpenAI caches the repeated prefix by itself.
    "support-chat": Workload("support-chat", "chat", "openai", "gpt-4o-mini", (1_500, 4_000), (150, 600)),
    # Summaries of uploaded documents.
    "summarize": Workload("summarize", "summary", "anthropic", "claude-sonnet-4-6", (8_000, 40_000),
                          (400, 1_200)),
    # Questions over a 12k-token knowledge base kept in Anthropic's prompt cache (1h TTL).
    "doc-qa": Workload("doc-qa", "cached_qa", "anthropic", "claude-haiku-4-5", (12_500, 13_500),
                       (200, 500)),
    # Semantic search: embeddings of queries and new documents.
    "search": Workload("search", "embedding", "openai", "text-embedding-3-small", (200, 8_000), (0, 0)),
    # Risk analysis with a reasoning model (most output tokens are reasoning).
    "analysis": Workload("analysis", "reasoning", "openai", "o3", (8_000, 30_000), (4_000, 16_000)),
}
RATE_LIMITED_EVERY = 80
"""One support-chat call in this many gets a 429 from the provider."""
CACHED_PREFIX = 12_000
"""doc-qa: tokens of the cached knowledge base (written once a day, read by every other call)."""


def _light(scale: float) -> dict[str, float]:
    return {"support-chat": 0.8 * scale, "search": 0.6 * scale, "summarize": 0.2 * scale}


def _pro(scale: float) -> dict[str, float]:
    return {"support-chat": 1.2 * scale, "search": 0.8 * scale, "summarize": 1.0 * scale,
            "doc-qa": 1.0 * scale, "analysis": 0.2 * scale}


CUSTOMERS: tuple[Customer, ...] = (
    Customer(POWER_USER, "starter", {"search": 0.5}, every_day=True),
    *(Customer(name, "starter", _light(scale)) for name, scale in (
        ("pixel-pantry", 1.0), ("tiny-tutor", 1.6), ("noteworthy", 0.7), ("fernweh-travel", 1.2),
        ("quillcraft", 2.0), ("greenleaf-crm", 0.5), ("mellow-mail", 1.0), ("sprout-hr", 0.8),
        ("pocket-chef", 1.4))),
    *(Customer(name, "pro", _pro(scale)) for name, scale in (
        ("acme-analytics", 1.5), ("harbor-health", 1.0), ("lumen-docs", 2.5), ("kite-learning", 0.8),
        ("vela-insure", 1.2), ("cobalt-support", 1.8))),
    Customer("orbit-logistics", "pro", {"support-chat": 2, "analysis": 10, "search": 1}),
    Customer("globex", "business", {"support-chat": 4, "search": 3, "doc-qa": 3, "summarize": 2,
                                    "analysis": 2}, monthly_usd=350),
    Customer("initech", "business", {"support-chat": 4, "search": 2, "doc-qa": 2, "summarize": 1}),
    Customer("umbrella-research", "business", {"analysis": 8, "summarize": 3, "search": 2}),
)


@dataclass(frozen=True, slots=True)
class PlannedCall:
    at: datetime
    customer: str
    plan: str
    user: str
    workload: Workload
    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    stream: bool = False
    fail_status: int | None = None
    """Answer with this HTTP error (a rate limit): the ledger shows failed calls too."""

    def headers(self) -> dict[str, str]:
        """The fake provider's controls (OTel token meaning; the provider converts them)."""
        headers = {"x-fake-input-tokens": str(self.input_tokens),
                   "x-fake-output-tokens": str(self.output_tokens)}
        for name, value in (("x-fake-cached-tokens", self.cached_tokens),
                            ("x-fake-cache-write-tokens", self.cache_write_tokens),
                            ("x-fake-cache-write-1h-tokens", self.cache_write_1h_tokens),
                            ("x-fake-reasoning-tokens", self.reasoning_tokens)):
            if value:
                headers[name] = str(value)
        if self.fail_status is not None:
            headers["x-fake-status"] = str(self.fail_status)
        return headers


def previous_month(today: date) -> date:
    """The first day of the last complete calendar month of 30 or 31 days (February is skipped:
    at four summaries a day its 28 days would hide the classic loss, $18.48 against $19)."""
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return first if len(month_days(first)) >= 30 else previous_month(first)


def month_days(first: date) -> list[date]:
    days, day = [], first
    while day.month == first.month:
        days.append(day)
        day += timedelta(days=1)
    return days


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here.
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _at(day: date, rng: random.Random) -> datetime:
    seconds = rng.randrange(8 * 3600, 19 * 3600)  # office hours, UTC
    return datetime.combine(day, time(), tzinfo=timezone.utc) + timedelta(seconds=seconds,
                                                                          microseconds=rng.randrange(10**6))


def _call(workload: Workload, customer: Customer, day: date, rng: random.Random) -> PlannedCall:
    low, high = workload.input_tokens
    out_low, out_high = workload.output_tokens
    input_tokens, output_tokens = rng.randint(low, high), rng.randint(out_low, out_high)
    extra: dict[str, int | bool | None] = {}
    if workload.kind == "chat":
        # OpenAI caches prompt prefixes of 1,024+ tokens in 128-token steps.
        if input_tokens > 2_048 and rng.random() < 0.6:
            extra["cached_tokens"] = 1_024 + 128 * rng.randint(0, (input_tokens - 1_024) // 256)
        extra["stream"] = rng.random() < 0.5
    elif workload.kind == "reasoning":
        extra["reasoning_tokens"] = int(output_tokens * rng.uniform(0.7, 0.85))
    return PlannedCall(_at(day, rng), customer.id, customer.plan, f"{customer.id}-u{rng.randint(1, 5)}",
                       workload, input_tokens, output_tokens, **extra)  # type: ignore[arg-type]


def _power_user_summaries(customer: Customer, day: date, rng: random.Random) -> list[PlannedCall]:
    summarize = WORKLOADS["summarize"]
    start = datetime.combine(day, time(), tzinfo=timezone.utc)
    return [PlannedCall(start + timedelta(hours=hour, minutes=rng.randrange(30)), customer.id,
                        customer.plan, f"{customer.id}-u1", summarize, 50_000, 1_000)
            for hour in (9, 11, 14, 16)]


def plan_month(first_day: date, seed: int = 7) -> list[list[PlannedCall]]:
    """Every call of the month, grouped by day and sorted by time within each day."""
    rng = random.Random(seed)
    month = []
    chats = 0
    for day in month_days(first_day):
        weekend = day.weekday() >= 5
        calls: list[PlannedCall] = []
        for customer in CUSTOMERS:
            if customer.id == POWER_USER:
                calls += _power_user_summaries(customer, day, rng)
            factor = 1.0 if customer.every_day or not weekend else 1 / 3
            for feature, rate in customer.rates.items():
                for _ in range(_poisson(rng, rate * factor)):
                    calls.append(_call(WORKLOADS[feature], customer, day, rng))
        calls.sort(key=lambda call: call.at)
        calls = _with_prompt_cache(calls)
        for index, call in enumerate(calls):
            if call.workload.kind == "chat":
                chats += 1
                if chats % RATE_LIMITED_EVERY == 0:  # the ledger records failed calls too
                    calls[index] = replace(call, fail_status=429)
        month.append(calls)
    return month


def _with_prompt_cache(calls: list[PlannedCall]) -> list[PlannedCall]:
    """doc-qa: a customer's first question of the day writes the knowledge base to the 1h cache;
    the later ones read it."""
    warm: set[str] = set()
    out = []
    for call in calls:
        if call.workload.kind == "cached_qa":
            if call.customer in warm:
                call = replace(call, cached_tokens=CACHED_PREFIX)
            else:
                warm.add(call.customer)
                call = replace(call, cache_write_tokens=CACHED_PREFIX, cache_write_1h_tokens=CACHED_PREFIX)
        out.append(call)
    return out


def plans_config() -> dict[str, object]:
    """The ``plans:`` and ``customers:`` sections of the demo's config file."""
    customers: dict[str, dict[str, object]] = {}
    for customer in CUSTOMERS:
        entry: dict[str, object] = {"plan": customer.plan}
        if customer.monthly_usd is not None:
            entry["monthly_usd"] = customer.monthly_usd
        customers[customer.id] = entry
    return {"plans": {name: dict(spec) for name, spec in PLANS.items()}, "customers": customers}
