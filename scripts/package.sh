#!/usr/bin/env bash
# Builds the Debian package `avatar` with cargo-deb, then tests it on this machine: installs it,
# checks the files and the systemd unit, runs the service the way the unit does (an unprivileged
# user, the unit's environment), uploads an avatar and reads it back, stops the server with
# SIGTERM, and finally purges the package and removes everything the test made.
#
# Usage: scripts/package.sh [--no-build] [--no-test] [--fast]
#   Run as root on Debian, from anywhere in the repository; the .deb (and its -dbgsym .ddeb) are
#   left in $CARGO_TARGET_DIR/debian/ (default target dir: ./target).
#   --no-build   package the release binary already in the target dir (no `cargo build`)
#   --no-test    build the package only (no root needed)
#   --fast       lighter compression of the .deb (`cargo deb --fast`): quicker, larger
#   --dev        package the dev-profile binary the test suite already built, stripped
#                (what CI tests: the same package, without a second, release build)
#   Environment: CARGO_TARGET_DIR; AVATAR_PKG_START_TIMEOUT (seconds the server may take to
#   listen, default 300: the first start compiles every plugin).
# The test refuses to run where the package is installed, or /etc/avatar or /var/lib/avatar
# exist, since it removes them afterwards.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
START_TIMEOUT="${AVATAR_PKG_START_TIMEOUT:-300}"

BUILD=1
TEST=1
PROFILE=release
DEB_FLAGS=()
for arg in "$@"; do
    case "$arg" in
        --no-build) BUILD=0 ;;
        --no-test) TEST=0 ;;
        --fast) DEB_FLAGS+=(--fast) ;;
        --dev) PROFILE=dev ;;
        -h | --help)
            sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
            exit 0
            ;;
        *)
            echo "unknown argument: $arg (see --help)" >&2
            exit 2
            ;;
    esac
done

STARTED=$SECONDS
step() { printf '\n== %s (%ds)\n' "$*" "$((SECONDS - STARTED))"; }
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

UNIT=/usr/lib/systemd/system/avatar.service
CONFIG=/etc/avatar/config.json
STATE=/var/lib/avatar

apt_updated=0
apt_install() {
    if [ "$apt_updated" = 0 ]; then
        timeout 600 apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends "$@"
}

if [ "$TEST" = 1 ]; then
    [ "$(id -u)" = 0 ] || fail "the test installs the package: run as root (or pass --no-test)"
    if dpkg-query -W -f '${Status}' avatar 2>/dev/null | grep -q 'install ok'; then
        fail "the avatar package is already installed here; the test would purge it"
    fi
    for path in /etc/avatar "$STATE" /var/lib/private/avatar; do
        [ ! -e "$path" ] || fail "$path exists; the test would remove it"
    done
fi

# --- Build -------------------------------------------------------------------------------------

step "tools"
# cargo-deb needs dpkg-shlibdeps (dpkg-dev) for the package's Depends, and objcopy/strip
# (binutils) to split the debug symbols into the -dbgsym package.
missing=()
command -v dpkg-shlibdeps >/dev/null || missing+=(dpkg-dev)
{ command -v objcopy && command -v strip; } >/dev/null || missing+=(binutils)
if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || fail "missing ${missing[*]}: apt-get install them"
    apt_install "${missing[@]}"
fi
if ! cargo deb --version >/dev/null 2>&1; then
    # Built in a temporary directory of its own, not in the project's target dir.
    env -u CARGO_TARGET_DIR timeout 1800 nice cargo install cargo-deb --locked
fi
cargo deb --version

if [ "$PROFILE" = dev ]; then
    BINARY="$CARGO_TARGET_DIR/debug/avatar"
    DEB_FLAGS+=(--profile dev --strip --no-separate-debug-symbols)
else
    BINARY="$CARGO_TARGET_DIR/release/avatar"
fi
if [ "$BUILD" = 1 ]; then
    step "cargo build --profile $PROFILE --bin avatar (target dir $CARGO_TARGET_DIR)"
    timeout 5400 nice cargo build --profile "$PROFILE" --bin avatar
