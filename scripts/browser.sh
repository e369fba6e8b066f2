#!/usr/bin/env bash
# Installs what tests/tests/ui_browser.rs drives the self-service page with: Debian's
# chromium (the browser; Playwright's own downloads are not used) and, from npm, the pinned
# playwright-core and axe-core in tests/browser/node_modules. Installs nodejs and npm from
# Debian if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
