#!/usr/bin/env bash
# Install or build every real backend that llmledger's end-to-end tests start:
#   - the llmledger OpenTelemetry Collector distribution, built with the official builder (ocb)
#     from collector-config/manifest.yaml, cached under a key made of the manifest's hash;
#   - Jaeger v2 (query API + OTLP intake, in-memory storage), built from its Go module, cached by version;
#   - Prometheus and promtool from the Debian package (apt-get);
#   - @grafana/schema + TypeScript (npm ci in tests/dashboards) to type-check the dashboards.
# Idempotent: a second run only checks the caches (seconds). Safe to run concurrently (flock).
#
# Usage:  bash scripts/backends/install.sh            (CI runs this before pytest)
# Env:    LLMLEDGER_BACKENDS_CACHE  cache root (default ~/.cache/llmledger-backends)
#         LLMLEDGER_SKIP_APT=1      do not call apt-get (Prometheus must then already be on PATH)
#         LLMLEDGER_SKIP_NPM=1      do not install the dashboard type-check packages
# Output: $CACHE/bin/{otelcol-llmledger,jaeger} symlinks; tests/e2e/conftest.py finds the same
#         paths (and the manifest-hash key) by itself, so no other variable needs exporting.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/backends/versions.sh
source "$ROOT/scripts/backends/versions.sh"

CACHE=${LLMLEDGER_BACKENDS_CACHE:-$HOME/.cache/llmledger-backends}
mkdir -p "$CACHE/bin" "$CACHE/tools"
exec 9>"$CACHE/.install.lock"
flock 9

# Leftovers of an interrupted build (we hold the lock, so nobody else is building).
rm -rf "$CACHE"/otelcol-build.* "$CACHE"/jaeger-build.*

