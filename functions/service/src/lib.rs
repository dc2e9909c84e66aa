//! # mfa-service
//!
//! The MFA service: the domain over narrow ports, the HTTP API (one axum router per function
//! group), and the adapters (DynamoDB and an embedded store). The binaries under `functions/`
//! only read configuration and call [`runtime`].
//!
//! What each module holds, the path of a request and the stored layout are described once, in
//! the repository's `docs/architecture.md`.

pub use mfa_api as api;
pub mod api_key;
pub mod config;
pub mod domain;
pub mod http;
pub mod http_client;
pub mod ids;
pub mod model;
pub mod ports;
pub mod runtime;
pub mod sealed;
pub mod secret;
pub mod senders;
pub mod sns_verify;
pub mod store;
pub mod telemetry;
pub mod token;
