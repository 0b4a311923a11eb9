# Pinned versions of the backends built or installed by scripts/backends/install.sh.
# Sourced by install.sh; tests/e2e/conftest.py reads JAEGER_VERSION and computes the same collector
# cache key (first 16 hex digits of the manifest's SHA-256), so keep the assignments simple.
OCB_VERSION=v0.159.0
# Jaeger v2 is released under twin tags (v1.76.0 = v2.13.0). The module has no /v2 path, so the
# v1 twin is the Go module version; its go.mod has a replace directive, which `go install pkg@ver`
# rejects: install.sh downloads the module and builds ./cmd/jaeger inside a copy of it.
JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_MODULE_VERSION=v1.76.0
JAEGER_VERSION=v2.13.0

collector_cache_key() {
  sha256sum "$1" | cut -c1-16
}