log() { printf '[backends %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
t_start=$SECONDS

need() {
  command -v "$1" >/dev/null 2>&1 || { log "error: '$1' not found on PATH ($2)"; exit 1; }
}

# --- prerequisites, checked before anything long starts ----------------------------------------------
GO_MIN=1.24
NODE_MIN=18
version_at_least() {  # have want: true when have >= want (dotted numbers)
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]
}
preflight() {
  local problems=() builds=() go_version node_version
  [ -x "$CACHE/otelcol/$(collector_cache_key "$ROOT/collector-config/manifest.yaml")/otelcol-llmledger" ] ||
    builds+=(collector)
  [ -x "$CACHE/jaeger/$JAEGER_VERSION/jaeger" ] || builds+=(Jaeger)
  local what="${builds[*]:-}"
  what=${what// / and }
  if [ "${#builds[@]}" -gt 0 ]; then
    if ! command -v go >/dev/null 2>&1; then
      problems+=("Go >= $GO_MIN is needed to build the $what (https://go.dev/dl/; Debian: a backports golang-1.2x)")
    else
      go_version=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
      version_at_least "${go_version:-0}" "$GO_MIN" ||
        problems+=("Go >= $GO_MIN is needed to build the $what; found go ${go_version:-?} ($(command -v go))")
    fi
  fi
  if [ "${LLMLEDGER_SKIP_NPM:-0}" != 1 ] &&
     [ ! -f "$ROOT/tests/dashboards/node_modules/.llmledger-installed" ]; then
    if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
      problems+=("Node.js >= $NODE_MIN with npm is needed for the dashboard type-check (Debian: apt-get install nodejs npm; or LLMLEDGER_SKIP_NPM=1)")
    else
      node_version=$(node --version | sed 's/^v//')
      version_at_least "$node_version" "$NODE_MIN" ||
        problems+=("Node.js >= $NODE_MIN is needed for the dashboard type-check; found $node_version")
    fi
  fi
  if ! { command -v prometheus && command -v promtool; } >/dev/null 2>&1 && [ "${LLMLEDGER_SKIP_APT:-0}" != 1 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
      problems+=("Prometheus is installed with apt-get (Debian/Ubuntu); elsewhere put prometheus and promtool on PATH and set LLMLEDGER_SKIP_APT=1")
    elif [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
      problems+=("installing Prometheus with apt-get needs root: run as root, allow sudo, or install the 'prometheus' package yourself")
    fi
  fi
  if [ "${#problems[@]}" -gt 0 ]; then
    log "error: missing prerequisites (nothing was installed):"
    printf '  - %s\n' "${problems[@]}" >&2
    exit 1
  fi
  if [ "${#builds[@]}" -gt 0 ]; then
    log "first run: building the $what from source with Go: about 27 min on 2 cores and ~5.5 GB of"
    log "Go module and build caches (GOMODCACHE, GOCACHE); the binaries are then cached in $CACHE"
  fi
}

# -modcacherw: a module cache that `rm -rf` can delete; local toolchain; static binaries.
export GOFLAGS="${GOFLAGS:-} -modcacherw"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export CGO_ENABLED=0

# --- OpenTelemetry Collector (builder + distribution) -------------------------------------------
build_collector() {
  local key out builder_dir builder work
  key=$(collector_cache_key "$ROOT/collector-config/manifest.yaml")
  out="$CACHE/otelcol/$key"
  if [ -x "$out/otelcol-llmledger" ]; then
    log "collector: cached ($out)"
  else
    need go "install Go >= 1.24"
    builder_dir="$CACHE/tools/builder-$OCB_VERSION"
    builder="$builder_dir/builder"
    if [ ! -x "$builder" ]; then
      log "collector: installing builder $OCB_VERSION"
      GOBIN="$builder_dir" go install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION"
    fi
    work=$(mktemp -d "$CACHE/otelcol-build.XXXXXX")
    log "collector: building distribution (manifest key $key) in $work"
    local t0=$SECONDS
    (cd "$work" && "$builder" --config="$ROOT/collector-config/manifest.yaml")
    mkdir -p "$out"
    install -m 0755 "$work/_build/otelcol-llmledger" "$out/otelcol-llmledger.tmp"
    mv "$out/otelcol-llmledger.tmp" "$out/otelcol-llmledger"
    cp "$ROOT/collector-config/manifest.yaml" "$out/manifest.yaml"
    rm -rf "$work"
    log "collector: built in $((SECONDS - t0)) s"
  fi
  ln -sfn "$out/otelcol-llmledger" "$CACHE/bin/otelcol-llmledger"
}

# --- Jaeger v2 ------------------------------------------------------------------------------------
build_jaeger() {
  local out="$CACHE/jaeger/$JAEGER_VERSION"
  if [ -x "$out/jaeger" ]; then
    log "jaeger: cached ($out)"
  else
    need go "install Go >= 1.24"
    log "jaeger: building $JAEGER_VERSION ($JAEGER_MODULE@$JAEGER_MODULE_VERSION)"
    local t0=$SECONDS tmp src
    tmp=$(mktemp -d "$CACHE/jaeger-build.XXXXXX")
    src=$(cd "$tmp" && go mod download -json "$JAEGER_MODULE@$JAEGER_MODULE_VERSION" |
      python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["Error"]) if d.get("Error") else print(d["Dir"])')
    cp -r "$src" "$tmp/src"
    chmod -R u+w "$tmp/src"
    (cd "$tmp/src" && go build -trimpath -ldflags="-s -w" -o "$tmp/jaeger" ./cmd/jaeger)
    mkdir -p "$out"
    mv "$tmp/jaeger" "$out/jaeger"
    rm -rf "$tmp"
    log "jaeger: built in $((SECONDS - t0)) s"
  fi
  ln -sfn "$out/jaeger" "$CACHE/bin/jaeger"
}

# --- Prometheus + promtool (Debian package) -------------------------------------------------------
install_prometheus() {
  if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    log "prometheus: present ($(command -v prometheus))"
    return
  fi
  if [ "${LLMLEDGER_SKIP_APT:-0}" = 1 ]; then
    log "error: prometheus/promtool missing and LLMLEDGER_SKIP_APT=1"
    exit 1
  fi
  need apt-get "Debian/Ubuntu only; otherwise put prometheus and promtool on PATH"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "prometheus: apt-get install prometheus"
  # The package's postinst would start a system Prometheus listening on every interface (:9090).
  # The tests start their own on 127.0.0.1, so forbid service starts for the duration of the install.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 0755 "$policy"
    added_policy=1
  fi
  local rc=0 apt_log="$CACHE/apt-get.log"
  { $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus; } \
    >"$apt_log" 2>&1 || rc=$?
  [ "$added_policy" = 1 ] && $sudo rm -f "$policy"
  [ "$rc" -eq 0 ] || { tail -30 "$apt_log" >&2; log "error: apt-get failed ($rc), see $apt_log"; exit "$rc"; }
}

# --- @grafana/schema + TypeScript for the dashboard type-check -------------------------------------
install_dashboard_typecheck() {
  [ "${LLMLEDGER_SKIP_NPM:-0}" = 1 ] && { log "npm: skipped (LLMLEDGER_SKIP_NPM=1)"; return; }
  local dir="$ROOT/tests/dashboards" stamp want
  stamp="$dir/node_modules/.llmledger-installed"
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "npm: dashboard type-check packages present"
    return
  fi
  need npm "install Node.js >= 18"
  log "npm: npm ci in tests/dashboards"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
}

preflight
install_prometheus
install_dashboard_typecheck
build_collector
build_jaeger

log "done in $((SECONDS - t_start)) s; binaries in $CACHE/bin: $(ls "$CACHE/bin" | tr '\n' ' ')"
