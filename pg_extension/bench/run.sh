#!/usr/bin/env bash
# Benchmarks mfa.totp_verify against a PL/pgSQL + pgcrypto implementation of the same check in the
# system PostgreSQL 15: installs the release build of mfa_pg, makes a scratch database with
# mfa_pg and pgcrypto, and runs bench.sql over ROWS rows (default 100000), printing both times,
# microseconds per verify and the speedup. Usage: pg_extension/bench/run.sh [ROWS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
source "$here/../../scripts/env.sh"
# shellcheck source=pg_extension/scripts/lib.sh
source "$here/../scripts/lib.sh"

rows="${1:-100000}"
db=mfa_pg_bench

install_release
start_cluster
fresh_database "$db"
pg "$db" -c "CREATE EXTENSION mfa_pg" -c "CREATE EXTENSION pgcrypto"
pg "$db" <"$here/plpgsql_totp.sql"
pg "$db" -v rows="$rows" <"$here/bench.sql"
