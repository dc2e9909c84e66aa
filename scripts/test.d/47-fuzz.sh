#!/usr/bin/env bash
# The API under a fuzzer: schemathesis (pinned in scripts/env.sh, installed into the project's
# virtualenv when missing) generates requests for every operation of the OpenAPI document that
# mfa-local serves (GET /v1/openapi.json, with the API key), valid and invalid ones, and fails on
# any server error, status code or content type the document does not list, or body that does
# not match its schema. A fixed seed and number of cases per operation make each run the same
# and bound its time (about a minute and a half). mfa-local runs on a free port over a fresh
# data dir, with an inbound SNS topic so that the SMS webhook checks what it is sent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

ensure_pip_packages "schemathesis==$SCHEMATHESIS_VERSION"

start_mfa_local MFA_ISSUER_NAME="Acme" MFA_INBOUND_TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:mfa-inbound"

# From the work dir, so that nothing schemathesis writes lands in the clone.
cd "$work"
schemathesis run "http://127.0.0.1:$port/v1/openapi.json" \
  --header "Authorization: Bearer $api_key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --seed 20260 --max-examples 400 --workers 1 --generation-database none \
  --request-timeout 10 --no-color
