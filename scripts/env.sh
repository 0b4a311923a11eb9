#!/usr/bin/env bash
# Create (or refresh) the project's virtualenv in .venv with every pinned dependency.
# Idempotent and quick when nothing changed. Usage: bash scripts/env.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null 2>&1 ||
   ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "scripts/env.sh: Python >= 3.10 is needed (found: $( (command -v "$PY" >/dev/null && "$PY" --version 2>&1) || echo "no $PY"));" \
    "set PYTHON=/path/to/python3.x" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ] && ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
  echo "scripts/env.sh: $PY cannot create a virtualenv (Debian: apt-get install python3-venv)" >&2
  exit 1
fi
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
