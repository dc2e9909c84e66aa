//! What the domain's operations answer, in domain types. `crate::http` turns them into the wire
//! bodies of `crate::api`; nothing here knows JSON field names.

use crate::ids::{ChallengeId, LoginId, UserId};
use crate::model::{Decision, Factor};

/// What an authenticator app needs to be set up: shown once, at enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSetup {
    /// The secret in base32, for typing in by hand.
    pub secret: String,
    /// The `otpauth://` URI.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG image.
    pub qr_svg: String,
}

/// A factor just enrolled (pending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    /// The pending factor.
    pub factor: Factor,
    /// TOTP: what the app needs.
    pub app_setup: Option<AppSetup>,
    /// SMS and email: when the code sent to confirm it expires.
    pub code_expires_at: Option<u64>,
    /// WebAuthn: the creation options for `navigator.credentials.create()` (`{"publicKey":..}`).
    pub creation_options: Option<serde_json::Value>,
}

/// A factor just activated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activated {
    /// The active factor.
    pub factor: Factor,
    /// With the user's first factor (or after the last code was used): recovery codes, shown once.
    pub recovery_codes: Option<Vec<String>>,
}

/// The login decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginDecision {
    /// What the login backend does next.
    pub decision: Decision,
    /// The login that challenges belong to.
    pub login_id: LoginId,
    /// The user's active factors to choose from.
    pub factors: Vec<Factor>,
}

/// A challenge started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenged {
    /// The challenge to verify.
    pub challenge_id: ChallengeId,
    /// When it expires.
    pub expires_at: u64,
    /// How the proof reaches the user: the kind of the factor challenged, or `voice` for a call.
    pub delivery: &'static str,
    /// WebAuthn: the request options for `navigator.credentials.get()` (`{"publicKey":..}`).
    pub request_options: Option<serde_json::Value>,
}

/// An MFA token just issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The signed token.
    pub token: String,
    /// When it expires.
    pub expires_at: u64,
}

/// A recovery code accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryUsed {
    /// The MFA token it earned.
    pub token: IssuedToken,
    /// Codes left in the set.
    pub remaining: usize,
    /// When asked for: a step-up token to add a factor, proved by the same code.
    pub step_up: Option<IssuedToken>,
}

/// A passwordless sign-in started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyChallenge {
    /// The sign-in to verify.
    pub challenge_id: ChallengeId,
    /// When it expires.
    pub expires_at: u64,
    /// The request options for `navigator.credentials.get()` (`{"publicKey":..}`): any
    /// discoverable passkey of this site may answer.
    pub request_options: serde_json::Value,
}

/// A passwordless sign-in finished: whose passkey it was, and their MFA token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeySignedIn {
    /// The user the passkey belongs to.
    pub user: UserId,
    /// The MFA token.
    pub token: IssuedToken,
}

/// Where a phone change stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneChange {
    /// A code went to the new number: verify it with this challenge.
    VerifyNewNumber {
        /// The challenge.
        challenge_id: ChallengeId,
        /// When it expires.
        expires_at: u64,
    },
    /// The factor now uses the new number.
    Changed {
        /// The factor.
        factor: Factor,
    },
}
