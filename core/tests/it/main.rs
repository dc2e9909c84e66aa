//! mfa-core's integration tests: the RFC test vectors and property tests, one test binary.
#![allow(missing_docs, clippy::unwrap_used)]

mod properties;
mod rfc_vectors;
