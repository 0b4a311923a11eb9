#!/usr/bin/env bash
# Redis server binary (redis-server) for the tests that need a real Redis: the limits' shared
# windows (tests/integration/limits) and the Celery broker (tests/integration/frameworks).
# Nothing is started here and the Debian service is kept from starting: the tests start their own
# server on 127.0.0.1 on a free port in a temporary directory and stop it afterwards.
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
# policy-rc.d answering 101 keeps the package's post-install from starting a system-wide server.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created_policy=1
fi
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold redis-server
if [ "$created_policy" = 1 ]; then $SUDO rm -f "$policy"; fi
command -v redis-server
