//! # mfa-api
//!
//! The wire format of the MFA service's HTTP API v1, shared by the service (which answers with
//! it and generates its OpenAPI schemas from it) and its clients (`mfa-client`, the `mfa` CLI):
//! the request and response bodies ([`bodies`]), the named values in them ([`kinds`]), the
//! problem document of every error answer ([`problem`]) and the claims of an MFA token
//! ([`token`]). Types only: no I/O.

pub mod bodies;
pub mod kinds;
pub mod problem;
pub mod token;

pub use bodies::*;
pub use kinds::*;
pub use problem::Problem;
pub use token::MfaClaims;
