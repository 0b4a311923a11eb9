#!/usr/bin/env bash
# The whole test suite from a fresh clone: environment, real backends, lint, type-check, tests.
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> python environment (.venv)"
bash scripts/env.sh

# Real backends for integration/e2e tests: PostgreSQL (ledger), and the OpenTelemetry Collector,
# Jaeger and Prometheus (end to end). Each script is idempotent and cached between runs.
if [ -f scripts/postgres.sh ]; then
  echo "==> PostgreSQL"
  bash scripts/postgres.sh
  export LLMLEDGER_REQUIRE_POSTGRES=1
fi
[ -f scripts/redis.sh ] && bash scripts/redis.sh && export LLMLEDGER_REQUIRE_REDIS=1  # limits_store tests
if [ -f scripts/backends/install.sh ]; then
  echo "==> collector, Jaeger, Prometheus"
  bash scripts/backends/install.sh
  export LLMLEDGER_E2E=1
fi

echo "==> ruff"
.venv/bin/ruff check src tests benchmarks
echo "==> mypy"
.venv/bin/mypy
echo "==> pytest"
.venv/bin/pytest -p no:cacheprovider "$@"
