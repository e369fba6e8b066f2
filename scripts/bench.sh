#!/usr/bin/env bash
# Every performance goal of the service, each against its reference, from one run:
#   reads      GET /{hash}/medium and GET /avatar/{hash}?s=80, proxy and redirect delivery,
#              against a bare hyper server replaying the same recorded response
#              (host/examples/ceiling.rs); wrk, 2 threads, 32 connections, alternating runs;
#   uploads    p50 of PUT /{hash} with a 1000x1000 JPEG (one client) against libvips
#              in-process making the same stored sizes from the same file
#              (scripts/libvips_upload.py; pyvips from PyPI over Debian's libvips42);
#   wasm       the transform plugin against the same Rust code built natively, JPEG and PNG
#              sources, and one auth call (the plugins bench, interleaved pairs);
#   renders    an 80 px variant from the stored 128 px one, and the first AVIF/WebP encodes;
#   memory     resident size right after start-up, and after 200 uploads and reads.
# Everything runs on loopback on the embedded backends, bounded in time (about 6 minutes on
# 2 cores, plus the first release build). Usage: scripts/bench.sh [SECONDS_PER_RUN] (default 5)
# AVATAR_BIN=/path/to/avatar measures another build of the service (the Wasm figures always
# come from this checkout's bench). BENCH_PLUGINS=0 leaves out the plugins bench (3 to 4
# minutes), say for a run against AVATAR_BIN beside one of this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

# Tools: wrk, libvips and pyvips (in a virtual environment beside the build cache).
if ! command -v wrk >/dev/null || ! ldconfig -p | grep -q 'libvips.so.42 '; then
  echo "installing wrk and libvips42 (Debian packages)"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk libvips42 >/dev/null
fi
VENV="${AVATAR_BENCH_VENV:-$CARGO_TARGET_DIR/bench-venv}"
if ! "$VENV/bin/python" -c 'import pyvips' 2>/dev/null; then
  echo "installing pyvips (PyPI) into $VENV"
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q 'pyvips==3.*'
fi

. scripts/bench-server.sh
bench_prepare
cargo build -q --release -p avatar-host --example ceiling
CEILING_BIN="$CARGO_TARGET_DIR/release/examples/ceiling"
CEILING=""
cleanup() {
  [ -z "$CEILING" ] || kill "$CEILING" 2>/dev/null || true
  bench_cleanup
}
trap cleanup EXIT
RESULTS="$WORK/results"
: > "$RESULTS"
result() { printf '%s\t%s\t%s\t%s\n' "$@" >> "$RESULTS"; } # goal, measured, target, met?
met() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { ok = op == ">=" ? a >= b : a <= b; print ok ? "yes" : "NO" }'; }

# wrk's requests per second, and its p50 in milliseconds, from its output in $1.
rps() { sed -n 's/^Requests\/sec: *//p' "$1"; }
p50_ms() {
  awk '$1 == "50%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
    print (u == "us" ? v / 1000 : u == "s" ? v * 1000 : v) }' "$1"
}

start_ceiling() { # $1 = recorded headers, $2 = recorded body; sets CEILING and CEILING_URL
  "$CEILING_BIN" "$1" "$2" > "$WORK/ceiling.out" &
  CEILING=$!
  CEILING_URL=""
  for _ in $(seq 1 100); do
    CEILING_URL=$(sed -n 's/^ceiling listening on //p' "$WORK/ceiling.out"); [ -n "$CEILING_URL" ] && break; sleep 0.05
  done
  [ -n "$CEILING_URL" ] || { echo "the ceiling server did not start" >&2; exit 1; }
}
stop_ceiling() { kill "$CEILING"; wait "$CEILING" 2>/dev/null || true; CEILING=""; }

echo "== conditions: $(nproc) cores, $(date -u '+%F %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes'), release build, embedded backends, everything on loopback on the same cores"

