#!/usr/bin/env bash
# SQL-level checks of the installed mfa_pg against the system PostgreSQL 15:
#   1. every ```sql block of README.md's "PostgreSQL extension" section, run in order as written in
#      one session, each statement's output compared with the result the README writes under it
#      (see check_readme_sql), and each `=> statement` of a ```text block with the ERROR under it;
#   2. the README's two replay-safe statements raced by two real psql sessions: session A runs the
#      statement in an open transaction, session B runs it too and waits for A's row lock, A
#      commits, and B must get no row;
#   3. the README's throttled TOTP check through the lock schedule its text gives.
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

# Runs README.md's ```sql blocks in order in one session and compares what each statement printed
# (psql -At: rows bare, columns split by |) with the result the README writes under it: the
# comment lines that start with `--  ` (two spaces), up to a note set off by two spaces and
# parentheses. A statement ends at a line ending in `;` or `\gset`, or is a psql meta-command;
# the script has psql print a marker after each one. Prints how many results it compared.
check_readme_sql() {
  readme_sql | awk -v expected="$work/expected" '
    /^--  / {
      value = substr($0, 5)
      sub(/  +\(.*\)$/, "", value)
      print statement "\t" value >expected
    }
    { print }
    !/^--/ && (/;[[:space:]]*(--.*)?$/ || /\\gset[[:space:]]*$/ || /^\\/) {
      print "\\echo @@end " ++statement
    }
  ' >"$work/readme.sql"
  [ -s "$work/expected" ] || fail "README.md's SQL documents no result"
  pg "$db" <"$work/readme.sql" >"$work/readme.out"
  awk -F '\t' '
    NR == FNR { want[$1] = want[$1] $2 "\n"; next }
    /^@@end / { got[substr($0, 7)] = output; output = ""; next }
    { output = output $0 "\n" }
    END {
      for (statement in want) {
        if (got[statement] != want[statement]) {
          printf "FAIL: statement %d printed\n%sbut README.md says\n%s", statement, got[statement],
            want[statement] >"/dev/stderr"
          bad = 1
        }
        count++
      }
      if (bad) exit 1
      print count
    }
  ' "$work/expected" "$work/readme.out"
}

# Runs each `=> statement` line of README.md's ```text blocks and compares what psql wrote to
# stderr with the lines under it, to the end of the block. Prints how many it compared.
check_readme_errors() {
  local count=0 statement want got
  # One line per statement: the statement, a tab, the lines under it joined by \037.
  while IFS=$'\t' read -r statement want; do
    got="$(pg "$db" -c "$statement" 2>&1 >/dev/null | sed 's/^psql:[^ ]*: //' | paste -sd $'\037')" || true
    [ "$got" = "$want" ] || fail "$statement printed \"$got\", but README.md says \"$want\""
    count=$((count + 1))
  done < <(awk '
    /^```text$/ { inside = 1; next }
    inside && /^```$/ { inside = 0; if (statement != "") print statement "\t" want; statement = ""; next }
    inside && /^=> / { statement = substr($0, 4); want = ""; next }
    inside && statement != "" { want = want (want == "" ? "" : "\037") $0 }
  ' "$readme")
  [ "$count" -gt 0 ] || fail "README.md shows no ERROR of the SQL API"
  echo "$count"
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

echo "README.md's SQL examples, as written, against the results it documents"
[ "$(readme_sql | grep -c 'mfa\.')" -gt 10 ] || fail "README.md has too few SQL examples"
results="$(check_readme_sql)"
errors="$(check_readme_errors)"
echo "  $results results and $errors errors as documented"

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

echo "Throttle: the README's lock schedule, from its statement that checks a code"
check_throttled="$(readme_sql '-- Check a TOTP code against the throttle and the replay guard.')"
[ -n "$check_throttled" ] || fail "README.md lost its throttled TOTP check"
totp_key="$(readme_sql | sed -n "s/^SET app.totp_key = '\(.*\)';$/\1/p")"
[ -n "$totp_key" ] || fail "README.md lost its example key"
# User 1, enrolled with an encrypted secret by the README's examples. Prints what one attempt
# with `code` gave: `accepted` (t or f, or - for no row), then the user's failures and lock in
# seconds from now (empty: none; blocked: infinity), as `f 5|30`.
attempt() {
  printf '%s\n' "SET app.totp_key = :'key';" 'BEGIN;' "$check_throttled" '\echo @@' \
    "SELECT failures, CASE WHEN locked_until = 'infinity' THEN 'blocked'
       ELSE round(extract(epoch FROM locked_until - now()))::text END FROM users WHERE id = 1;" \
    'COMMIT;' | pg "$db" -v user_id=1 -v "code=$1" -v "key=$totp_key" |
    awk '$0 == "@@" { printf "%s ", accepted == "" ? "-" : accepted; state = 1; next }
         state { print; next }
         { split($0, fields, "|"); accepted = fields[1] }'
}
expect_attempt() {
  local code="$1" want="$2" got
  got="$(attempt "$code")"
  [ "$got" = "$want" ] || fail "an attempt with $code gave \"$got\", not \"$want\""
}
# Lets the lock run out (as if its time had passed) or sets the count of failures.
set_user() {
  pg "$db" -c "UPDATE users SET $1 WHERE id = 1"
}
# The code of the step after now's: within window 1, and after the step the README's example
# accepted.
next_code="$(pg "$db" -c "SELECT mfa.totp_code(pgp_sym_decrypt(totp_secret_enc, '$totp_key'),
  now() + interval '30 seconds') FROM users WHERE id = 1")"
for failures in 1 2 3 4; do expect_attempt wrong "f $failures|"; done
expect_attempt "$next_code" "t 0|"   # a success resets the count
expect_attempt "$next_code" "f 1|"   # a replayed code is a failure
for failures in 2 3 4; do expect_attempt wrong "f $failures|"; done
expect_attempt wrong "f 5|30"        # 5 consecutive failures lock for 30 s
expect_attempt "$next_code" "- 5|30" # locked: not even checked, not counted
set_user "locked_until = now() - interval '1 second'"
expect_attempt wrong "f 6|60"        # doubling with each further failure
set_user "locked_until = now() - interval '1 second'"
expect_attempt wrong "f 7|120"
set_user "failures = 97, locked_until = now() - interval '1 second'"
expect_attempt wrong "f 98|3600"     # up to an hour
set_user "locked_until = now() - interval '1 second'"
expect_attempt wrong "f 99|3600"
set_user "locked_until = now() - interval '1 second'"
expect_attempt wrong "f 100|blocked" # 100 block it until an admin resets the count
expect_attempt wrong "- 100|blocked"
set_user "failures = 0, locked_until = NULL" # the README's admin unlock
expect_attempt wrong "f 1|"

echo "SQL-level checks passed"
