#!/usr/bin/env bash
# Heap calls per read: runs the release `avatar` on loopback, uploads one avatar, then counts
# the server's calls into glibc's malloc, realloc, calloc and free (uprobes, `perf probe`)
# while wrk drives one URL from one connection, bounded in time, and prints each per request.
# Counts, unlike timings, do not drift with the machine's load, so two builds compare in any
# sitting; realloc matters most, as glibc takes its arena lock on every call.
# Usage: scripts/allocs.sh [proxy|redirect] [PATH] [SECONDS]
#   PATH defaults to /{hash}/medium (`{hash}` is replaced), SECONDS to 2.
# AVATAR_BIN=/path/to/avatar counts another build. Needs root (uprobes); leaves no probe.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-proxy}"
REQ_PATH="${2:-/{hash\}/medium}"
SECONDS_PER_RUN="${3:-2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
case "$MODE" in
  proxy | redirect) ;;
  *) echo "unknown mode $MODE (proxy or redirect)" >&2; exit 2 ;;
esac
LIBC=$(ldconfig -p | awk '$1 == "libc.so.6" && /x86-64|x86_64/ {print $NF; exit}')
[ -n "$LIBC" ] || { echo "no 64-bit libc.so.6 in ldconfig's cache" >&2; exit 1; }
. scripts/bench-server.sh
bench_tools wrk perf=linux-perf
bench_prepare
FUNCS=(malloc realloc calloc free)
cleanup() {
  for f in "${FUNCS[@]}"; do perf probe -q -d "probe_libc:$f" 2>/dev/null || true; done
  bench_cleanup
}
trap cleanup EXIT
for f in "${FUNCS[@]}"; do
  perf probe -q -d "probe_libc:$f" 2>/dev/null || true
  perf probe -q -x "$LIBC" "$f"
done
bench_start AVATAR__DELIVERY="$MODE"
bench_upload
TARGET="$URL${REQ_PATH//\{hash\}/$HASH}"
wrk -t1 -c1 -d1s "$TARGET" >/dev/null # warm-up: caches filled, connection pool grown
EVENTS=$(printf 'probe_libc:%s,' "${FUNCS[@]}")
perf stat -x, -e "${EVENTS%,}" -p "$SERVER" -o "$WORK/stat" -- sleep "$((SECONDS_PER_RUN + 1))" &
STAT=$!
sleep 0.2
wrk -t1 -c1 -d"${SECONDS_PER_RUN}s" "$TARGET" > "$WORK/wrk"
wait "$STAT"
REQUESTS=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$WORK/wrk")
echo "== $MODE GET ${REQ_PATH}: $REQUESTS requests, heap calls per request"
awk -F, -v n="$REQUESTS" '$3 ~ /probe_libc:/ { sub(/.*:/, "", $3); printf "   %-8s %7.2f\n", $3, $1 / n }' "$WORK/stat"
