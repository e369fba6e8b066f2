#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the wasm target if missing, starts the
# services the tests use (scripts/services.sh) on loopback, runs every test, stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi
export AVATAR_SERVICES_DIR="${AVATAR_SERVICES_DIR:-$(mktemp -d /tmp/avatar-test.XXXXXX)}"
trap 'scripts/services.sh down || true' EXIT
eval "$(scripts/services.sh up)"
log=$(mktemp)
set +e
cargo test --workspace --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
trap - EXIT
scripts/services.sh down >/dev/null 2>&1 || true
# One closing line for the whole run (cargo prints one per test binary, the last often a
# doc-test binary with no tests).
awk '/^test result:/ {p += $4; f += $6} END {printf "%d passed, %d failed\n", p, f}' "$log"
rm -f "$log"
exit "$status"
