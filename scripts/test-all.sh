#!/usr/bin/env bash
# Runs every test of the project on a fresh machine or a used one.
#
# It installs what the tests need when it is missing (Debian packages, cargo-pgrx, the Python
# tools), starts the servers they talk to, and keeps the cargo target dir outside the clone
# ($MFA_TARGET_DIR, default ~/.cache/mfa-service/target) so that a rerun only rebuilds what changed.
# Each step is idempotent. Usage: scripts/test-all.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
# shellcheck source=scripts/env.sh
source scripts/env.sh

step() { printf '\n==> %s (at %dm%02ds)\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

step "tools"
scripts/setup.sh

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "unit, property and doc tests (mfa-core and the service)"
cargo test --locked

for part in scripts/test.d/*.sh; do
  [ -e "$part" ] || continue
  step "$(basename "$part" .sh)"
  bash "$part"
done

step "all tests passed"
