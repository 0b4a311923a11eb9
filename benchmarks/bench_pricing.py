"""Cost of pricing one call: warm (the key was seen before) and cold (first call of a key).

Target (DESIGN.md): <= 5 us to price a call whose (provider, model, modifiers) was seen before.
Each figure is the best of several rounds of many calls (the minimum is the least disturbed by
other processes on the machine), as CPU time of the benchmark thread (``time.thread_time_ns``, which
does not count time the thread spent waiting for a CPU on a busy machine) and as wall time.
genai-prices' own ``calc_price`` on the same usage is measured as the reference.

Run: ``.venv/bin/python benchmarks/bench_pricing.py`` (writes benchmarks/results/pricing.txt).
"""

from __future__ import annotations

import gc
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import genai_prices

from llmledger.pricing import Pricer, load_price_overrides
from llmledger.pricing.ratecard import genai_usage
from llmledger.usage import NO_MODIFIERS, PriceModifiers, Usage

RESULTS = Path(__file__).parent / "results" / "pricing.txt"
AT = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
OVERRIDES = load_price_overrides(
    {
        "deployments": {"azure.ai.openai": {"my-gpt4o-prod": "gpt-4o"}},
        "models": [
            {"provider": "openai", "model": "llama-3.3-70b", "prices": {"input_mtok": 0.1, "output_mtok": 0.3}},
            {"provider": "azure.ai.openai", "model_prefix": "gpt-4o", "multiplier": 0.8},
        ],
    },
    "llmledger.yaml",
)

# (label, provider, model, usage, modifiers, at)
WARM = [
    ("openai gpt-4o, at=None (now)", "openai", "gpt-4o", Usage(1_200, 300), NO_MODIFIERS, None),
    ("openai gpt-4o, cached input, at=t", "openai", "gpt-4o-2024-08-06", Usage(1_200, 300, 200), NO_MODIFIERS, AT),
    ("openai o3, reasoning", "openai", "o3", Usage(1_000, 5_000, reasoning_tokens=4_000), NO_MODIFIERS, AT),
    ("openai gpt-5, priority tier", "openai", "gpt-5", Usage(10_000, 800), PriceModifiers(service_tier="priority"), AT),
    ("openai gpt-audio, audio", "openai", "gpt-audio", Usage(3_000, 500, input_audio_tokens=2_000), NO_MODIFIERS, AT),
    ("anthropic sonnet 4.5, read + 5m + 1h writes", "anthropic", "claude-sonnet-4-5",
     Usage(20_000, 1_000, 10_000, 4_000, 1_000), NO_MODIFIERS, AT),
    ("anthropic opus 4.5, batch", "anthropic", "claude-opus-4-5", Usage(20_000, 1_000), PriceModifiers(batch=True), AT),
    ("gemini 2.5 pro, >200k tier", "gcp.gemini", "gemini-2.5-pro", Usage(250_000, 1_000), NO_MODIFIERS, AT),
    ("bedrock us. profile", "aws.bedrock", "us.anthropic.claude-3-5-sonnet-20240620-v1:0", Usage(5_000, 500),
     NO_MODIFIERS, AT),
    ("azure deployment, override x0.8", "azure.ai.openai", "my-gpt4o-prod", Usage(1_200, 300), NO_MODIFIERS, AT),
    ("self-hosted override prices", "openai", "llama-3.3-70b", Usage(1_200, 300), NO_MODIFIERS, AT),
    ("unknown model (unpriced)", "openai", "acme-llm-9000", Usage(1_200, 300), NO_MODIFIERS, AT),
]  # fmt: skip


def per_call_us(fn: Callable[[], object], calls: int, rounds: int) -> tuple[float, float, float]:
    """(best CPU, median CPU, best wall) microseconds per call over ``rounds`` rounds of ``calls``."""
    cpu, wall = [], []
    for _ in range(rounds):
        gc.disable()
        start_cpu, start_wall = time.thread_time_ns(), time.perf_counter_ns()
        for _ in range(calls):
            fn()
        cpu.append((time.thread_time_ns() - start_cpu) / calls / 1000)
        wall.append((time.perf_counter_ns() - start_wall) / calls / 1000)
        gc.enable()
    return min(cpu), statistics.median(cpu), min(wall)


def row(label: str, figures: tuple[float, float, float]) -> str:
    return f"  {label:<45} {figures[0]:8.2f}  {figures[1]:10.2f}  {figures[2]:9.2f}"


def main() -> int:
    # The cold rounds use a fresh Pricer each time, each of which warns once about the unknown model.
    logging.getLogger("llmledger.pricing").setLevel(logging.ERROR)
    lines = [
        f"llmledger pricing benchmark ({time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}, "
        f"genai-prices {genai_prices.__version__}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at start)",
        "microseconds per call: CPU time best / median of 15 rounds, and best wall time",
        "",
        "warm calls (key seen before)                   cpu best  cpu median  wall best",
    ]
    pricer = Pricer(OVERRIDES)
    for label, provider, model, usage, modifiers, at in WARM:
        pricer.price(provider, model, usage, modifiers, at)

        def call(
            p: str = provider, m: str = model, u: Usage = usage, mo: PriceModifiers = modifiers, t: datetime | None = at
        ) -> object:
            return pricer.price(p, m, u, mo, t)

        lines.append(row(label, per_call_us(call, 20_000, 15)))

    reference_usage = genai_usage(Usage(1_200, 300, 200))

    def reference() -> object:
        return genai_prices.calc_price(reference_usage, "gpt-4o", provider_id="openai", genai_request_timestamp=AT)

    lines += ["", "reference", row("genai_prices.calc_price, gpt-4o cached input", per_call_us(reference, 500, 15))]

    lines += ["", "cold calls (fresh Pricer, first call of the key)"]
    cold = [
        ("openai gpt-4o", "openai", "gpt-4o-2024-08-06", NO_MODIFIERS),
        ("anthropic sonnet 4.5, batch", "anthropic", "claude-sonnet-4-5", PriceModifiers(batch=True)),
        ("bedrock ARN", "aws.bedrock", "arn:aws:bedrock:us-east-1:1:inference-profile/eu.amazon.nova-pro-v1:0",
         NO_MODIFIERS),
        ("azure deployment, override x0.8", "azure.ai.openai", "my-gpt4o-prod", NO_MODIFIERS),
        ("unknown model (unpriced, logged once)", "openai", "acme-llm-9000", NO_MODIFIERS),
    ]  # fmt: skip
    for label, provider, model, modifiers in cold:

        def first_call(p: str = provider, m: str = model, mo: PriceModifiers = modifiers) -> object:
            return Pricer(OVERRIDES).price(p, m, Usage(1_200, 300), mo, AT)

        lines.append(row(label, per_call_us(first_call, 20, 15)))

    text = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
