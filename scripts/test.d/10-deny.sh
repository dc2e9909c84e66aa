#!/usr/bin/env bash
# The dependency policy of deny.toml: licenses, banned crates (OpenSSL), sources. cargo-deny runs
# offline, so the crates of every target platform in Cargo.lock are fetched first (`cargo fetch`
# reaches the registry; a machine that never built for Windows has none of its crates). The
# advisories check needs the RustSec database from GitHub and is not run here: deny.toml says how
# to run it. Installs cargo-deny when it is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

version="0.20.2"
if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny $version"; then
  echo "installing cargo-deny $version (a few minutes, once)"
  cargo install --locked --quiet cargo-deny --version "$version"
fi
cargo fetch --locked --quiet
cargo deny --offline --log-level error check licenses bans sources
