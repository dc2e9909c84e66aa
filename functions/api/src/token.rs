//! The claims of an MFA token: an EdDSA (Ed25519) JWT with `typ` `JWT`, signed by one of the
//! keys of the service's JWKS (`GET /.well-known/jwks.json`).

use serde::{Deserialize, Serialize};

/// The claims of an MFA token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaClaims {
    /// Issuer.
    pub iss: String,
    /// The user.
    pub sub: String,
    /// Audiences.
    pub aud: Vec<String>,
    /// Authentication methods (RFC 8176).
    pub amr: Vec<String>,
    /// When the factor was verified (Unix seconds).
    pub auth_time: u64,
    /// Issued at.
    pub iat: u64,
    /// Expires at.
    pub exp: u64,
    /// The factor id that was verified (`recovery_code` for a recovery code).
    pub fid: String,
    /// Token id.
    pub jti: String,
}
