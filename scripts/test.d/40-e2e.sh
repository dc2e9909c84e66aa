#!/usr/bin/env bash
# End-to-end tests over HTTP, twice: against mfa-local on its embedded store, and against the
# Lambda function binaries under `cargo lambda watch`, over DynamoDB as moto serves it; then
# `cargo lambda invoke` with the API Gateway events in functions/verify/events/. The e2e target is
# picked from the whole workspace (no `-p`), to reuse what `cargo test` compiled. Calls go to
# the outbox of mfa-local, and to tests/voice_endpoint.py for the Lambda functions. The operator's
# CLI (functions/cli/tests) runs against mfa-local too. Each stack logs its own crates at trace
# level, and after each run tests/no_secret_logged.py looks in its log for every secret the tests
# saw (they record them in MFA_E2E_SECRETS_FILE). Tokens are checked by tests/token_oracle.py too
# (PyJWT).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/env.sh

work="$(mktemp -d)"
pids=()
cleanup() {
  status=$?
  if [ "$status" -ne 0 ]; then
    kept="$CARGO_TARGET_DIR/e2e-logs"
    mkdir -p "$kept"
    for log in "$work"/*.log; do
      [ -e "$log" ] || continue
      cp "$log" "$kept/"
      echo "--- last lines of $(basename "$log") (whole: $kept/$(basename "$log"))" >&2
      tail -n 60 "$log" >&2
    done
  fi
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # url, what, log, pid
  for _ in $(seq 1 600); do
    if curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; then return 0; fi
    kill -0 "$4" 2>/dev/null || break
    sleep 0.5
  done
  echo "$2 did not answer at $1; its log:" >&2
  tail -n 40 "$3" >&2
  return 1
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

api_key="mfa_e2e_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# A configured key of the `service` scopes next to the admin one, which admin routes refuse.
service_key="mfa_e2e_service_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
api_keys="admin:$(sha "$api_key"),service:$(sha "$service_key")"
# The service's own crates at their most verbose, the rest as deployed (info).
log_level="info$(printf ',%s=trace' mfa_service mfa_core mfa_local mfa_enroll mfa_verify mfa_manage mfa_admin)"
# The independent JWT library that checks the service's tokens (tests/token_oracle.py).
ensure_pip_packages "pyjwt[crypto]==2.15.1" "cryptography==50.0.2"

# The SMS webhook takes the SNS messages that tests/e2e/webhook.rs signs with the fixture signer
# (tests/sns.rs, the same topic): trusted through the fixture CA, the signing certificate read from
# the fixture directory (this machine can't reach SNS).
sns_fixtures="$PWD/functions/service/tests/fixtures/sns"
inbound_topic="arn:aws:sns:us-east-1:123456789012:mfa-inbound-sms"

echo "-- against mfa-local"
cargo build --locked -q -p mfa-local
local_port="$(free_port)"
setsid env MFA_LOCAL_ADDR="127.0.0.1:$local_port" MFA_LOCAL_DATA_DIR="$work/local" \
  MFA_LOCAL_API_KEY="$api_key" MFA_API_KEYS="$api_keys" MFA_ISSUER_NAME="Acme" RUST_LOG="$log_level" \
  MFA_INBOUND_TOPIC_ARN="$inbound_topic" MFA_SNS_TRUST_ANCHOR_PEM="$(cat "$sns_fixtures/ca.pem")" \
  MFA_SNS_CERTIFICATE_DIR="$sns_fixtures" "$CARGO_TARGET_DIR/debug/mfa-local" >"$work/local.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$local_port/.well-known/jwks.json" mfa-local "$work/local.log" "${pids[-1]}"
MFA_E2E_BASE_URL="http://127.0.0.1:$local_port" MFA_E2E_API_KEY="$api_key" \
  MFA_E2E_SERVICE_KEY="$service_key" MFA_E2E_SECRETS_FILE="$work/local-secrets.txt" \
  MFA_E2E_OUTBOX="$work/local/outbox.jsonl" cargo test --locked -q --test e2e -- --include-ignored
# The operator's CLI (mfa) against the same mfa-local, and its `secret init` against moto.
MFA_E2E_BASE_URL="http://127.0.0.1:$local_port" MFA_E2E_API_KEY="$api_key" \
  MFA_E2E_MOTO_URL="$(scripts/moto.sh)" cargo test --locked -q --test cli -- --include-ignored
# The README's login backend (mfa-client's example), typed into as a user would.
cargo build --locked -q --example login_backend
python3 tests/login_backend.py "$CARGO_TARGET_DIR/debug/examples/login_backend" \
  "http://127.0.0.1:$local_port" "$api_key"
# What the run did shows in mfa-local's Prometheus metrics.
curl -fsS "http://127.0.0.1:$local_port/metrics" | python3 -c '
import re, sys
text = sys.stdin.read()
counts = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+(?:\{[^}]*\})?) (\d+)$", text, re.M)}
for name in ["mfa_cold_starts_total",
             "mfa_verifies_total{factor=\"totp\",outcome=\"passed\"}",
             "mfa_verifies_total{factor=\"totp\",outcome=\"rejected\"}",
             "mfa_verifies_total{factor=\"recovery_code\",outcome=\"passed\"}",
             "mfa_lockouts_total{budget=\"second_factor\"}",
             "mfa_messages_sent_total{channel=\"sms\"}",
             "mfa_messages_sent_total{channel=\"email\"}"]:
    assert counts.get(name, 0) > 0, f"{name} not counted in /metrics:\n{text}"
print(f"/metrics: {len(counts)} series, each expected one counted")'
python3 tests/no_secret_logged.py --delivered "outbox: " "$work/local-secrets.txt" "$work/local.log"

echo "-- against the Lambda functions under cargo lambda watch, over moto"
ensure_cargo_lambda
endpoint="$(scripts/moto.sh)"
# A moto server kept from earlier runs holds every text and email they sent, and the tests read
# them all from /moto-api/data.json at each look (seconds each, once it holds a few thousand):
# start from an empty one.
curl -fsS -X POST -o /dev/null "$endpoint/moto-api/reset"
table="mfa-e2e-$(date +%s)"
python3 - "$endpoint" "$table" <<'PY'
import sys, boto3
endpoint, table = sys.argv[1], sys.argv[2]
db = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
boto3.client("ses", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
             aws_secret_access_key="test").verify_email_identity(EmailAddress="mfa@acme.test")
db.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                           {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "sk", "AttributeType": "S"}])
PY
key32() { head -c 32 /dev/urandom | base64; }
cat >"$work/lambda.env" <<ENV
MFA_API_KEYS="$api_keys"
MFA_DATA_KEYS="e2e-data:$(key32)"
MFA_SIGNING_KEYS="e2e-sig:$(key32)"
MFA_CODE_KEY="e2e-code:$(key32)"
MFA_EMAIL_FROM="mfa@acme.test"
MFA_ISSUER_NAME="Acme"
MFA_TABLE="$table"
MFA_WEBAUTHN_RP_ID="localhost"
MFA_WEBAUTHN_ORIGINS="https://login.localhost"
MFA_INBOUND_TOPIC_ARN="$inbound_topic"
MFA_SNS_TRUST_ANCHOR_PEM="$(cat "$sns_fixtures/ca.pem")"
MFA_SNS_CERTIFICATE_DIR="$sns_fixtures"
AWS_ENDPOINT_URL="$endpoint"
AWS_REGION="us-east-1"
AWS_ACCESS_KEY_ID="test"
AWS_SECRET_ACCESS_KEY="test"
RUST_LOG="$log_level"
ENV
# moto does not serve End User Messaging's voice API: calls (and carrier lookups) go to a
# recording endpoint that speaks its JSON protocol and checks each request.
voice_port="$(free_port)"
voice_identity="arn:aws:sms-voice:us-east-1:111122223333:phone-number/phone-e2e"
setsid python3 tests/voice_endpoint.py "$voice_port" "$voice_identity" JOANNA >"$work/voice.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$voice_port/calls" "the voice endpoint" "$work/voice.log" "${pids[-1]}"
cat >>"$work/lambda.env" <<ENV
MFA_VOICE_ORIGINATION_IDENTITY="$voice_identity"
AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2="http://127.0.0.1:$voice_port"
ENV
lambda_port="$(free_port)"
cargo build --locked -q -p mfa-enroll -p mfa-verify -p mfa-manage -p mfa-admin -p mfa-sms-webhook
# Several instances of a function, as Lambda runs them: concurrent verifies race in the store.
setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$lambda_port" --ignore-changes --concurrency 4 \
  --env-file "$work/lambda.env" >"$work/lambda.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$lambda_port/lambda-url/mfa-verify/.well-known/jwks.json" "cargo lambda watch" "$work/lambda.log" "${pids[-1]}"
# cargo lambda watch starts a function's process on its first request. Start each one now, one at
# a time, so that the tests' concurrent first requests don't race those cold starts.
for function in mfa-enroll mfa-manage mfa-admin mfa-sms-webhook; do
  answered=""
  for _ in $(seq 1 120); do
    type="$(curl -sS -o /dev/null -w '%{content_type}' --max-time 30 \
      "http://127.0.0.1:$lambda_port/lambda-url/$function/v1/users/warm-up/factors" 2>/dev/null || true)"
    if [ "$type" = "application/problem+json" ]; then answered=1; break; fi
    sleep 0.5
  done
  if [ -z "$answered" ]; then
    echo "$function did not answer under cargo lambda watch" >&2
    exit 1
  fi
done
MFA_E2E_BASE_URL="http://127.0.0.1:$lambda_port" MFA_E2E_MODE=lambda MFA_E2E_API_KEY="$api_key" \
  MFA_E2E_SERVICE_KEY="$service_key" MFA_E2E_SECRETS_FILE="$work/lambda-secrets.txt" \
  MFA_E2E_MOTO_URL="$endpoint" MFA_E2E_VOICE_URL="http://127.0.0.1:$voice_port" MFA_E2E_WEBAUTHN_ORIGIN="https://login.localhost" cargo test --locked -q --test e2e -- --include-ignored
python3 tests/no_secret_logged.py "$work/lambda-secrets.txt" "$work/lambda.log"

# The functions' metrics are CloudWatch Embedded Metric Format lines in their output.
python3 - "$work/lambda.log" <<'PY'
import json, sys
seen = {}
for line in open(sys.argv[1], errors="replace"):
    start = line.find('{"_aws"')
    if start < 0:
        continue
    doc = json.loads(line[start:])
    for directive in doc["_aws"]["CloudWatchMetrics"]:
        assert directive["Namespace"] == "MfaService", directive
        for metric in directive["Metrics"]:
            name = metric["Name"]
            dims = tuple(sorted((d, doc[d]) for ds in directive["Dimensions"] for d in ds))
            assert isinstance(doc[name], (int, float)), (name, doc)
            seen[(name, dims)] = seen.get((name, dims), 0) + doc[name]
want = [("mfa_cold_starts_total", ()),
        ("mfa_verifies_total", (("factor", "totp"), ("outcome", "passed"))),
        ("mfa_verifies_total", (("factor", "totp"), ("outcome", "rejected"))),
        ("mfa_lockouts_total", (("budget", "second_factor"),)),
        ("mfa_messages_sent_total", (("channel", "sms"),))]
missing = [w for w in want if seen.get(w, 0) <= 0]
assert not missing, f"no EMF metric {missing}; seen {sorted(seen)}"
print(f"EMF: {len(seen)} metrics with dimensions, each expected one counted")
PY

echo "-- cargo lambda invoke with API Gateway events (functions/verify/events/)"
invoke() { cargo lambda invoke mfa-verify --invoke-address 127.0.0.1 --invoke-port "$lambda_port" --data-file "$1"; }
invoke functions/verify/events/jwks.json | python3 -c '
import json, sys
answer = json.load(sys.stdin)
assert answer["statusCode"] == 200, answer
assert json.loads(answer["body"])["keys"][0]["crv"] == "Ed25519", answer
print("jwks event: 200 with an Ed25519 key")'
invoke functions/verify/events/login.json | python3 -c '
import json, sys
answer = json.load(sys.stdin)
assert answer["statusCode"] == 401, answer
assert answer["headers"]["content-type"] == "application/problem+json", answer
print("login event with a wrong API key: 401 problem+json")'
