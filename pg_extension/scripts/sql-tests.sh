#!/usr/bin/env bash
# SQL-level checks of the installed mfa_pg against the system PostgreSQL 15:
#   1. every ```sql block of README.md's "PostgreSQL extension" section, run in order as written;
#   2. the README's two replay-safe statements raced by two real psql sessions: session A runs the
#      statement in an open transaction, session B runs it too and waits for A's row lock, A
#      commits, and B must get no row.
# Expects mfa_pg installed (cargo pgrx install). Idempotent: it starts the cluster if it is down
# and recreates its scratch database. Usage: pg_extension/scripts/sql-tests.sh
set -euo pipefail
# shellcheck source=pg_extension/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readme="$ext_dir/../README.md"
db=mfa_pg_sql_tests
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The ```sql blocks of README.md; with an argument, only the block whose first line is that text.
readme_sql() {
  awk -v first="${1:-}" '
    /^```sql$/ { inside = 1; head = ""; body = ""; next }
    inside && /^```$/ { inside = 0; if (first == "" || head == first) printf "%s", body; next }
    inside { if (head == "") head = $0; body = body $0 "\n" }
  ' "$readme"
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Polls until `query` returns t, for at most 30 seconds.
wait_until() {
  local what="$1" query="$2"
  for _ in $(seq 300); do
    [ "$(pg "$db" -c "$query")" = t ] && return 0
    sleep 0.1
  done
  fail "timed out waiting until $what"
}

# Races `statement` (psql variables :user_id and :code) in two sessions; prints what each returned.
race() {
  local statement="$1" user_id="$2" code="$3"
  local vars=(-v "user_id=$user_id" -v "code=$code")
  rm -f "$work/a.in" && mkfifo "$work/a.in"
  pg "dbname=$db application_name=mfa-race-a" "${vars[@]}" <"$work/a.in" >"$work/a.out" &
  local a=$!
  exec 3>"$work/a.in"
  printf 'BEGIN;\n%s\n' "$statement" >&3
  wait_until "session A holds the row lock" "SELECT EXISTS (SELECT FROM pg_stat_activity
    WHERE application_name = 'mfa-race-a' AND state = 'idle in transaction'
      AND backend_xid IS NOT NULL)"
  printf '%s\n' "$statement" | pg "dbname=$db application_name=mfa-race-b" "${vars[@]}" >"$work/b.out" &
  local b=$!
  wait_until "session B waits for A's lock" "SELECT EXISTS (SELECT FROM pg_stat_activity
    WHERE application_name = 'mfa-race-b' AND wait_event_type = 'Lock')"
  printf 'COMMIT;\n' >&3
  exec 3>&-
  wait "$a" || fail "session A failed"
  wait "$b" || fail "session B failed"
  echo "session A: [$(tr '\n' ' ' <"$work/a.out")] session B: [$(tr '\n' ' ' <"$work/b.out")]"
  [ -s "$work/a.out" ] || fail "session A got no row"
  [ ! -s "$work/b.out" ] || fail "session B got a row too"
}

start_cluster
fresh_database "$db"

echo "README.md's SQL examples, as written"
[ "$(readme_sql | grep -c 'mfa\.')" -gt 10 ] || fail "README.md has too few SQL examples"
readme_sql | pg "$db" >/dev/null

echo "TOTP: two sessions send the same code; one is accepted"
accept_totp="$(readme_sql '-- Accept a TOTP code at most once per time step.')"
[ -n "$accept_totp" ] || fail "README.md lost its TOTP accept example"
pg "$db" -c "INSERT INTO users (id, totp_secret) VALUES (2, mfa.totp_new_secret())"
code="$(pg "$db" -c "SELECT mfa.totp_code(totp_secret) FROM users WHERE id = 2")"
race "$accept_totp" 2 "$code"
replay="$(printf '%s\n' "$accept_totp" | pg "$db" -v user_id=2 -v "code=$code")"
[ -z "$replay" ] || fail "a replayed TOTP code was accepted"

echo "Recovery code: two sessions send the same code; one is let in"
use_recovery="$(readme_sql '-- Use a recovery code: each code lets the user in once.')"
[ -n "$use_recovery" ] || fail "README.md lost its recovery-code example"
recovery_code="$(pg "$db" -c "WITH issued AS (SELECT * FROM mfa.recovery_codes_new(5)),
    stored AS (INSERT INTO recovery_codes (user_id, hash) SELECT 2, hash FROM issued)
  SELECT lower(code) FROM issued LIMIT 1")"
race "$use_recovery" 2 "$recovery_code"
again="$(printf '%s\n' "$use_recovery" | pg "$db" -v user_id=2 -v "code=$recovery_code")"
[ -z "$again" ] || fail "a used recovery code was accepted again"
[ "$(pg "$db" -c "SELECT count(*) FROM recovery_codes WHERE user_id = 2 AND used_at IS NOT NULL")" = 1 ] ||
  fail "not exactly one recovery code was used"

echo "SQL-level checks passed"
