//! The JSON bodies of HTTP API v1: requests the domain takes and answers it gives, with their
//! OpenAPI schemas. Unknown fields are refused, so a typo is an error rather than ignored.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{Factor, FactorKind, FactorStatus, OrgPolicy};

/// `POST /v1/users/{user}/factors`: what to enroll.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EnrollRequest {
    /// An authenticator app.
    Totp {
        /// A name for the factor ("Phone").
        #[serde(default)]
        label: Option<String>,
        /// The account name the app shows after the issuer (an email address, say); defaults to
        /// the user id.
        #[serde(default)]
        account_name: Option<String>,
    },
}

/// A factor as callers see it: never a secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FactorView {
    /// Factor id.
    pub id: String,
    /// Kind.
    #[serde(rename = "type")]
    pub kind: FactorKind,
    /// Pending or active.
    pub status: FactorStatus,
    /// The user's name for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Enrolled at (Unix seconds).
    pub created_at: u64,
    /// Activated at (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<u64>,
}

impl From<&Factor> for FactorView {
    fn from(f: &Factor) -> Self {
        Self {
            id: f.id.clone(),
            kind: f.kind,
            status: f.status,
            label: f.label.clone(),
            created_at: f.created_at,
            activated_at: f.activated_at,
        }
    }
}

/// `201` of enrollment: the pending factor, and for TOTP what the app needs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnrollResponse {
    /// The pending factor.
    pub factor: FactorView,
    /// TOTP: the secret in base32, for typing into an app by hand.
    pub secret: String,
    /// TOTP: the `otpauth://` URI.
    pub otpauth_uri: String,
    /// TOTP: the URI as a QR code, an SVG image.
    pub qr_svg: String,
}

/// `POST .../activate` and `.../verify`: a code the user typed.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The code, e.g. `123456`; spaces are ignored.
    pub code: String,
}

/// `200` of activation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivateResponse {
    /// The now active factor.
    pub factor: FactorView,
    /// With the user's first active factor: recovery codes, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

/// `GET /v1/users/{user}/factors`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FactorList {
    /// The user's factors, oldest first.
    pub factors: Vec<FactorView>,
}

/// How the user signed in before asking for a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// Username and password: a second factor applies.
    Password,
    /// Single sign-on: the identity provider handles MFA.
    Sso,
}

/// `POST /v1/users/{user}/login`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// How the first factor was checked.
    pub auth_method: AuthMethod,
    /// The organisation signed in to, whose policy applies.
    #[serde(default)]
    pub org_id: Option<String>,
    /// An MFA token the user already holds (from another app of the same SaaS).
    #[serde(default)]
    pub mfa_token: Option<String>,
}

/// What the login backend should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Let the user in.
    Allow,
    /// Ask for one of `factors`.
    Challenge,
    /// Let the user in, and suggest enrolling a factor.
    EnrollSuggested,
    /// The organisation requires MFA: the user must enroll before signing in.
    EnrollRequired,
}

/// `200` of the login decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoginResponse {
    /// What to do next.
    pub decision: Decision,
    /// The login that challenges belong to.
    pub login_id: String,
    /// The user's active factors to choose from.
    pub factors: Vec<FactorView>,
}

/// `POST /v1/users/{user}/challenges`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    /// From the login decision.
    pub login_id: String,
    /// The factor to prove.
    pub factor_id: String,
}

/// `201` of a challenge.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChallengeResponse {
    /// Challenge id, to verify against.
    pub challenge_id: String,
    /// When it expires (Unix seconds).
    pub expires_at: u64,
    /// How the code reaches the user: `totp` means the user's app shows it.
    pub delivery: String,
}

/// `200` of a successful verification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The MFA token (EdDSA JWT); check it against `/.well-known/jwks.json`.
    pub mfa_token: String,
    /// When it expires (Unix seconds).
    pub expires_at: u64,
}

/// `POST /v1/users/{user}/recovery-codes/verify`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryVerifyRequest {
    /// The recovery code, in any case, with or without dashes.
    pub code: String,
    /// The login it is used in, if any.
    #[serde(default)]
    pub login_id: Option<String>,
}

/// `200` of a recovery code.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecoveryVerifyResponse {
    /// The MFA token.
    pub mfa_token: String,
    /// When it expires (Unix seconds).
    pub expires_at: u64,
    /// Codes left in the set.
    pub remaining: usize,
}

/// `201` of a new set of recovery codes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecoveryCodesResponse {
    /// The codes, shown once; the previous set no longer works.
    pub recovery_codes: Vec<String>,
}

/// `PUT /v1/admin/orgs/{org}/policy` body and answer.
pub type PolicyBody = OrgPolicy;
