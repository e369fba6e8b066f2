#!/usr/bin/env bash
# Load test against the real `avatar` binary on loopback, bounded in time:
#   GET /{hash}/medium in proxy and redirect delivery (wrk, 2 threads, 32 connections),
#   GET /avatar/{hash}?s=80 (a size rendered once, then cached) in proxy delivery,
#   the same with the in-memory caches off (every request reaches the catalog and the store),
#   and upload latency of a 1000x1000 JPEG (wrk, 1 connection).
# Usage: scripts/load.sh [SECONDS_PER_RUN] [embedded|postgres-garage]   (default 10, embedded)
# `postgres-garage` runs the same against a throwaway PostgreSQL and a single-node Garage
# (scripts/services.sh), started here unless AVATAR_TEST_POSTGRES_URL is already set.
# AVATAR_BIN=/path/to/avatar loads that binary instead of this checkout's release build.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-10}"
BACKEND="${2:-embedded}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

. scripts/bench-server.sh
bench_tools wrk
bench_prepare
STARTED_SERVICES=""
cleanup() {
  [ -z "$STARTED_SERVICES" ] || scripts/services.sh down >/dev/null 2>&1 || true
  bench_cleanup
}
trap cleanup EXIT
case "$BACKEND" in
  embedded) ;;
  postgres-garage)
    if [ -z "${AVATAR_TEST_POSTGRES_URL:-}" ]; then
      export AVATAR_SERVICES_DIR="$WORK/services"
      STARTED_SERVICES=1
      eval "$(scripts/services.sh up 2>/dev/null)"
    fi
    DB="avatar_load_$$"
    "$AVATAR_TEST_PGBIN/psql" -q "$AVATAR_TEST_POSTGRES_URL" -c "CREATE DATABASE $DB" >/dev/null
    export AVATAR__CATALOG="{\"type\": \"postgres\", \"url\": \"${AVATAR_TEST_POSTGRES_URL%/*}/$DB\", \"pool_size\": 16, \"migrate_on_start\": true}"
    export AVATAR__STORAGE="{\"type\": \"s3\", \"bucket\": \"$AVATAR_TEST_S3_BUCKET\", \"region\": \"$AVATAR_TEST_S3_REGION\", \"endpoint\": \"$AVATAR_TEST_S3_ENDPOINT\", \"path_style\": true, \"prefix\": \"load-$$/\", \"access_key_id\": \"$AVATAR_TEST_S3_ACCESS_KEY_ID\", \"secret_access_key\": \"$AVATAR_TEST_S3_SECRET_ACCESS_KEY\"}"
    ;;
  *) echo "unknown backend $BACKEND (embedded or postgres-garage)" >&2; exit 2 ;;
esac
start() { # $1 = delivery, $2 = "nocache" to turn the in-memory caches off
  local cache=()
  [ "${2:-}" != nocache ] || cache=(AVATAR__CACHE__MAX_RECORDS=0 AVATAR__CACHE__MAX_IMAGE_MIB=0)
  bench_start "${cache[@]}" AVATAR__DELIVERY="$1"
}
stop() { bench_stop; }


echo "== conditions: $BACKEND backends, $(nproc) cores, server, wrk (and any services) on the same machine, release build"
start proxy
bench_upload
echo "== GET /{hash}/medium, proxy delivery"
wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" --latency "$URL/$HASH/medium"
# The Gravatar URL at a size nobody stored: rendered once, then answered from the image
# cache; compare with /{hash}/medium above (a stored size). Builds without the endpoint skip.
if curl -sf -o /dev/null "$URL/avatar/$HASH?s=80"; then
  echo "== GET /avatar/{hash}?s=80 (rendered once, then cached), proxy delivery"
  wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" --latency "$URL/avatar/$HASH?s=80"
fi
echo "== PUT /{hash}, 1000x1000 JPEG to 4 sizes, one client"
wrk -t1 -c1 -d"${SECONDS_PER_RUN}s" --latency -s "$WORK/upload.lua" "$URL/$HASH"
stop
start redirect
echo "== GET /{hash}/medium, redirect delivery (302)"
wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" --latency "$URL/$HASH/medium"
stop
start proxy nocache
echo "== GET /{hash}/medium, proxy delivery, caches off (catalog and store on every request)"
wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" --latency "$URL/$HASH/medium"
stop
