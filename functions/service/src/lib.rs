//! # mfa-service
//!
//! The MFA service: the domain over narrow ports, the HTTP API (one axum router per function
//! group), and the adapters (DynamoDB and an embedded store). The binaries under `functions/`
//! only read configuration and call [`runtime`].
//!
//! | module | what |
//! |---|---|
//! | [`domain`] | enrollment, login decision, challenges, verification, recovery codes, management |
//! | [`ports`] | the store traits and the clock the domain needs |
//! | [`model`] | the records the stores keep |
//! | [`api`] | request and response bodies, with OpenAPI schemas |
//! | [`http`] | routers, handlers, authentication, the problem+json mapping, OpenAPI |
//! | [`store`] | the DynamoDB and embedded adapters |
//! | [`senders`] | SMS over SNS, email over SES v2, and the local outbox |
//! | [`sns`] | verifying the SNS messages the inbound SMS webhook receives |
//! | [`token`] | MFA tokens (EdDSA JWT) and the JWKS |
//! | [`sealed`] | AES-256-GCM sealing of secrets at rest |
//! | [`api_key`] | hashed, scoped API keys |
//! | [`config`] | configuration from the environment |
//! | [`runtime`] | start-up: logging, Lambda and local serving |

pub mod api;
pub mod api_key;
pub mod config;
pub mod domain;
pub mod http;
mod ids;
pub mod model;
pub mod ports;
pub mod runtime;
pub mod sealed;
pub mod senders;
pub mod sns;
pub mod store;
pub mod token;
