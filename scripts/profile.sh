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
for tool in wrk perf; do
  command -v $tool >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk linux-perf >/dev/null; }
done
cargo build -q --release --bin avatar
cargo build -q --release -p avatar-tests --example make_image
BIN="${AVATAR_BIN:-$CARGO_TARGET_DIR/release/avatar}"
WORK=$(mktemp -d)
trap 'kill "${SERVER:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$CARGO_TARGET_DIR/release/examples/make_image" "$WORK/upload.jpg" 1000 >/dev/null
cp -r assets "$WORK/"
sed -e 's|"data/|"'"$WORK"'/data/|g' config.json > "$WORK/config.json"
ENV=(AVATAR__DELIVERY=proxy RUST_LOG=warn)
case "$MODE" in
  proxy) ;;
  redirect) ENV=(AVATAR__DELIVERY=redirect RUST_LOG=warn) ;;
  nocache) ENV+=(AVATAR__CACHE__MAX_RECORDS=0 AVATAR__CACHE__MAX_IMAGE_MIB=0) ;;
  *) echo "unknown mode $MODE (proxy, redirect or nocache)" >&2; exit 2 ;;
esac
env "${ENV[@]}" "$BIN" serve --config "$WORK/config.json" --listen 127.0.0.1:0 > "$WORK/out" 2> "$WORK/err" &
SERVER=$!
for _ in $(seq 1 600); do
  URL=$(sed -n 's/^avatar listening on //p' "$WORK/out"); [ -n "$URL" ] && break; sleep 0.1
done
[ -n "$URL" ] || { cat "$WORK/err"; exit 1; }
HASH=$(printf 'load@example.com' | sha1sum | cut -d' ' -f1)
TOKEN=$("$BIN" token --config "$WORK/config.json" --hash "$HASH" --ttl 3600 2>/dev/null)
curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: image/jpeg' \
  --data-binary @"$WORK/upload.jpg" "$URL/$HASH"
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
