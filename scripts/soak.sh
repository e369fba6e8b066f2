#!/usr/bin/env bash
# The soak (tests/examples/soak.rs), bounded in time: mixed reads, conditional reads,
# uploads, replaces, deletes, unknown hashes, bad tokens and bad images across two tenants,
# against the release `avatar` binary on loopback, once on the embedded backends (directory
# + SQLite) and once on PostgreSQL + Garage (scripts/services.sh, started here and stopped
# after). Prints both summaries; fails if either run saw an unexpected answer or resident
# memory after the warm-up grew by 10 % or more.
# Usage: scripts/soak.sh [SECONDS]   (per backend; default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-60}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

cargo build -q --release --bin avatar
cargo build -q --release -p avatar-tests --example soak
soak() { # $1 = AVATAR_E2E_BACKEND
  AVATAR_E2E_BACKEND="$1" cargo run -q --release -p avatar-tests --example soak -- "$SECONDS_PER_RUN"
}

echo "== conditions: $(nproc) cores, server, 4 client threads (and the services) on the same machine, release build"
echo "== soak, ${SECONDS_PER_RUN} s: the embedded backends"
set +e
soak embedded
status=$?
set -e
echo "== soak, ${SECONDS_PER_RUN} s: PostgreSQL + Garage"
export AVATAR_SERVICES_DIR="${AVATAR_SERVICES_DIR:-$(mktemp -d /tmp/avatar-soak.XXXXXX)}"
trap 'scripts/services.sh down >/dev/null 2>&1 || true' EXIT
# Garage sometimes refuses its first layout command while its RPC port is still opening:
# a failed start is retried once from scratch, and a second failure stops the script (an
# `eval "$(…)"` alone would go on without the services).
if ! services=$(scripts/services.sh up); then
  echo "== the services did not start; once more"
  scripts/services.sh down >/dev/null 2>&1 || true
  services=$(scripts/services.sh up)
fi
eval "$services"
set +e
soak postgres-garage
second=$?
set -e
[ "$status" -ne 0 ] || status=$second
exit "$status"
