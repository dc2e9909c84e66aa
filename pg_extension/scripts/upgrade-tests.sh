#!/usr/bin/env bash
# Upgrade checks of the installed mfa_pg package (install_release) against the system
# PostgreSQL 15:
#   1. in a new database, CREATE EXTENSION mfa_pg VERSION '0.1.0' (the first release's script
#      with the current library, which must have every C symbol it names), then ALTER EXTENSION
#      mfa_pg UPDATE: the version must be the crate's (pg_extension/Cargo.toml);
#   2. every function in schema mfa, called with the RFC 6238 and RFC 4226 vectors and the ones
#      shared with mfa-core (function-checks.sql), in that database before and after the update
#      and in one with a new CREATE EXTENSION mfa_pg;
#   3. the upgraded extension the same as the new one: the extension's row and dependencies, its
#      members, every function's definition, owner, ACL and comment, and what schema mfa holds;
#   4. a dump of the upgraded database restores into a third one, the same again.
# Idempotent: it starts the cluster if it is down and recreates its scratch databases.
# Usage: pg_extension/scripts/upgrade-tests.sh
set -euo pipefail
# shellcheck source=pg_extension/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

upgraded=mfa_pg_upgraded
fresh=mfa_pg_fresh
restored=mfa_pg_restored
first_release=0.1.0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# The extension as the catalogs describe it, one item a line, in a fixed order.
describe_extension() {
  pg "$1" <<'SQL'
WITH ext AS (SELECT * FROM pg_extension WHERE extname = 'mfa_pg'),
items (section, key, line) AS (
  SELECT 1, '', format('extension %s %s in schema %s, relocatable %s, config %s %s, comment %L',
                       extname, extversion, extnamespace::regnamespace, extrelocatable,
                       extconfig, extcondition, obj_description(oid, 'pg_extension'))
    FROM ext
  UNION ALL
  SELECT 2, '', format('schema mfa, owner %s, ACL %s, comment %L', pg_get_userbyid(nspowner),
                       nspacl, obj_description(oid, 'pg_namespace'))
    FROM pg_namespace WHERE nspname = 'mfa'
  UNION ALL
  SELECT 3, pg_describe_object(refclassid, refobjid, refobjsubid),
         format('extension depends on %s (%s)', pg_describe_object(refclassid, refobjid, refobjsubid), deptype)
    FROM pg_depend, ext
   WHERE classid = 'pg_extension'::regclass AND objid = ext.oid
  UNION ALL
  SELECT 4, pg_describe_object(classid, objid, objsubid),
         format('member %s (%s)', pg_describe_object(classid, objid, objsubid), deptype)
    FROM pg_depend, ext
   WHERE refclassid = 'pg_extension'::regclass AND refobjid = ext.oid
  UNION ALL
  SELECT 5, p.oid::regprocedure::text,
         format(E'function %s, owner %s, ACL %s, comment %L:\n%s', p.oid::regprocedure,
                pg_get_userbyid(proowner), proacl, obj_description(p.oid, 'pg_proc'),
                CASE WHEN prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) ELSE prokind::text END)
    FROM pg_proc p WHERE pronamespace = 'mfa'::regnamespace
  UNION ALL
  SELECT 6, pg_describe_object('pg_class'::regclass, oid, 0),
         format('in schema mfa: %s', pg_describe_object('pg_class'::regclass, oid, 0))
    FROM pg_class WHERE relnamespace = 'mfa'::regnamespace
  UNION ALL
  SELECT 7, pg_describe_object('pg_type'::regclass, oid, 0),
         format('in schema mfa: %s', pg_describe_object('pg_type'::regclass, oid, 0))
    FROM pg_type WHERE typnamespace = 'mfa'::regnamespace
)
SELECT line FROM items ORDER BY section, key COLLATE "C";
SQL
}

