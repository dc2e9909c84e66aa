#!/usr/bin/env bash
# mfa-local's demo page (/demo/) in headless Chromium, through every step a person takes
# (tests/browser/demo.cjs, with playwright-core and DevTools' virtual WebAuthn authenticators).
# Installs Debian's chromium and the pinned playwright-core (into $MFA_CACHE_DIR/browser) when
# missing. The screenshots of each step stay in $CARGO_TARGET_DIR/browser-screenshots.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

modules="$MFA_CACHE_DIR/browser"
if ! cmp -s tests/browser/package-lock.json "$modules/package-lock.json" ||
    [ ! -d "$modules/node_modules/playwright-core" ]; then
  echo "installing playwright-core into $modules"
  mkdir -p "$modules"
  cp tests/browser/package.json tests/browser/package-lock.json "$modules/"
  (cd "$modules" && npm ci --no-audit --no-fund --silent)
fi

start_mfa_local

shots="$CARGO_TARGET_DIR/browser-screenshots"
rm -rf "$shots"
NODE_PATH="$modules/node_modules" MFA_DEMO_URL="http://127.0.0.1:$port/demo/" SCREENSHOTS="$shots" \
  node tests/browser/demo.cjs
