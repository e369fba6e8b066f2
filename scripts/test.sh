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
cargo test --workspace --locked "$@"
