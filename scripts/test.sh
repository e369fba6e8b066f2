#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the wasm target if missing, starts the
# services the tests use (scripts/services.sh) on loopback, runs every test, stops them.
# The end-to-end API suite runs twice: in the workspace pass on the embedded backends
# (directory + SQLite), then again on PostgreSQL + Garage (AVATAR_E2E_BACKEND, see
# tests/src/server.rs). Both passes always run; the script fails if either does. Last, the
# Debian package is built and tested (scripts/package.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi
# The Gravatar client libraries (PyPI, npm) that tests/tests/gravatar_clients.rs drives.
scripts/clients.sh
# Chromium and Playwright, for the self-service page in tests/tests/ui_browser.rs.
scripts/browser.sh
# promtool (Debian's prometheus package) lints the metrics scrape in tests/tests/ops_metrics.rs.
if ! command -v promtool >/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus
fi
export AVATAR_SERVICES_DIR="${AVATAR_SERVICES_DIR:-$(mktemp -d /tmp/avatar-test.XXXXXX)}"
trap 'scripts/services.sh down || true' EXIT
# Assigned first, so that a service that fails to start stops the run here (an `eval` of a
# failed command substitution would carry on without the services' variables).
services_env=$(scripts/services.sh up)
eval "$services_env"
log=$(mktemp)
set +e
AVATAR_E2E_BACKEND=embedded cargo test --workspace --locked --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
echo "== the API suite again, on PostgreSQL + Garage" | tee -a "$log"
AVATAR_E2E_BACKEND=postgres-garage cargo test --locked --no-fail-fast -p avatar-tests \
  --test api_read --test api_write --test api_errors --test api_concurrency --test api_cli --test tenants \
  --test gravatar --test ops_soak \
  "$@" 2>&1 | tee -a "$log"
second=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$second
echo "== the Debian package: built from the dev binary above, installed, served, purged" | tee -a "$log"
scripts/package.sh --dev --fast 2>&1 | tee -a "$log"
package=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$package
set -e
trap - EXIT
scripts/services.sh down >/dev/null 2>&1 || true
# One closing line for the whole run, both passes (cargo prints one per test binary, the
# last often a doc-test binary with no tests).
awk '/^test result:/ {p += $4; f += $6} END {printf "%d passed, %d failed\n", p, f}' "$log"
rm -f "$log"
exit "$status"