# --- reads ---------------------------------------------------------------------------------
read_case() { # $1 = path, $2 = label
  local path="$1" n
  curl -sf -D "$WORK/rec.headers" -o "$WORK/rec.body" "$URL$path"
  start_ceiling "$WORK/rec.headers" "$WORK/rec.body"
  wrk -t2 -c32 -d1s "$URL$path" > /dev/null; wrk -t2 -c32 -d1s "$CEILING_URL$path" > /dev/null # warm-up
  local ours=() ceiling=()
  for n in 1 2; do # alternating, so a drift in the machine's speed hits both alike
    wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" "$CEILING_URL$path" > "$WORK/wrk"; ceiling+=("$(rps "$WORK/wrk")")
    wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" --latency "$URL$path" > "$WORK/wrk"; ours+=("$(rps "$WORK/wrk")")
  done
  stop_ceiling
  local ratio
  ratio=$(awk -v a="${ours[0]}" -v b="${ours[1]}" -v c="${ceiling[0]}" -v d="${ceiling[1]}" 'BEGIN { printf "%.2f", (a + b) / (c + d) }')
  echo "   $2: ${ours[*]} req/s; ceiling ${ceiling[*]} req/s; $(head -1 "$WORK/rec.headers" | tr -d '\r'), $(stat -c %s "$WORK/rec.body") bytes"
  result "reads: $2" "$ratio of the ceiling" ">= 0.60" "$(met "$ratio" '>=' 0.60)"
}
echo "== reads (wrk -t2 -c32, ${SECONDS_PER_RUN} s per run, ceiling and service alternating)"
for delivery in proxy redirect; do
  bench_start AVATAR__DELIVERY="$delivery"
  bench_upload
  curl -sf -o /dev/null "$URL/avatar/$HASH?s=80" # renders the 80 px variant once
  read_case "/$HASH/medium" "GET /{hash}/medium, $delivery"
  read_case "/avatar/$HASH?s=80" "GET /avatar/{hash}?s=80, $delivery"
  bench_stop
done

# --- uploads -------------------------------------------------------------------------------
echo "== uploads (1000x1000 JPEG, one client; libvips before and after the service)"
# The sizes the service stores for this upload: the default tenant's that fit in 1000 px.
SIZES=$(python3 -c 'import json, sys; print(*sorted((s for s in json.load(open(sys.argv[1]))["tenants"][0]["sizes"].values() if s <= 1000), reverse=True))' config.json)
QUALITY=$(sed -n 's/^pub const QUALITY: u8 = \([0-9]*\);/\1/p' host/src/config/defaults.rs)
libvips() { "$VENV/bin/python" scripts/libvips_upload.py "$WORK/upload.jpg" "$QUALITY" $SIZES; }
VIPS_1=$(libvips)
bench_start AVATAR__DELIVERY=proxy
bench_upload
wrk -t1 -c1 -d"$((SECONDS_PER_RUN * 2))s" --latency -s "$WORK/upload.lua" "$URL/$HASH" > "$WORK/wrk"
bench_stop
VIPS_2=$(libvips)
OURS_UPLOAD=$(p50_ms "$WORK/wrk")
VIPS_P50=$(python3 -c 'import json, sys; print("%.2f" % ((json.loads(sys.argv[1])["p50_ms"] + json.loads(sys.argv[2])["p50_ms"]) / 2))' "$VIPS_1" "$VIPS_2")
echo "   service: p50 $OURS_UPLOAD ms, $(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$WORK/wrk") uploads; sizes $SIZES, quality $QUALITY"
echo "   libvips: $VIPS_1"
echo "   libvips: $VIPS_2"
RATIO=$(awk -v a="$OURS_UPLOAD" -v b="$VIPS_P50" 'BEGIN { printf "%.2f", a / b }')
result "uploads: p50 against libvips" "$RATIO ($OURS_UPLOAD ms / $VIPS_P50 ms)" "<= 0.40" "$(met "$RATIO" '<=' 0.40)"

