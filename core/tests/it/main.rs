//! mfa-core's integration tests: the RFC test vectors, the vectors shared with mfa_pg and property
//! tests, one test binary.
#![allow(missing_docs, clippy::unwrap_used)]

mod properties;
mod rfc_vectors;
mod shared_vectors;
