#!/usr/bin/env bash
# Ensures a moto server (a local stand-in for DynamoDB, SNS and SES v2) answers on
# 127.0.0.1:$MFA_MOTO_PORT (default 5055), and prints its endpoint URL on stdout, alone, so that
# callers can write `endpoint="$(scripts/moto.sh)"`.
#
# Installs moto[server] into the project's virtualenv when it is missing, starts it in the background with
# its log at $CARGO_TARGET_DIR/moto-$PORT.log, and waits until it answers. Safe to run again: a
# server already answering on the port is reused. Stop it with `kill $(cat .../moto-$PORT.pid)`.
#
# The server handles one request at a time. `moto_server` itself is threaded, and moto applies a
# DynamoDB update in several unlocked steps, so concurrent updates of one item get lost there (they
# never do in DynamoDB); the store conformance suite races requests on purpose and needs a server
# that, like DynamoDB, applies each request atomically.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

port="${MFA_MOTO_PORT:-5055}"
endpoint="http://127.0.0.1:$port"
log="$CARGO_TARGET_DIR/moto-$port.log"
pidfile="$CARGO_TARGET_DIR/moto-$port.pid"

# `moto_server` with werkzeug's run_simple told to serve requests one at a time (see above).
serial_moto_server='
import sys
import moto.server as server
threaded_run_simple = server.run_simple
def run_simple(*args, **kwargs):
    kwargs["threaded"] = False
    return threaded_run_simple(*args, **kwargs)
server.run_simple = run_simple
server.main(sys.argv[1:])
'

# A cheap request (DynamoDB ListTables, one table): moto's /moto-api/data.json grows with all it
# holds and gets slow, which would look like no server.
answers() {
  curl -fsS -o /dev/null --max-time 5 -X POST -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
    -H 'Content-Type: application/x-amz-json-1.0' -d '{"Limit":1}' "$endpoint/" 2>/dev/null
}

if ! answers; then
  ensure_pip_packages "moto[server]==$MOTO_VERSION"
  echo "starting moto server on $endpoint (log: $log)" >&2
  # Detached from this shell and its output, so that `$(scripts/moto.sh)` returns.
  setsid python3 -c "$serial_moto_server" -H 127.0.0.1 -p "$port" </dev/null >"$log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 60); do
    answers && break
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "moto server exited; its log:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
    sleep 0.5
  done
  if ! answers; then
    echo "moto server did not answer on $endpoint within 30 s; its log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
fi
echo "$endpoint"