# Runs function-checks.sql in a database: every function in schema mfa must have a check, and
# every check must pass.
check_functions() {
  local db="$1" rfc="$ext_dir/../core/tests/vectors/rfc.rs" ten="1234567890"
  local rfc6238 rfc4226 results functions
  # The RFC tables of rfc.rs as JSON arrays: `(59, "94287082", ...)` rows, then the codes.
  rfc6238="[$(sed -n '/^const RFC6238/,/^];/p' "$rfc" | grep -E '^ *\(' |
    sed -E 's/_//g; s/^ *\((.*)\),$/[\1]/' | paste -sd,)]"
  rfc4226="[$(sed -n '/^const RFC4226/,/^];/p' "$rfc" | grep -oE '"[0-9]+"' | paste -sd,)]"
  results="$(pg "$db" -f "$ext_dir/scripts/function-checks.sql" \
    -v rfc6238="$rfc6238" -v rfc4226="$rfc4226" \
    -v shared="$(cat "$ext_dir/../core/tests/vectors/recovery.json")" \
    -v seed_sha1="$(printf %s "$ten$ten" | base32 -w0)" \
    -v seed_sha256="$(printf %s "$ten$ten$ten${ten:0:2}" | base32 -w0)" \
    -v seed_sha512="$(printf %s "$ten$ten$ten$ten$ten$ten${ten:0:4}" | base32 -w0)")" ||
    fail "$db: a function check raised an ERROR"
  functions="$(pg "$db" -c "SELECT proname FROM pg_proc WHERE pronamespace = 'mfa'::regnamespace" |
    LC_ALL=C sort -u)"
  [ "$(cut -d'|' -f1 <<<"$results" | LC_ALL=C sort)" = "$functions" ] ||
    fail "$db: the checks are not one per function in schema mfa: checks [$(cut -d'|' -f1 <<<"$results" | paste -sd' ')], functions [$(paste -sd' ' <<<"$functions")]"
  if grep -v '|t$' <<<"$results"; then fail "$db: the functions above gave wrong answers"; fi
  echo "$db, mfa_pg $(version "$db"): $(wc -l <<<"$results") functions answer as the vectors say"
}

version() {
  pg "$1" -c "SELECT extversion FROM pg_extension WHERE extname = 'mfa_pg'"
}

start_cluster
current="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ext_dir/Cargo.toml")"
[ "$(pg postgres -c "SELECT default_version FROM pg_available_extensions WHERE name = 'mfa_pg'")" = "$current" ] ||
  fail "the installed mfa_pg is not version $current: install the package first (install_release)"

echo "mfa_pg $first_release, then ALTER EXTENSION mfa_pg UPDATE"
fresh_database "$upgraded"
pg "$upgraded" -c "CREATE EXTENSION mfa_pg VERSION '$first_release'"
# As $first_release made it: the schema mfa one of the extension's objects.
[ "$(pg "$upgraded" -c "SELECT extversion, EXISTS (SELECT FROM pg_depend
    WHERE refclassid = 'pg_extension'::regclass AND refobjid = e.oid AND deptype = 'e'
      AND classid = 'pg_namespace'::regclass AND objid = 'mfa'::regnamespace)
  FROM pg_extension e WHERE extname = 'mfa_pg'")" = "$first_release|t" ] ||
  fail "CREATE EXTENSION mfa_pg VERSION '$first_release' did not make $first_release"
# Until it is updated, a database on the first release works with the current library.
check_functions "$upgraded"
pg "$upgraded" -c "ALTER EXTENSION mfa_pg UPDATE"
[ "$(version "$upgraded")" = "$current" ] || fail "the update made version $(version "$upgraded"), not $current"

echo "A new CREATE EXTENSION mfa_pg"
fresh_database "$fresh"
pg "$fresh" -c "CREATE EXTENSION mfa_pg"
[ "$(version "$fresh")" = "$current" ] || fail "CREATE EXTENSION made version $(version "$fresh"), not $current"

check_functions "$upgraded"
check_functions "$fresh"

echo "The upgraded extension against the new one"
describe_extension "$upgraded" >"$work/upgraded.txt"
describe_extension "$fresh" >"$work/fresh.txt"
[ "$(grep -c '^function mfa\.' "$work/fresh.txt")" -ge 9 ] || fail "the description lacks functions"
diff -u "$work/fresh.txt" "$work/upgraded.txt" || fail "the upgraded extension differs from a new one (- new, + upgraded)"

echo "A dump of the upgraded database, restored"
fresh_database "$restored"
as_postgres pg_dump -d "$upgraded" | pg "$restored" >/dev/null
describe_extension "$restored" >"$work/restored.txt"
diff -u "$work/fresh.txt" "$work/restored.txt" || fail "the restored extension differs from a new one (- new, + restored)"

echo "Upgrade checks passed: $first_release to $current"
