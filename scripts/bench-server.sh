# Shared by scripts/bench.sh, load.sh, profile.sh and allocs.sh, which source it (it is not
# run alone): the load tools installed, the release `avatar` and the 1000x1000 test JPEG
# built, a scratch directory holding the repository's config.json pointed into it, and the
# server started and stopped on loopback.
# AVATAR_BIN=/path/to/avatar runs another build (say, a previous release) instead.

# `bench_tools wrk perf=linux-perf`: installs each missing command from Debian (`name=package`
# where the package is named otherwise).
bench_tools() {
  local missing=() tool
  for tool in "$@"; do
    command -v "${tool%%=*}" >/dev/null || missing+=("${tool#*=}")
  done
  [ "${#missing[@]}" -eq 0 ] && return
  echo "installing ${missing[*]} (Debian packages)"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Builds, and sets BIN, WORK (removed by `bench_cleanup`), HASH and TOKEN; writes
# $WORK/upload.lua.
bench_prepare() {
  cargo build -q --release --bin avatar
  cargo build -q --release -p avatar-tests --example make_image
  BIN="${AVATAR_BIN:-$CARGO_TARGET_DIR/release/avatar}"
  WORK=$(mktemp -d)
  chmod 755 "$WORK" # a PostgreSQL cluster below it runs as the `postgres` user
  "$CARGO_TARGET_DIR/release/examples/make_image" "$WORK/upload.jpg" 1000 >/dev/null
  cp -r assets "$WORK/"
  # Load runs write from one address as fast as they are answered: no rate limits.
  sed -e 's|"data/|"'"$WORK"'/data/|g' \
    -e '1a\  "rate_limits": {"writes": {"per_client": null, "per_tenant": null}, "renders": {"per_client": null, "per_tenant": null}},' \
    config.json > "$WORK/config.json"
  HASH=$(printf 'load@example.com' | sha1sum | cut -d' ' -f1)
  TOKEN=$("$BIN" token --config "$WORK/config.json" --hash "$HASH" --ttl 3600 2>/dev/null)
  # wrk's script for uploading the test JPEG for HASH: `wrk -s "$WORK/upload.lua" "$URL/$HASH"`.
  cat > "$WORK/upload.lua" <<LUA
local f = io.open("$WORK/upload.jpg", "rb"); local body = f:read("*a"); f:close()
wrk.method = "PUT"; wrk.body = body
wrk.headers["Content-Type"] = "image/jpeg"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
}

# `bench_start [VAR=VALUE ...]`: starts the server with that environment added; sets SERVER
# (its pid) and URL once it listens.
bench_start() {
  env "$@" RUST_LOG=warn "$BIN" serve --config "$WORK/config.json" --listen 127.0.0.1:0 \
    > "$WORK/out" 2> "$WORK/err" &
  SERVER=$!
  URL=""
  for _ in $(seq 1 600); do
    URL=$(sed -n 's/^avatar listening on //p' "$WORK/out"); [ -n "$URL" ] && break; sleep 0.1
  done
  [ -n "$URL" ] || { cat "$WORK/err"; exit 1; }
}

bench_stop() {
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  SERVER=""
}

# Uploads the test JPEG for HASH.
bench_upload() {
  curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: image/jpeg' \
    --data-binary @"$WORK/upload.jpg" "$URL/$HASH"
}

bench_cleanup() {
  [ -z "${SERVER:-}" ] || kill "$SERVER" 2>/dev/null || true
  rm -rf "${WORK:-/nonexistent}"
}
