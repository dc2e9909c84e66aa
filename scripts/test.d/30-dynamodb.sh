#!/usr/bin/env bash
# The store conformance suite and the WebAuthn flows with their DynamoDB halves: starts (or
# reuses) a moto server and runs every test of both, the ones a plain `cargo test` ignores
# included.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

endpoint="$(scripts/moto.sh)"
MFA_TEST_DYNAMODB_ENDPOINT="$endpoint" \
  cargo test --locked -p mfa-service --test conformance --test webauthn -- --include-ignored
