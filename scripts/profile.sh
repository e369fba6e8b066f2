#!/usr/bin/env bash
# Where a read's CPU goes: runs the release `avatar` on loopback, uploads one avatar, then
# drives one URL with wrk (2 threads, 32 connections, bounded in time) while `perf` samples
# the server (`-e cpu-clock`, which works without hardware counters). Prints the server's CPU
# time per request (its task-clock over the requests answered) and the top functions by self
# time. Compare builds in one sitting: CPU per request drifts less than throughput does.
# Usage: scripts/profile.sh [proxy|redirect|nocache] [PATH] [SECONDS]
#   PATH defaults to /{hash}/medium (`{hash}` is replaced), SECONDS to 10.
# AVATAR_BIN=/path/to/avatar profiles another build; KEEP=DIR keeps perf.data there.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-proxy}"
REQ_PATH="${2:-/{hash\}/medium}"
SECONDS_PER_RUN="${3:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
. scripts/bench-server.sh
bench_tools wrk perf=linux-perf
bench_prepare
trap bench_cleanup EXIT
ENV=(AVATAR__DELIVERY=proxy)
case "$MODE" in
  proxy) ;;
  redirect) ENV=(AVATAR__DELIVERY=redirect) ;;
  nocache) ENV+=(AVATAR__CACHE__MAX_RECORDS=0 AVATAR__CACHE__MAX_IMAGE_MIB=0) ;;
  *) echo "unknown mode $MODE (proxy, redirect or nocache)" >&2; exit 2 ;;
esac
bench_start "${ENV[@]}"
bench_upload
TARGET="$URL${REQ_PATH//\{hash\}/$HASH}"
wrk -t2 -c32 -d2s "$TARGET" >/dev/null # warm-up
perf record -q -e cpu-clock -g -p "$SERVER" -o "$WORK/perf.data" -- sleep "$((SECONDS_PER_RUN + 1))" 2>/dev/null &
PERF=$!
perf stat -x, -e task-clock -p "$SERVER" -o "$WORK/stat" -- sleep "$((SECONDS_PER_RUN + 1))" &
STAT=$!
wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" "$TARGET" > "$WORK/wrk"
wait "$STAT" "$PERF"
REQUESTS=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$WORK/wrk")
CPU_MS=$(grep task-clock "$WORK/stat" | cut -d, -f1)
echo "== $MODE GET ${REQ_PATH}: $REQUESTS requests in ${SECONDS_PER_RUN} s, $(sed -n 's/^Requests\/sec: *//p' "$WORK/wrk") req/s"
echo "   server CPU: $(echo "scale=2; $CPU_MS * 1000 / $REQUESTS" | bc) us per request"
[ -z "${KEEP:-}" ] || { mkdir -p "$KEEP"; cp "$WORK/perf.data" "$KEEP/"; }
perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio 2>/dev/null \
  | grep -E "^ +[0-9.]+%" | sed -E "s/ +- +- *$//" | head -n "${TOP:-30}" || true