fi
[ -x "$BINARY" ] || fail "no $PROFILE binary at $BINARY"

step "cargo deb"
deb_log=$(mktemp)
timeout 1800 nice cargo deb -p avatar-host --no-build "${DEB_FLAGS[@]}" | tee "$deb_log"
DEB=$(grep -E '^/.*\.deb$' "$deb_log" | tail -n 1) || true
rm -f "$deb_log"
[ -f "${DEB:-}" ] || fail "cargo deb printed no .deb path"
echo "package: $DEB ($(du -h "$DEB" | cut -f1))"
for ddeb in "${DEB%/*}"/avatar-dbgsym_*.ddeb; do
    [ -f "$ddeb" ] && echo "debug symbols: $ddeb ($(du -h "$ddeb" | cut -f1))"
done

dpkg-deb --info "$DEB"
contents=$(dpkg-deb --contents "$DEB")
for path in ./usr/bin/avatar ./etc/avatar/config.json ./usr/share/avatar/default-avatar.png \
    ./usr/lib/systemd/system/avatar.service; do
    grep -q " $path\$" <<<"$contents" || fail "$path is not in the package"
done
control=$(mktemp -d)
dpkg-deb --control "$DEB" "$control"
grep -qx /etc/avatar/config.json "$control/conffiles" || fail "/etc/avatar/config.json is no conffile"
rm -rf "$control"

if [ "$TEST" = 0 ]; then
    step "built (no test)"
    exit 0
fi

# --- Test --------------------------------------------------------------------------------------

WORK=$(mktemp -d)
TEST_USER="avatar-pkgtest$$"
SERVER_PID=
INSTALLED=0
USER_MADE=0
cleanup() {
    local status=$?
    set +e
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null
    fi
    if [ "$INSTALLED" = 1 ]; then
        echo "cleanup: dpkg --purge avatar"
        dpkg --purge avatar >/dev/null
    fi
    rm -rf "$STATE" "$WORK"
    if [ "$USER_MADE" = 1 ]; then
        userdel "$TEST_USER" 2>/dev/null
        getent group "$TEST_USER" >/dev/null && groupdel "$TEST_USER"
    fi
    [ "$status" = 0 ] || echo "package.sh FAILED after $((SECONDS - STARTED))s" >&2
    exit "$status"
}
trap cleanup EXIT

step "dpkg -i"
INSTALLED=1
DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB"

step "installed files"
[ -x /usr/bin/avatar ] || fail "/usr/bin/avatar is missing"
echo "$(/usr/bin/avatar --version): $(du -h /usr/bin/avatar | cut -f1) (stripped; symbols in the .ddeb)"
cmp assets/default-avatar.png /usr/share/avatar/default-avatar.png
cmp packaging/debian/config.json "$CONFIG"
[ -f "$UNIT" ] || fail "$UNIT is missing"
SECRET_FILE=/etc/avatar/jwt-secret
[ "$(stat -c '%a %U:%G' "$SECRET_FILE")" = "640 root:root" ] ||
    fail "$SECRET_FILE is $(stat -c '%a %U:%G' "$SECRET_FILE"), not 640 root:root"
grep -Eq '^AVATAR__TENANTS__0__AUTH__CONFIG__SECRET=[A-Za-z0-9+/=]{64}$' "$SECRET_FILE" ||
    fail "$SECRET_FILE holds no 64-character secret"
if grep -q development "$CONFIG"; then fail "$CONFIG ships a development secret"; fi
grep -qx 'DynamicUser=yes' "$UNIT" || fail "the unit has no DynamicUser=yes"
if grep -q '^MemoryDenyWriteExecute=yes' "$UNIT"; then
    fail "MemoryDenyWriteExecute=yes breaks wasmtime's JIT"
fi
# A second configure (as on an upgrade) keeps the secret.
secret_before=$(sha256sum "$SECRET_FILE")
DPKG_MAINTSCRIPT_PACKAGE=avatar DPKG_MAINTSCRIPT_NAME=postinst \
    /var/lib/dpkg/info/avatar.postinst configure "$(dpkg-query -W -f '${Version}' avatar)"
