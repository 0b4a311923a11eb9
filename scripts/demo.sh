#!/usr/bin/env bash
# The main command: from a fresh clone, set up the environment and run `llmledger demo`, a
# simulated month of a small SaaS (real SDKs, a local fake provider: no API key, no network),
# ending with cost and margin per customer. Extra arguments go to the demo, e.g.
#   bash scripts/demo.sh --otlp-endpoint http://127.0.0.1:4317   # also fill Grafana
set -euo pipefail
cd "$(dirname "$0")/.."
echo "Setting up the environment (.venv; the first time takes a minute)..." >&2
bash scripts/env.sh
exec .venv/bin/llmledger demo "$@"
