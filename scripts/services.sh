#!/usr/bin/env bash
# Starts (or stops) the external services the test suite uses, on loopback ports it chooses:
# a throwaway PostgreSQL cluster and a single-node Garage (S3) with a bucket and a key.
# Prints `export VAR=value` lines for the tests:
#   eval "$(scripts/services.sh up)"     # start, and export their addresses
#   scripts/services.sh down             # stop them and remove their data
#   scripts/services.sh up postgres      # just one of them
# State lives in $AVATAR_SERVICES_DIR (default /tmp/avatar-services).
set -euo pipefail
BASE="${AVATAR_SERVICES_DIR:-/tmp/avatar-services}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"

log() { echo "services: $*" >&2; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

install_postgres() {
  [ -x "$PGBIN/initdb" ] && return
  log "installing PostgreSQL (Debian package)"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
}

postgres_up() {
  install_postgres
  local dir="$BASE/postgres"
  if [ -f "$dir/port" ] && as_postgres "$PGBIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    log "PostgreSQL already running on port $(cat "$dir/port")"
  else
    rm -rf "$dir"; mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_postgres "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    local port; port=$(free_port)
    echo "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
      | as_postgres tee "$dir/options" >/dev/null
    as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "$(cat "$dir/options")" start >&2 || { cat "$dir/server.log" >&2; exit 1; }
    echo "$port" | as_postgres tee "$dir/port" >/dev/null
    log "PostgreSQL started on 127.0.0.1:$port"
  fi
  echo "export AVATAR_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
  echo "export AVATAR_TEST_PGBIN=$PGBIN"
  echo "export AVATAR_TEST_PGDATA=$dir/data"
  echo "export AVATAR_TEST_PGLOG=$dir/server.log"
  echo "export AVATAR_TEST_PGOPTS='$(cat "$dir/options")'"
}

postgres_down() {
  local dir="$BASE/postgres"
  [ -d "$dir/data" ] || return 0
  as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  log "PostgreSQL stopped"
}

GARAGE_VERSION=2.5.0

install_garage() {
  command -v garage >/dev/null && return
  log "installing garage $GARAGE_VERSION from crates.io (about 10 minutes, once)"
  cargo install "garage@$GARAGE_VERSION" --locked --no-default-features \
    --features bundled-libs,sqlite >&2
}

garage_up() {
  install_garage
  local dir="$BASE/garage" conf="$BASE/garage/garage.toml"
  local key_id=GK0123456789abcdef01234567
  local secret=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    log "Garage already running"
  else
    rm -rf "$dir"; mkdir -p "$dir"
    local rpc s3 admin
    rpc=$(free_port); s3=$(free_port); admin=$(free_port)
    cat > "$conf" <<TOML
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin"
TOML
    echo "$s3" > "$dir/s3_port"
    nohup garage -c "$conf" server > "$dir/server.log" 2>&1 &
    echo $! > "$dir/pid"
    local node=""
    for _ in $(seq 1 100); do
      node=$(garage -c "$conf" node id -q 2>/dev/null | cut -d@ -f1) && [ -n "$node" ] && break
      sleep 0.2
    done
    [ -n "$node" ] || { cat "$dir/server.log" >&2; exit 1; }
    # `node id` answers from the local key before the node's RPC listens; `layout assign`
    # needs the RPC, so it is retried until that is up.
    local assigned=""
    for _ in $(seq 1 100); do
      garage -c "$conf" layout assign -z dc1 -c 1G "$node" >/dev/null 2>&1 && { assigned=1; break; }
      sleep 0.2
    done
    [ -n "$assigned" ] || { garage -c "$conf" layout assign -z dc1 -c 1G "$node" >&2; cat "$dir/server.log" >&2; exit 1; }
    garage -c "$conf" layout apply --version 1 >&2
    # The layout takes a moment to settle before buckets can be created.
    for _ in $(seq 1 50); do garage -c "$conf" bucket create avatar-test >/dev/null 2>&1 && break; sleep 0.2; done
    garage -c "$conf" key import --yes -n avatar-test "$key_id" "$secret" >&2
    garage -c "$conf" bucket allow --read --write --owner avatar-test --key avatar-test >&2
    log "Garage started: S3 on 127.0.0.1:$s3, bucket avatar-test"
  fi
  echo "export AVATAR_TEST_S3_ENDPOINT=http://127.0.0.1:$(cat "$dir/s3_port")"
  echo "export AVATAR_TEST_S3_BUCKET=avatar-test"
  echo "export AVATAR_TEST_S3_REGION=garage"
  echo "export AVATAR_TEST_S3_ACCESS_KEY_ID=$key_id"
  echo "export AVATAR_TEST_S3_SECRET_ACCESS_KEY=$secret"
  echo "export AVATAR_TEST_GARAGE_CONFIG=$conf"
}

garage_down() {
  local dir="$BASE/garage"
  [ -f "$dir/pid" ] || return 0
  kill "$(cat "$dir/pid")" 2>/dev/null || true
  sleep 0.5
  rm -rf "$dir"
  log "Garage stopped"
}

# `up` and `down` take the services to act on; default: all.
action="${1:-}"; shift || true
wanted="${*:-postgres garage}"
case "$action" in
  up)
    mkdir -p "$BASE"; chmod 755 "$BASE"
    for service in $wanted; do "${service}_up"; done ;;
  down)
    for service in $wanted; do "${service}_down"; done ;;
  *) echo "usage: $0 up|down [postgres] [garage]" >&2; exit 2 ;;
esac