[ "$(sha256sum "$SECRET_FILE")" = "$secret_before" ] || fail "configuring again replaced the secret"
echo "files, conffile, unit and secret (0640 root:root) are in place"

step "systemd-analyze verify"
if ! command -v systemd-analyze >/dev/null; then
    apt_install systemd || echo "could not install systemd (skipping the check)"
fi
if command -v systemd-analyze >/dev/null; then
    verify_out=$(systemd-analyze verify "$UNIT" 2>&1) || {
        echo "$verify_out"
        fail "systemd-analyze verify $UNIT"
    }
    # Verify exits 0 for some problems that it only prints (unknown settings, bad values).
    [ -z "$verify_out" ] || echo "$verify_out"
    if grep -F avatar.service <<<"$verify_out"; then fail "systemd-analyze verify warns about the unit"; fi
    echo "systemd-analyze verify: the unit is clean"
else
    echo "SKIPPED: systemd-analyze is not available"
fi

step "start the server as the unit would"
# The unit's settings, read from the installed unit itself.
unit_value() { sed -n "s/^$1=//p" "$UNIT" | tail -n 1; }
exec_start=$(unit_value ExecStart)
env_file=$(unit_value EnvironmentFile)
umask_value=$(unit_value UMask)
[ "$exec_start" = "/usr/bin/avatar serve --config $CONFIG" ] || fail "unexpected ExecStart=$exec_start"
[ "$env_file" = "$SECRET_FILE" ] || fail "unexpected EnvironmentFile=$env_file"
# DynamicUser=yes and StateDirectory=avatar: a throwaway system user that owns /var/lib/avatar.
useradd --system --user-group --no-create-home --home-dir / --shell /usr/sbin/nologin "$TEST_USER"
USER_MADE=1
install -d -m 0750 -o "$TEST_USER" -g "$TEST_USER" "$STATE"
# systemd reads EnvironmentFile as root; the service's user cannot read the secret itself.
as_service() {
    setpriv --reuid "$TEST_USER" --regid "$TEST_USER" --clear-groups --no-new-privs \
        env -i "${unit_env[@]}" "$@"
}
unit_env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
    HOME=/ USER="$TEST_USER" LOGNAME="$TEST_USER" SHELL=/usr/sbin/nologin
    STATE_DIRECTORY="$STATE" RUST_LOG=info)
if as_service cat "$SECRET_FILE" >/dev/null 2>&1; then fail "the service user can read $SECRET_FILE"; fi
while IFS= read -r line; do
    case "$line" in '' | '#'* | ';'*) continue ;; esac
    unit_env+=("$line")
done <"$env_file"

listen=()
if (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; then
    echo "127.0.0.1:8080 is busy: listening on 127.0.0.1:0 instead"
    listen=(--listen 127.0.0.1:0)
fi
read -r -a exec_argv <<<"$exec_start"
(
    cd /
    umask "${umask_value:-0022}"
    exec setpriv --reuid "$TEST_USER" --regid "$TEST_USER" --clear-groups --no-new-privs \
        env -i "${unit_env[@]}" "${exec_argv[@]}" "${listen[@]}"
) >"$WORK/stdout" 2>"$WORK/stderr" &
SERVER_PID=$!

ADDR=
for ((i = 0; i < START_TIMEOUT * 2; i++)); do
    ADDR=$(sed -n 's#^avatar listening on http://##p' "$WORK/stdout")
    [ -n "$ADDR" ] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        tail -n 30 "$WORK/stderr" >&2
        fail "the server exited before listening"
    fi
    sleep 0.5
done
if [ -z "$ADDR" ]; then
    tail -n 30 "$WORK/stderr" >&2
    fail "the server did not listen within ${START_TIMEOUT}s"
fi
case "$ADDR" in 127.0.0.1:*) ;; *) fail "the server listens on $ADDR, not on loopback" ;; esac
echo "listening on $ADDR after $((SECONDS - STARTED))s (pid $SERVER_PID, user $TEST_USER)"
if grep -q DEVELOPMENT "$WORK/stderr"; then fail "the server warns about a development secret"; fi

