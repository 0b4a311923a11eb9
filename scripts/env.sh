#!/usr/bin/env bash
# Create (or refresh) the project's virtualenv in .venv with every pinned dependency.
# Idempotent and quick when nothing changed. Usage: bash scripts/env.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
fi
stamp=.venv/.llmledger-installed
want=$(cat pyproject.toml constraints.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  VIRTUAL_ENV=.venv .venv/bin/uv pip install --quiet -c constraints.txt -e ".[all]" -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
