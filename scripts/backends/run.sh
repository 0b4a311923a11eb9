#!/usr/bin/env bash
# Start, stop or show the local observability backends, with the configs this repository ships,
# listening on 127.0.0.1 only (the ports are the configs' own defaults):
#   Jaeger v2     collector-config/jaeger.yaml      UI + query API http://127.0.0.1:16686, OTLP in :14317
#   collector     collector-config/gateway.yaml     OTLP in :4317 (gRPC) and :4318 (HTTP); :8889 for Prometheus
#   Prometheus    collector-config/prometheus.yml   http://127.0.0.1:9090 (with the recording and alert rules)
# The binaries are the ones scripts/backends/install.sh builds (run it first; ~27 min the first
# time), found exactly as tests/e2e/conftest.py finds them: under the cache, the collector by the
# hash of collector-config/manifest.yaml. Processes run detached in their own sessions; their pids,
# logs and Prometheus' data live in $LLMLEDGER_BACKENDS_RUN_DIR (default <cache>/run).
#
# Usage:  bash scripts/backends/run.sh start|stop|status
# Env:    LLMLEDGER_BACKENDS_CACHE     cache root (default ~/.cache/llmledger-backends)
#         LLMLEDGER_OTELCOL_BIN, LLMLEDGER_JAEGER_BIN, LLMLEDGER_PROMETHEUS_BIN   other binaries
#         LLMLEDGER_PROMETHEUS_LISTEN  Prometheus address (default 127.0.0.1:9090)
#         LLMLEDGER_PROMETHEUS_CONFIG  Prometheus config (default collector-config/prometheus.yml)
#         the configs' own variables (LLMLEDGER_OTLP_GRPC_ENDPOINT, JAEGER_QUERY_HTTP_PORT, ...: see
#         collector-config/README.md) move the collector's and Jaeger's ports.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/backends/versions.sh
source "$ROOT/scripts/backends/versions.sh"
CACHE=${LLMLEDGER_BACKENDS_CACHE:-$HOME/.cache/llmledger-backends}
RUN=${LLMLEDGER_BACKENDS_RUN_DIR:-$CACHE/run}
CONFIGS="$ROOT/collector-config"
PROM_LISTEN=${LLMLEDGER_PROMETHEUS_LISTEN:-127.0.0.1:9090}
PROM_CONFIG=${LLMLEDGER_PROMETHEUS_CONFIG:-$CONFIGS/prometheus.yml}
SERVICES=(jaeger collector prometheus)   # start order; stopped in reverse

say() { printf 'backends: %s\n' "$*"; }
die() { printf 'backends: error: %s\n' "$*" >&2; exit 1; }

binary() {  # name -> path of its executable, or a clear refusal
  local path=""
  case "$1" in
    collector) path=${LLMLEDGER_OTELCOL_BIN:-$CACHE/otelcol/$(collector_cache_key "$CONFIGS/manifest.yaml")/otelcol-llmledger} ;;
    jaeger) path=${LLMLEDGER_JAEGER_BIN:-$CACHE/jaeger/$JAEGER_VERSION/jaeger} ;;
    prometheus) path=${LLMLEDGER_PROMETHEUS_BIN:-$(command -v prometheus || true)} ;;
  esac
  [ -n "$path" ] && [ -x "$path" ] ||
    die "$1 not found (${path:-prometheus not on PATH}): run 'bash scripts/backends/install.sh' first (see scripts/backends/README.md)"
  printf '%s\n' "$path"
}

ready_url() {
  case "$1" in
    jaeger) echo "http://${JAEGER_LISTEN_HOST:-127.0.0.1}:${JAEGER_QUERY_HTTP_PORT:-16686}/api/services" ;;
    collector) echo "http://${LLMLEDGER_COLLECTOR_HEALTH_ENDPOINT:-127.0.0.1:13133}/" ;;
    prometheus) echo "http://$PROM_LISTEN/-/ready" ;;
  esac
}

argv() {  # name -> the command line, one word per line
  local bin
  bin=$(binary "$1")
  case "$1" in
    jaeger) printf '%s\n' "$bin" "--config=$CONFIGS/jaeger.yaml" ;;
    collector) printf '%s\n' "$bin" "--config=$CONFIGS/gateway.yaml" ;;
    prometheus) printf '%s\n' "$bin" "--config.file=$PROM_CONFIG" "--storage.tsdb.path=$RUN/prometheus-data" \
      "--web.listen-address=$PROM_LISTEN" "--web.enable-remote-write-receiver" "--web.enable-lifecycle" \
      "--log.level=warn" ;;
  esac
}

pid_of() {  # name -> pid when running (from its pid file)
  local file="$RUN/$1.pid" pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  kill -0 "$pid" 2>/dev/null || { rm -f "$file"; return 1; }
  echo "$pid"
}

wait_ready() {  # name url pid
  python3 - "$2" "$3" <<'EOF' || { tail -20 "$RUN/$1.log" >&2; return 1; }
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(f"exited before it was ready at {url}")
    try:
        with urllib.request.urlopen(url, timeout=2):
            sys.exit(0)
    except OSError:
        time.sleep(0.3)
sys.exit(f"not ready at {url} after 60 s")
EOF
}

start_one() {
  local name=$1 pid cmd=()
  if pid=$(pid_of "$name"); then
    say "$name already running (pid $pid)"
    return
  fi
  mapfile -t cmd < <(argv "$name")
  [ "${#cmd[@]}" -gt 0 ] || exit 1
  setsid "${cmd[@]}" >"$RUN/$name.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$RUN/$name.pid"
  if ! wait_ready "$name" "$(ready_url "$name")" "$pid"; then
    say "$name failed to start (log: $RUN/$name.log); stopping what was started"
    stop_all
    exit 1
  fi
  say "$name started (pid $pid, ready at $(ready_url "$name"), log $RUN/$name.log)"
}

stop_one() {
  local name=$1 pid
  pid=$(pid_of "$name") || { say "$name not running"; return; }
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$RUN/$name.pid"
  say "$name stopped"
}

stop_all() {
  local i
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do stop_one "${SERVICES[$i]}"; done
}

case "${1:-}" in
  start)
    mkdir -p "$RUN"
    for name in "${SERVICES[@]}"; do binary "$name" >/dev/null; done  # refuse before starting anything
    for name in "${SERVICES[@]}"; do start_one "$name"; done
    say "send OTLP to http://${LLMLEDGER_OTLP_GRPC_ENDPOINT:-127.0.0.1:4317} (e.g. bash scripts/demo.sh --otlp-endpoint http://127.0.0.1:4317);"
    say "traces: http://${JAEGER_LISTEN_HOST:-127.0.0.1}:${JAEGER_QUERY_HTTP_PORT:-16686}  metrics: http://$PROM_LISTEN  stop: bash scripts/backends/run.sh stop"
    ;;
  stop) stop_all ;;
  status)
    for name in "${SERVICES[@]}"; do
      if pid=$(pid_of "$name"); then say "$name running (pid $pid, $(ready_url "$name"))"; else say "$name not running"; fi
    done
    ;;
  *) echo "usage: bash scripts/backends/run.sh start|stop|status" >&2; exit 2 ;;
esac