# --- memory --------------------------------------------------------------------------------
echo "== memory (default caches: $(sed -n 's/^pub const CACHE_MAX_IMAGE_MIB: u64 = \([0-9]*\);/\1/p' host/src/config/defaults.rs) MiB of images, $(sed -n 's/^pub const CACHE_MAX_RECORDS: usize = \([0-9_]*\);/\1/p' host/src/config/defaults.rs) records)"
# A restart: the plugins' compiled artifacts are on disk from the runs above, the in-memory
# caches are empty. The admin token opens /_status on the public listener.
bench_start AVATAR__DELIVERY=proxy AVATAR__ADMIN__LISTEN=null AVATAR__ADMIN__TOKEN=bench-admin-token
sleep 1
kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SERVER/$2"; }
START_RSS=$(kib VmRSS status)
echo "   after start-up: VmRSS $((START_RSS / 1024)) MiB (anonymous $(($(kib RssAnon status) / 1024)), file-backed $(($(kib RssFile status) / 1024)), shared memory $(($(kib RssShmem status) / 1024)))"
for i in $(seq 1 200); do
  h=$(printf 'memory-%d@example.com' "$i" | sha1sum | cut -d' ' -f1)
  t=$("$BIN" token --config "$WORK/config.json" --hash "$h" --ttl 600 2>/dev/null)
  curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $t" -H 'Content-Type: image/jpeg' \
    --data-binary @"$WORK/upload.jpg" "$URL/$h"
  curl -sf -o /dev/null "$URL/$h/medium"
  curl -sf -o /dev/null "$URL/avatar/$h?s=80"
  curl -sf -o /dev/null -H 'Accept: image/webp' "$URL/avatar/$h?s=64"
done
CACHED=$(curl -sf -H 'Authorization: Bearer bench-admin-token' "$URL/_status" | python3 -c 'import json, sys; c = json.load(sys.stdin)["cache"]; print("%d images in %.1f MiB, %d records" % (c["images"], c["image_bytes"] / 1048576, c["records"]))')
LOAD_RSS=$(kib VmRSS status); PEAK_RSS=$(kib VmHWM status)
bench_stop
echo "   after 200 uploads and 600 reads: VmRSS $((LOAD_RSS / 1024)) MiB, peak $((PEAK_RSS / 1024)) MiB; the caches hold ${CACHED:-(not reported)}"
START_MIB=$(awk -v k="$START_RSS" 'BEGIN { printf "%.1f", k / 1024 }')
result "memory: resident after start-up" "$START_MIB MiB" "<= 40 MiB" "$(met "$START_MIB" '<=' 40)"

# --- plugins: wasm against native, auth, renders and encodes -------------------------------
if [ "${BENCH_PLUGINS:-1}" != 0 ]; then
  echo "== plugins (cargo bench -p avatar-host --bench plugins; interleaved pairs)"
  cargo bench -q -p avatar-host --bench plugins -- '^(auth|transform|render|encode)/' > "$WORK/plugins" 2>&1 \
    || { cat "$WORK/plugins"; exit 1; }
  grep -E 'interleaved pairs|pairs: wasm p50|pooling' "$WORK/plugins" | sed 's/^/   /'
  for source in jpeg png; do
    r=$(sed -n "s/^transform\/1024-$source-to-4-sizes: wasm\/native, .*median \([0-9.]*\).*/\1/p" "$WORK/plugins")
    result "wasm: transform of a 1024 $source, over native" "${r}x" "<= 1.5x" "$(met "$r" '<=' 1.5)"
  done
  AUTH_US=$(python3 -c 'import json, sys; print("%.1f" % (json.load(open(sys.argv[1]))["median"]["point_estimate"] / 1000))' \
    "$CARGO_TARGET_DIR/criterion/auth/authenticate/new/estimates.json")
  result "wasm: one auth-jwt call" "$AUTH_US us" "<= 20 us" "$(met "$AUTH_US" '<=' 20)"
  for source in jpeg png; do
    r=$(sed -n "s/^render\/80-from-128-$source: .*wasm p50 \([0-9.]*\) ms.*/\1/p" "$WORK/plugins")
    result "renders: 80 px from 128 px $source, p50" "$r ms" "< 2 ms" "$(met "$r" '<=' 1.999)"
  done
  for format in avif webp; do
    r=$(sed -n "s/^encode\/$format-512: .*wasm p50 \([0-9.]*\) ms p90 \([0-9.]*\) ms.*/p50 \1 ms, p90 \2 ms/p" "$WORK/plugins")
    result "renders: first $format encode at 512 px" "$r" "bounded, reported" "-"
  done
fi

echo
echo "== goals"
{ printf 'goal\tmeasured\ttarget\tmet\n'; cat "$RESULTS"; } | column -t -s $'\t'
