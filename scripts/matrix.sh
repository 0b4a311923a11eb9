#!/usr/bin/env bash
# Version matrix: the provider integration tests on the oldest supported OpenTelemetry release and on
# older SDK major lines, plus the framework tests that need an older openai, each cell in its own uv
# virtualenv under .matrix/ (uv's wheel cache is ~/.cache/uv, so a warm cell installs in seconds).
# The newest supported versions are the pins in constraints.txt, which the main .venv
# (scripts/test.sh) already runs. The versions are data: one "name|requirements|tests" line per cell;
# a cell's requirements replace those packages' pins from constraints.txt, and "@file" names a
# constraints file (one pin a line) for what a cell adds beyond constraints.txt.
# Usage: bash scripts/matrix.sh [cell-name ...]   (default: every cell)
set -euo pipefail
cd "$(dirname "$0")/.."

P=tests/integration/providers F=tests/integration/frameworks
OPENAI_TESTS="$P/test_openai_chat.py $P/test_openai_streams.py $P/test_openai_misc.py $P/test_openai_endpoints.py"
ANTHROPIC_TESTS="$P/test_anthropic_messages.py $P/test_anthropic_streams.py $P/test_anthropic_builtin_spans.py"
BOTH_TESTS="$P/test_raw_responses.py $P/test_pre_request_errors.py"
OTHER_SDK_TESTS="$P/test_groq_chat.py $P/test_google_genai_*.py $P/test_mistral_*.py"
FRAMEWORK_TESTS="$F/test_openai_agents.py $F/test_llama_index.py $F/test_instructor.py"
CELLS=(
  "otel-oldest|opentelemetry-api==1.41.0 opentelemetry-sdk==1.41.0 opentelemetry-exporter-otlp==1.41.0 opentelemetry-instrumentation==0.62b0 opentelemetry-semantic-conventions==0.62b0|tests/integration/providers"
  # the last release of the oldest supported major line of each SDK
  "sdk-oldest|openai==1.109.1 anthropic==0.125.0|$OPENAI_TESTS $ANTHROPIC_TESTS $BOTH_TESTS"
  # the previous major lines (groq, google-genai and mistralai too; cohere 6 needs pydantic-core<2.44), and the frameworks that cannot install next to openai 3 (llama-index-llms-openai:
  # openai<3; instructor: jiter<0.15) at the newest they accept; the OpenAI Agents SDK at its last release before
  # openai 3 (0.20; the main .venv runs 0.24 on openai 3)
  "sdk-previous|openai==2.54.0 anthropic==1.17.0 groq==0.37.1 google-genai==2.34.0 mistralai==2.10.1 jiter==0.14.0 @scripts/matrix-frameworks.txt|$OPENAI_TESTS $ANTHROPIC_TESTS $BOTH_TESTS $OTHER_SDK_TESTS $FRAMEWORK_TESTS"
)
UV=.venv/bin/uv
[ -x "$UV" ] || bash scripts/env.sh

base=$(mktemp)
trap 'rm -f "$base"' EXIT
failed=()
for cell in "${CELLS[@]}"; do
  IFS='|' read -r name reqs tests <<< "$cell"
  if [ "$#" -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  pins=() extra=() drop='^(opentelemetry-|importlib-metadata|protobuf|googleapis-common-protos|grpcio)'
  for req in $reqs; do
    if [[ $req == @* ]]; then
      extra+=(-c "${req#@}")
      for pkg in $(grep -v -E "^(#|$)" "${req#@}" | cut -d= -f1); do drop+="|^${pkg}=="; done
    else
      pins+=("$req") drop+="|^${req%%==*}=="
    fi
  done
  # constraints.txt without OpenTelemetry (and what its releases pin differently) and the cell's packages
  grep -v -E "$drop" constraints.txt > "$base"
  venv=.matrix/$name
  echo "==> matrix $name: $reqs"
  cell_started=$SECONDS
  [ -x "$venv/bin/python" ] || "$UV" venv -q -p "${PYTHON:-python3}" "$venv"
  # shellcheck disable=SC2086
  VIRTUAL_ENV=$venv "$UV" pip install -q -c "$base" "${extra[@]}" "${pins[@]}" -e ".[all]" \
    $(grep -E '^(pytest|pytest-asyncio)==' requirements-dev.txt) \
    $(if [ "${#extra[@]}" -gt 0 ]; then grep -v -E '^(#|$)' "${extra[1]}" | cut -d= -f1; fi)
  # shellcheck disable=SC2086
  LLMLEDGER_REQUIRE_FRAMEWORKS=1 "$venv/bin/python" -m pytest -p no:cacheprovider -q $tests || failed+=("$name")
  echo "==> matrix $name took $((SECONDS - cell_started)) s"
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "==> matrix cells failed: ${failed[*]}" >&2
  exit 1
fi
