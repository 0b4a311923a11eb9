#!/usr/bin/env bash
# The whole test suite from a fresh clone: environment, real backends, lint, type-check, tests.
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
# Prerequisites: Debian/Ubuntu, Python >= 3.11, Go >= 1.24, Node.js >= 18 with npm, root (or sudo)
# for apt-get. Each step below checks its own and stops with a clear message when one is missing.
if [ ! -d "${LLMLEDGER_BACKENDS_CACHE:-$HOME/.cache/llmledger-backends}/jaeger" ]; then
  echo "==> first run on this machine: building the collector and Jaeger takes about 27 min on 2 cores"
  echo "    (~5.5 GB of Go caches); later runs reuse ${LLMLEDGER_BACKENDS_CACHE:-~/.cache/llmledger-backends} and take ~4 min"
fi
trap 'echo "==> scripts/test.sh finished in $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s"' EXIT

echo "==> python environment (.venv)"
bash scripts/env.sh

# Real backends for integration/e2e tests: PostgreSQL (ledger), and the OpenTelemetry Collector,
# Jaeger and Prometheus (end to end). Each script is idempotent and cached between runs.
if [ -f scripts/postgres.sh ]; then
  echo "==> PostgreSQL"
  bash scripts/postgres.sh
  export LLMLEDGER_REQUIRE_POSTGRES=1
fi
if [ -f scripts/redis.sh ]; then
  echo "==> Redis (limits store and Celery propagation tests)"
  bash scripts/redis.sh
  export LLMLEDGER_REQUIRE_REDIS=1
fi
if [ -f scripts/backends/install.sh ]; then
  echo "==> collector, Jaeger, Prometheus"
  bash scripts/backends/install.sh
  export LLMLEDGER_E2E=1
fi

bash scripts/chromium.sh && export LLMLEDGER_REQUIRE_CHROMIUM=1  # HTML report test (headless Chromium)
echo "==> ruff"
.venv/bin/ruff check src tests benchmarks
echo "==> mypy"
.venv/bin/mypy
echo "==> pytest"
.venv/bin/pytest -p no:cacheprovider "$@"
if [ -f scripts/matrix.sh ] && [ "$#" -eq 0 ]; then
  echo "==> version matrix (oldest OpenTelemetry, older SDK major lines, frameworks that need openai<3)"
  bash scripts/matrix.sh
fi
