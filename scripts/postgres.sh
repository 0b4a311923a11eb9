#!/usr/bin/env bash
# PostgreSQL server binaries (initdb, pg_ctl, postgres) for the ledger's integration tests.
# Nothing is started here: the tests start their own server on 127.0.0.1 in a temporary data
# directory (tests/integration/ledger/conftest.py) and stop it afterwards.
# Idempotent: returns at once when the binaries are there. Usage: bash scripts/postgres.sh
set -euo pipefail

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "scripts/postgres.sh: no apt-get here; install the PostgreSQL server (initdb, pg_ctl) by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
    echo "scripts/postgres.sh: installing PostgreSQL with apt-get needs root: run as root, allow sudo," \
      "or install the 'postgresql' package yourself" >&2
    exit 1
  fi
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Debian would create and start a 'main' cluster on port 5432; the tests need none of it.
$SUDO mkdir -p /etc/postgresql-common
if [ ! -f /etc/postgresql-common/createcluster.conf ]; then
  echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold postgresql
ls /usr/lib/postgresql/*/bin/initdb
