#!/usr/bin/env bash
# Starts (or stops) the external services the test suite uses, on loopback ports it chooses:
# a throwaway PostgreSQL cluster. Prints `export VAR=value` lines for the tests:
#   eval "$(scripts/services.sh up)"     # start, and export their addresses
#   scripts/services.sh down             # stop them and remove their data
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
    as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
      start >&2 || { cat "$dir/server.log" >&2; exit 1; }
    echo "$port" | as_postgres tee "$dir/port" >/dev/null
    log "PostgreSQL started on 127.0.0.1:$port"
  fi
  echo "export AVATAR_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
  echo "export AVATAR_TEST_PGBIN=$PGBIN"
  echo "export AVATAR_TEST_PGDATA=$dir/data"
}

postgres_down() {
  local dir="$BASE/postgres"
  [ -d "$dir/data" ] || return 0
  as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  log "PostgreSQL stopped"
}

case "${1:-}" in
  up) mkdir -p "$BASE"; chmod 755 "$BASE"; postgres_up ;;
  down) postgres_down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
