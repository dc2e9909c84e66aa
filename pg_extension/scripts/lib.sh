# Helpers for the scripts that build the package of mfa_pg and talk to the system PostgreSQL 15
# (the SQL-level and upgrade tests, the benchmark). Sourced, not run; the ones that build expect
# scripts/env.sh to be sourced first (cargo on PATH, CARGO_TARGET_DIR).

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

# The system PostgreSQL 15, which the package is built for and installed into.
pg_config=/usr/bin/pg_config

# Where build_package puts the package's tree: `cargo pgrx package`'s default for the pg profile.
package_dir() {
  echo "$CARGO_TARGET_DIR/pg/mfa_pg-pg15"
}

# Builds the package: `cargo pgrx package --profile pg` into a fresh package_dir (the shared
# library, the control file, the current version's install script and sql/'s upgrade scripts,
# each under pg_config's path, usr/lib/postgresql/15/lib and usr/share/postgresql/15/extension),
# the files of sql/ that it does not copy (older versions' install scripts and control files),
# and a tarball of the tree's files beside it, to unpack onto a server's /. Prints the tarball's
# path; the build's output goes to stderr.
build_package() {
  local out extension_dir file version tarball
  out="$(package_dir)"
  rm -rf "$out"
  (cd "$ext_dir" && cargo pgrx package --pg-config "$pg_config" --profile pg --out-dir "$out") >&2
  extension_dir="$out$("$pg_config" --sharedir)/extension"
  for file in "$ext_dir"/sql/mfa_pg--*; do
    [ -e "$extension_dir/${file##*/}" ] || install -m 644 "$file" "$extension_dir/"
  done
  version="$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$extension_dir/mfa_pg.control")"
  [ -n "$version" ] || { echo "no default_version in the package's control file" >&2; return 1; }
  tarball="$(dirname "$out")/mfa_pg-$version-pg15-$(uname -m).tar.gz"
  rm -f "$(dirname "$out")"/mfa_pg-*-pg15-*.tar.gz
  (cd "$out" && find usr -type f | LC_ALL=C sort |
    tar --owner=0 --group=0 --numeric-owner --no-recursion -czf "$tarball" -T -)
  echo "$tarball"
}

# Builds the package and installs it into the system PostgreSQL 15 as README.md says: its tarball
# unpacked onto / (tar replaces a file by a new one, so running sessions keep the library they
# loaded until they end).
install_release() {
  local tarball
  tarball="$(build_package)"
  if [ "$(id -u)" = 0 ]; then tar -xzf "$tarball" -C /; else sudo tar -xzf "$tarball" -C /; fi
  echo "installed $tarball" >&2
}