step "token, upload, read back"
HASH=$(printf 'package-test@example.com' | md5sum | cut -d' ' -f1)
TOKEN=$(as_service /usr/bin/avatar token --config "$CONFIG" --hash "$HASH")
[ -n "$TOKEN" ] || fail "avatar token printed nothing"
# A 256x256 checkerboard, as a 1-bit palette PNG.
base64 -d >"$WORK/upload.png" <<'EOF'
iVBORw0KGgoAAAANSUhEUgAAAQAAAAEAAQMAAABmvDolAAAABlBMVEUoWsjmeB4/RE2YAAAAQElEQVR42u3YoQ0AAAgD
MP5/GgxIBALXuSVVk4voZGfrAAAAAAAA0w0EAAAAAMAV2AMAAAAAAP8DAAAAAADPoACKafDi7iObfAAAAABJRU5ErkJggg==
EOF
curl_() { curl -sS --max-time 60 "$@"; }
png_width() { od -An -tu1 -j16 -N4 "$1" | awk '{print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4}'; }

# Before the upload the hash has no avatar: the tenant's default picture.
read -r code type < <(curl_ -o "$WORK/default.png" -w '%{http_code} %{content_type}\n' "http://$ADDR/$HASH/small")
[ "$code $type" = "200 image/png" ] || fail "GET /$HASH/small before the upload: $code $type"

code=$(curl_ -o "$WORK/put.json" -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: image/png' --data-binary @"$WORK/upload.png" "http://$ADDR/$HASH")
cat "$WORK/put.json"
echo
[ "$code" = 201 ] || fail "PUT /$HASH: $code"
grep -q "\"hash\":\"$HASH\"" "$WORK/put.json" || fail "the upload's answer names another hash"

code=$(curl_ -o /dev/null -w '%{http_code}' -X PUT -H 'Authorization: Bearer not-a-token' \
    -H 'Content-Type: image/png' --data-binary @"$WORK/upload.png" "http://$ADDR/$HASH")
[ "$code" = 401 ] || fail "PUT with a bad token: $code, not 401"

read -r code type < <(curl_ -o "$WORK/small.png" -w '%{http_code} %{content_type}\n' "http://$ADDR/$HASH/small")
[ "$code $type" = "200 image/png" ] || fail "GET /$HASH/small: $code $type"
[ "$(png_width "$WORK/small.png")" = 128 ] || fail "GET /$HASH/small is $(png_width "$WORK/small.png") pixels wide"
if cmp -s "$WORK/default.png" "$WORK/small.png"; then fail "GET /$HASH/small still gives the default"; fi
[ -n "$(find "$STATE/images" -type f -user "$TEST_USER" | head -n 1)" ] ||
    fail "no image files of $TEST_USER under $STATE/images"
[ -n "$(find "$STATE/plugin-cache" -type f | head -n 1)" ] || fail "the plugin cache in $STATE is empty"
echo "uploaded $HASH: 201; GET /$HASH/small: 200 image/png, 128 px; state in $STATE"

step "SIGTERM"
kill -TERM "$SERVER_PID"
for ((i = 0; i < 40; i++)); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.5
done
kill -0 "$SERVER_PID" 2>/dev/null && fail "the server is still running 20s after SIGTERM"
status=0
wait "$SERVER_PID" || status=$?
SERVER_PID=
[ "$status" = 0 ] || {
    tail -n 20 "$WORK/stderr" >&2
    fail "the server exited with status $status after SIGTERM"
}
echo "the server stopped with status 0"

step "dpkg --purge avatar"
dpkg --purge avatar
INSTALLED=0
for path in /usr/bin/avatar "$UNIT" /etc/avatar /usr/share/avatar; do
    [ ! -e "$path" ] || fail "$path is still there after the purge"
done
echo "purged: binary, unit, /etc/avatar and /usr/share/avatar are gone"

step "PASS: $(basename "$DEB") built, installed, served, stopped and purged"
