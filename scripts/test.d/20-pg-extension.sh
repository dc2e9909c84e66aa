#!/usr/bin/env bash
# mfa_pg, the PostgreSQL extension: its #[pg_test]s in a throwaway cluster that cargo-pgrx runs as
# the postgres user; then its package (`cargo pgrx package --profile pg`, pg_extension/scripts/
# package.sh) built and installed into the system PostgreSQL 15 as README.md says, and the
# SQL-level checks against it: the README's SQL examples and two-session replay races
# (sql-tests.sh), and the upgrade from the first release to the current version (upgrade-tests.sh).
# Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/env.sh
source scripts/env.sh
# shellcheck source=pg_extension/scripts/lib.sh
source pg_extension/scripts/lib.sh

# cargo-pgrx creates the test cluster here on first use and reuses it after. Outside $HOME, whose
# mode may keep the postgres user out.
pgdata="${MFA_PGRX_PGDATA:-/tmp/mfa-pgrx-test}"
install -d -o postgres -g postgres "$pgdata"
(cd pg_extension && cargo pgrx test pg15 --runas postgres --pgdata "$pgdata")

install_release
pg_extension/scripts/sql-tests.sh
pg_extension/scripts/upgrade-tests.sh
