//! The records the service keeps, as the stores hold them.
//!
//! Times are Unix seconds. Secrets appear only sealed ([`crate::sealed::Sealed`]) and codes only
//! hashed; these types are what both store adapters persist, so a field added here must be
//! optional (`#[serde(default)]`) to keep reading records written before it.

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
}

impl FactorKind {
    /// The kind's name in the API: `totp`, `sms` or `email`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Sms => "sms",
            Self::Email => "email",
        }
    }

    /// The RFC 8176 `amr` value of a successful verification with this kind.
    pub fn amr(self) -> &'static str {
        match self {
            Self::Totp => "otp",
            Self::Sms => "sms",
            Self::Email => "otp",
        }
    }
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

/// A user's second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factor {
    /// Factor id (`fac_...`).
    pub id: String,
    /// The SaaS's own user id.
    pub user: String,
    /// The kind of factor.
    pub kind: FactorKind,
    /// Pending or active.
    pub status: FactorStatus,
    /// A name the user gave it ("Work phone").
    #[serde(default)]
    pub label: Option<String>,
    /// When it was enrolled.
    pub created_at: u64,
    /// When it was activated.
    #[serde(default)]
    pub activated_at: Option<u64>,
    /// TOTP: the shared secret, sealed.
    #[serde(default)]
    pub secret: Option<String>,
    /// TOTP: the last time step accepted; a step at or below it is a replay.
    #[serde(default)]
    pub last_step: Option<u64>,
    /// SMS: the phone number, E.164.
    #[serde(default)]
    pub phone: Option<String>,
    /// Email: the address.
    #[serde(default)]
    pub email: Option<String>,
    /// SMS and email, while pending: the challenge whose code activates the factor.
    #[serde(default)]
    pub activation_challenge: Option<String>,
}

impl Factor {
    /// Puts `factors` in the order [`crate::ports::FactorStore::list_factors`] promises: oldest
    /// first, ties broken by id.
    pub fn sort_oldest_first(factors: &mut [Factor]) {
        factors.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    }
}

/// The user's current set of recovery codes: Argon2id PHC hashes, and which are used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverySet {
    /// Set id (`rcs_...`): consuming a code names the set, so a replaced set's codes stay dead.
    pub id: String,
    /// PHC hashes, in the order the codes were shown.
    pub hashes: Vec<String>,
    /// Indexes into `hashes` of the codes already used.
    #[serde(default)]
    pub used: Vec<u32>,
    /// When the set was made.
    pub created_at: u64,
}

impl RecoverySet {
    /// How many codes are left.
    pub fn remaining(&self) -> usize {
        self.hashes.len().saturating_sub(self.used.len())
    }
}

/// A sign-in in progress: made by the login decision, named by its challenges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// Login id (`lgn_...`).
    pub id: String,
    /// Whose login it is.
    pub user: String,
    /// When it was made.
    pub created_at: u64,
    /// When it stops being accepted.
    pub expires_at: u64,
    /// Whether a text message was sent in this login (at most one is).
    #[serde(default)]
    pub sms_sent: bool,
}

/// What a challenge is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChallengePurpose {
    /// A second factor within a login.
    #[default]
    Login,
    /// The first code of a new SMS or email factor.
    Activation,
    /// A phone change, first step: a code sent to the old number.
    PhoneChangeOld,
    /// A phone change, second step: a code sent to the new number.
    PhoneChangeNew,
}

/// A request for one factor's proof within a login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Challenge id (`chl_...`).
    pub id: String,
    /// Whose challenge it is.
    pub user: String,
    /// The login it belongs to.
    pub login_id: String,
    /// The factor that must answer it.
    pub factor_id: String,
    /// When it was made.
    pub created_at: u64,
    /// When it stops being accepted.
    pub expires_at: u64,
    /// When it was answered; an answered challenge is never accepted again.
    #[serde(default)]
    pub consumed_at: Option<u64>,
    /// What it is for.
    #[serde(default)]
    pub purpose: ChallengePurpose,
    /// SMS and email: the keyed hash of the code sent (hex), never the code.
    #[serde(default)]
    pub code_hash: Option<String>,
    /// Wrong codes tried so far.
    #[serde(default)]
    pub attempts: u32,
    /// Phone change: the new number.
    #[serde(default)]
    pub new_phone: Option<String>,
}

/// An organisation's MFA policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OrgPolicy {
    /// Members must enroll a second factor before they may sign in.
    pub require_mfa: bool,
    /// With `require_mfa`: how many sign-ins a member without a factor still gets, each answered
    /// `enroll_suggested`, before enrolling is required.
    #[serde(default)]
    pub grace_logins: u32,
}

/// What happened to a user's second factors: one entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Unique id (`aud_...`).
    pub id: String,
    /// The user it happened to.
    pub user: String,
    /// When (Unix seconds).
    pub at: u64,
    /// What happened.
    pub action: AuditAction,
    /// The factor concerned, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor_id: Option<String>,
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
}

/// The answer of [`crate::ports::ThrottleStore::begin_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Go ahead; the attempt has been counted as a failure until [`crate::ports::ThrottleStore::succeed`].
    Allowed,
    /// Locked until this Unix time (`u64::MAX`: blocked until an administrator resets it).
    Locked {
        /// Unix time the lock ends.
        until: u64,
    },
}
