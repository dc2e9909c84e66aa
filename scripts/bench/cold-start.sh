#!/usr/bin/env bash
# Cold starts of the five Lambda functions: builds their release binaries for this machine,
# starts moto (DynamoDB and Secrets Manager), makes a table and a secret holding the keys, and
# runs scripts/bench/cold_start.py, which times each function from spawn to its first posted
# response against a local Lambda Runtime API, RUNS times each (default 10).
# Usage: scripts/bench/cold-start.sh [RUNS]. A benchmark, not a test: scripts/test-all.sh does not
# run it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/env.sh

runs="${1:-10}"
cargo build --release --locked -q -p mfa-verify -p mfa-enroll -p mfa-manage -p mfa-admin -p mfa-sms-webhook
endpoint="$(scripts/moto.sh)"
api_key="mfa_cold_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
secret_arn="$(python3 - "$endpoint" "$api_key" <<'PY'
import base64, hashlib, json, os, sys, time, boto3
endpoint, api_key = sys.argv[1], sys.argv[2]
aws = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
           aws_secret_access_key="test")
table = "mfa-cold-start"
db = boto3.client("dynamodb", **aws)
if table not in db.list_tables()["TableNames"]:
    db.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                               {"AttributeName": "sk", "KeyType": "RANGE"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                          {"AttributeName": "sk", "AttributeType": "S"}])
key = lambda kid: f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"
secret = {"MFA_API_KEYS": "admin:" + hashlib.sha256(api_key.encode()).hexdigest(),
          "MFA_DATA_KEYS": key("data"), "MFA_SIGNING_KEYS": key("sig"), "MFA_CODE_KEY": key("code")}
made = boto3.client("secretsmanager", **aws).create_secret(
    Name=f"mfa-cold-start-{time.time_ns()}", SecretString=json.dumps(secret))
print(made["ARN"])
PY
)"
python3 scripts/bench/cold_start.py "$CARGO_TARGET_DIR/release" "$endpoint" "$secret_arn" \
  mfa-cold-start "$api_key" "$runs"
