//! The named values of the API: the kinds of factor, statuses, decisions, operations, audit
//! actions and API key scopes, shared by the service and its clients.

use serde::{Deserialize, Serialize};

/// The kind of a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FactorKind {
    /// An authenticator app (TOTP, RFC 6238).
    Totp,
    /// Codes by text message to a phone number.
    Sms,
    /// Codes by email.
    Email,
    /// A WebAuthn security key or passkey.
    Webauthn,
}

impl FactorKind {
    /// The kind's name in the API: `totp`, `sms`, `email` or `webauthn`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Sms => "sms",
            Self::Email => "email",
            Self::Webauthn => "webauthn",
        }
    }
}

/// The two kinds of WebAuthn credential a user can enroll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebauthnKind {
    /// A roaming security key: not discoverable, user verification preferred.
    SecurityKey,
    /// A passkey: discoverable, user verification required.
    Passkey,
}

/// Whether a factor can be used yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FactorStatus {
    /// Enrolled but not yet confirmed with a code: it can't be used to sign in.
    Pending,
    /// Confirmed and usable.
    Active,
}

/// The changes that need a step-up: a fresh proof of a factor, asked for that change alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Enroll a factor next to an active one: proved by any active factor, or a recovery code
    /// (the way back after losing a device).
    AddFactor,
    /// Delete an active factor: proved by that factor.
    DeleteFactor,
    /// Replace the recovery codes: proved by any active factor, not a recovery code (the new
    /// set ends the old).
    NewRecoveryCodes,
    /// Change an SMS factor's number: proved by that factor (a code to the old number).
    ChangePhone,
}

impl Operation {
    /// Whether the operation is to one factor, which must then be named, and which alone proves
    /// it.
    pub fn has_target(self) -> bool {
        matches!(self, Self::DeleteFactor | Self::ChangePhone)
    }

    /// Whether a recovery code may prove it.
    pub fn recovery_code_may_prove(self) -> bool {
        self == Self::AddFactor
    }
}

/// How the user signed in before asking for a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// Username and password: a second factor applies.
    Password,
    /// Single sign-on: the identity provider handles MFA.
    Sso,
    /// A passkey alone (passwordless): `mfa_token` must be the token of its verification.
    Passkey,
}

/// What the login backend should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// The kinds of audit events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A factor was enrolled (pending).
    FactorEnrolled,
    /// A factor was activated.
    FactorActivated,
    /// The user deleted a factor, with step-up.
    FactorDeleted,
    /// An administrator reset (deleted) a factor.
    FactorReset,
    /// An SMS factor's number was changed.
    PhoneChanged,
    /// A second factor was verified at sign-in.
    Verified,
    /// A code was refused at sign-in.
    VerifyFailed,
    /// A recovery code was used.
    RecoveryCodeUsed,
    /// A new set of recovery codes replaced the old one.
    RecoveryCodesReplaced,
    /// An administrator lifted a lockout.
    Unlocked,
    /// A WebAuthn key answered with a signature counter below the one stored: refused, as the
    /// key may have been cloned.
    WebauthnCounterRegressed,
    /// A step-up token was issued for one change.
    SteppedUp,
}

/// How a phone factor's code reaches the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// A text message.
    #[default]
    Sms,
    /// A phone call that reads the code out.
    Voice,
}

/// One thing a key may do: call one function group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The login decision, challenges, verification, step-ups, recovery codes, passkey sign-in.
    Verify,
    /// Enrolling and activating factors.
    Enroll,
    /// Listing and deleting factors, new recovery codes, phone changes.
    Manage,
    /// Administration: resets, unlocks, audit, org policies and memberships, API keys.
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 4] = [Scope::Verify, Scope::Enroll, Scope::Manage, Scope::Admin];

    /// The scope's name: `verify`, `enroll`, `manage` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Enroll => "enroll",
            Self::Manage => "manage",
            Self::Admin => "admin",
        }
    }
}
