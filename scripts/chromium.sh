#!/usr/bin/env bash
# Headless Chromium (Debian's `chromium` package) for the HTML report test
# (tests/integration/cli/test_report_html_chromium.py), which renders `llmledger report --format html`.
# Nothing is started here: the test runs chromium itself, offline, with a fresh profile.
# Idempotent: returns at once when chromium is installed. Usage: bash scripts/chromium.sh
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "scripts/chromium.sh: no apt-get here; install Chromium by hand (the test looks for 'chromium')" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
command -v chromium
