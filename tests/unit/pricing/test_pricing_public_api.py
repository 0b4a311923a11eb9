"""llmledger reads genai-prices only through its public API and data types, so that any
``genai-prices>=0.2.3,<0.3`` works without a code change (test_pricing_ratecard.py then checks
every rate card built from the installed version against that version's own ``calc_price``)."""

from __future__ import annotations

import re
from pathlib import Path

import genai_prices

import llmledger.pricing

PRIVATE = re.compile(
    r"_get_registry|genai_prices\.(?:decompose|validation|units|_usage)|vars\(|price\w*\.__dict__|_reported_values"
)


def test_pricing_uses_no_private_genai_prices_api() -> None:
    package = Path(llmledger.pricing.__file__).parent
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if PRIVATE.search(line)
    ]
    assert offenders == []


def test_the_dependency_range_allows_newer_genai_prices() -> None:
    pyproject = (Path(__file__).parents[3] / "pyproject.toml").read_text()
    assert '"genai-prices>=0.2.3,<0.3"' in pyproject
    major, minor, patch = (int(part) for part in genai_prices.__version__.split(".")[:3])
    assert (0, 2, 3) <= (major, minor, patch) < (0, 3, 0)
