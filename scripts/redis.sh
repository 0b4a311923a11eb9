#!/usr/bin/env bash
# Redis server binary (redis-server) for the limits' integration tests (shared limit windows).
# Nothing is started here: the tests start their own server on 127.0.0.1 on a free port in a
# temporary directory (tests/integration/limits/conftest.py) and stop it afterwards.
# Idempotent: returns at once when redis-server is there. Usage: bash scripts/redis.sh
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "scripts/redis.sh: no apt-get here; install redis-server by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# policy-rc.d 101: do not start the packaged service; the tests start their own server.
$SUDO apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold redis-server
command -v redis-server
