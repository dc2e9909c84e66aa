# Helpers for the scripts that talk to the system PostgreSQL 15 (the SQL-level tests and the
# benchmark). Sourced, not run; expects scripts/env.sh to be sourced first (cargo on PATH).

ext_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Runs a command as the postgres OS user, whose peer login is the postgres superuser.
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; elif [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

# psql that stops at the first error and prints rows bare: `pg DB [psql args...]`.
pg() {
  local db="$1"
  shift
  as_postgres psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"
}

# Starts the system cluster unless it is already running.
start_cluster() {
  pg_ctlcluster 15 main status >/dev/null 2>&1 || as_postgres pg_ctlcluster 15 main start
}

# Drops and creates a scratch database.
fresh_database() {
  as_postgres dropdb --if-exists "$1"
  as_postgres createdb "$1"
}

# Builds mfa_pg in release mode and installs it into the system PostgreSQL 15.
install_release() {
  (cd "$ext_dir" && cargo pgrx install --pg-config /usr/bin/pg_config --profile pg)
}
