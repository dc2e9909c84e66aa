#!/usr/bin/env bash
# The store conformance suite, the WebAuthn flows with their DynamoDB halves and the count of
# DynamoDB requests per sign-in flow (tests/requests.rs), the SMS webhook's rules (tests/webhook.rs), the sign-in and step-up rules (tests/rules/): starts (or
# reuses) a moto server and runs every test of both, the ones a plain `cargo test` ignores
# included. The test targets are picked from the whole workspace (no `-p`), so that they build
# with the features `cargo test` unified and reuse what it compiled.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=scripts/env.sh
source scripts/env.sh

endpoint="$(scripts/moto.sh)"
MFA_TEST_DYNAMODB_ENDPOINT="$endpoint" \
  cargo test --locked --test conformance --test webauthn --test requests --test webhook --test rules -- --include-ignored
