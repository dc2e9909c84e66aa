#!/usr/bin/env bash
# Builds the mfa_pg package for PostgreSQL 15: `cargo pgrx package --profile pg` (the shared
# library, the control file, the current version's install script, the upgrade scripts) plus the
# older versions' install scripts, as a tree under the cargo target dir and a tarball of it to
# unpack onto a server's / (README.md, "PostgreSQL extension"). Prints the tarball's path.
# Idempotent: each run starts from an empty tree. Usage: pg_extension/scripts/package.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
source "$here/../../scripts/env.sh"
# shellcheck source=pg_extension/scripts/lib.sh
source "$here/lib.sh"

build_package
