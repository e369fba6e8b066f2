#!/usr/bin/env bash
# Installs the Gravatar client libraries that tests/tests/gravatar_clients.rs drives: the PyPI
# and npm packages pinned in tests/clients/, into tests/clients/.venv (or $AVATAR_CLIENTS_VENV)
# and tests/clients/node_modules. Installs python3-venv, nodejs and npm from Debian if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian leaves ensurepip out of python3 itself: python3-venv brings it.
if ! command -v node >/dev/null || ! command -v npm >/dev/null \
  || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm python3-venv
fi
VENV="${AVATAR_CLIENTS_VENV:-$PWD/tests/clients/.venv}"
[ -x "$VENV/bin/python3" ] || python3 -m venv "$VENV"
"$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check \
  -r tests/clients/requirements.txt
(cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
