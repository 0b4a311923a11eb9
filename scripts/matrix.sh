#!/usr/bin/env bash
# Version matrix: the provider integration tests against the oldest supported OpenTelemetry
# release (SDK versions stay at their pins in constraints.txt), in its own uv virtualenv under
# .matrix/. The newest supported versions are the pins in constraints.txt, which the main .venv
# (scripts/test.sh) already runs. The versions are data: one "name|requirements" line per cell.
# Usage: bash scripts/matrix.sh [cell-name ...]   (default: every cell)
set -euo pipefail
cd "$(dirname "$0")/.."

CELLS=(
  "otel-oldest|opentelemetry-api==1.41.0 opentelemetry-sdk==1.41.0 opentelemetry-exporter-otlp==1.41.0 opentelemetry-instrumentation==0.62b0 opentelemetry-semantic-conventions==0.62b0"
)
TESTS=${MATRIX_TESTS:-tests/integration/providers}
UV=.venv/bin/uv
[ -x "$UV" ] || bash scripts/env.sh

# constraints.txt without OpenTelemetry and what its releases pin differently (the cells choose those)
base=$(mktemp)
trap 'rm -f "$base"' EXIT
grep -v -E '^(opentelemetry-|importlib-metadata|protobuf|googleapis-common-protos|grpcio)' constraints.txt > "$base"

for cell in "${CELLS[@]}"; do
  name=${cell%%|*}
  pins=${cell#*|}
  if [ "$#" -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  venv=.matrix/$name
  echo "==> matrix $name: $pins"
  [ -x "$venv/bin/python" ] || "$UV" venv -q -p "${PYTHON:-python3}" "$venv"
  # shellcheck disable=SC2086
  VIRTUAL_ENV=$venv "$UV" pip install -q -c "$base" $pins -e ".[all]" \
    $(grep -E '^(pytest|pytest-asyncio)==' requirements-dev.txt)
  "$venv/bin/python" -m pytest -p no:cacheprovider -q -x "$TESTS"
done
