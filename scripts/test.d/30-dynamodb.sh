#!/usr/bin/env bash
# The store conformance suite with its DynamoDB half: starts (or reuses) a moto server and runs
# every conformance test, the ones a plain `cargo test` ignores included.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

endpoint="$(scripts/moto.sh)"
MFA_TEST_DYNAMODB_ENDPOINT="$endpoint" \
  cargo test --locked -p mfa-service --test conformance -- --include-ignored
