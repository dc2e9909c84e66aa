//! End-to-end tests over HTTP against a running stack (see `mfa_e2e::Stack`). They are ignored
//! by a plain `cargo test`; `scripts/test.d/40-e2e.sh` starts mfa-local, and the Lambda functions
//! under `cargo lambda watch` over moto, and runs them against each with `--include-ignored`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api_keys;
mod bad_input;
mod concurrent;
mod messaging;
mod orgs;
mod sms_email;
mod totp_flow;
mod webauthn;
mod webhook;
mod wire;

use mfa_e2e::Stack;

/// The stack, or a clear failure when a test is run without one.
pub fn stack() -> Stack {
    Stack::from_env().expect("MFA_E2E_BASE_URL is not set: run scripts/test.d/40-e2e.sh")
}
