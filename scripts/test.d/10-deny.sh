#!/usr/bin/env bash
# The dependency policy of deny.toml: licenses, banned crates (OpenSSL), sources. Offline, so it
# needs no network; the advisories check (`cargo deny check advisories`) needs the RustSec
# database online and is not run here. Installs cargo-deny when it is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

version="0.20.2"
if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny $version"; then
  echo "installing cargo-deny $version (a few minutes, once)"
  cargo install --locked --quiet cargo-deny --version "$version"
fi
cargo deny --offline --log-level error check licenses bans sources
