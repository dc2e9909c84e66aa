//! The records the service keeps: the domain's types, and how the stores hold them.
//!
//! Times are Unix seconds. Secrets appear only sealed ([`crate::sealed`]) and codes only hashed.
//! Both store adapters persist these types through serde. [`Factor`] and [`Challenge`] are typed
//! (a method or purpose carries its own data) but stored flat, one attribute per field, through
//! [`FactorRecord`] and [`ChallengeRecord`], the layout of `docs/architecture.md`, so records
//! written before stay readable; a field added to a record must be optional
//! (`#[serde(default)]`) for the same reason.

use serde::{Deserialize, Serialize};

use crate::api_key::Scope;
pub use mfa_api::{
    AuditAction, AuthMethod, Decision, Delivery, FactorKind, FactorStatus, Operation, WebauthnKind,
};

use crate::ids::{ChallengeId, FactorId, KeyId, LoginId, OrgId, UserId};

/// A registered WebAuthn credential, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnKey {
    /// The credential id, base64url without padding.
    pub credential_id: String,
    /// The credential (public key, counter, backup state, policy) as `webauthn-rs` serialises
    /// it; `crate::domain` reads and updates it.
    pub credential: String,
}

/// A user's second factor: what every factor has, and its [`Method`] with the method's own data.
///
/// Stored flat, one attribute per field, as [`FactorRecord`]: see [`crate::model`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "FactorRecord", try_from = "FactorRecord")]
pub struct Factor {
    /// Factor id (`fac_...`).
    pub id: FactorId,
    /// The SaaS's own user id.
    pub user: UserId,
    /// Pending or active.
    pub status: FactorStatus,
    /// A name the user gave it ("Work phone").
    pub label: Option<String>,
    /// When it was enrolled.
    pub created_at: u64,
    /// When it was activated.
    pub activated_at: Option<u64>,
    /// Whether it was enrolled with a step-up token for `add_factor`. One enrolled without (the
    /// user's first) is activated only while the user has no active factor.
    pub enrolled_with_step_up: bool,
    /// How the factor proves the user, with what that needs.
    pub method: Method,
}

/// How long a factor may wait for activation, in seconds: a pending factor older than this is
/// refused and deleted (in DynamoDB, its item also carries a `ttl`).
pub const PENDING_FACTOR_TTL: u64 = 3600;

/// The kinds of second factor, each with its own data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// An authenticator app.
    Totp {
        /// The shared secret, sealed ([`crate::sealed`]).
        secret: String,
        /// The last time step accepted; a step at or below it is a replay.
        last_step: Option<u64>,
    },
    /// Codes by text message.
    Sms {
        /// The phone number, E.164.
        phone: String,
        /// While pending: the challenge whose code activates the factor.
        activation: Option<ChallengeId>,
    },
    /// Codes by email.
    Email {
        /// The address.
        email: String,
        /// While pending: the challenge whose code activates the factor.
        activation: Option<ChallengeId>,
    },
    /// A WebAuthn security key or passkey.
    Webauthn {
        /// Security key or passkey.
        kind: WebauthnKind,
        /// Once registered (active): the credential.
        key: Option<WebauthnKey>,
        /// While pending: the challenge holding the registration ceremony's state.
        activation: Option<ChallengeId>,
    },
}

impl Factor {
    /// The kind of factor.
    pub fn kind(&self) -> FactorKind {
        match self.method {
            Method::Totp { .. } => FactorKind::Totp,
            Method::Sms { .. } => FactorKind::Sms,
            Method::Email { .. } => FactorKind::Email,
            Method::Webauthn { .. } => FactorKind::Webauthn,
        }
    }

    /// The challenge that activates this pending factor, for the kinds that have one.
    pub fn activation(&self) -> Option<&ChallengeId> {
        match &self.method {
            Method::Totp { .. } => None,
            Method::Sms { activation, .. }
            | Method::Email { activation, .. }
            | Method::Webauthn { activation, .. } => activation.as_ref(),
        }
    }

    /// Puts `factors` in the order [`crate::ports::FactorStore::list_factors`] promises: oldest
    /// first, ties broken by id.
    pub fn sort_oldest_first(factors: &mut [Factor]) {
        factors.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    }
}

/// A [`Factor`] as both stores keep it: flat, every method's fields optional. Records written
/// before the typed model load unchanged; a record whose fields don't fit its kind is refused
/// as corrupt when read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FactorRecord {
    id: FactorId,
    user: UserId,
    kind: FactorKind,
    status: FactorStatus,
    #[serde(default)]
    label: Option<String>,
    created_at: u64,
    #[serde(default)]
    activated_at: Option<u64>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    last_step: Option<u64>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    activation_challenge: Option<ChallengeId>,
    #[serde(default)]
    webauthn_kind: Option<WebauthnKind>,
    #[serde(default)]
    credential_id: Option<String>,
    #[serde(default)]
    credential: Option<String>,
    #[serde(default)]
    enrolled_with_step_up: bool,
}

impl From<Factor> for FactorRecord {
    fn from(f: Factor) -> Self {
        let kind = f.kind();
        let mut record = FactorRecord {
            id: f.id,
            user: f.user,
            kind,
            status: f.status,
            label: f.label,
            created_at: f.created_at,
            activated_at: f.activated_at,
            enrolled_with_step_up: f.enrolled_with_step_up,
            secret: None,
            last_step: None,
            phone: None,
            email: None,
            activation_challenge: None,
            webauthn_kind: None,
            credential_id: None,
            credential: None,
        };
        match f.method {
            Method::Totp { secret, last_step } => {
                record.secret = Some(secret);
                record.last_step = last_step;
            }
            Method::Sms { phone, activation } => {
                record.phone = Some(phone);
                record.activation_challenge = activation;
            }
            Method::Email { email, activation } => {
                record.email = Some(email);
                record.activation_challenge = activation;
            }
            Method::Webauthn { kind, key, activation } => {
                record.webauthn_kind = Some(kind);
                record.activation_challenge = activation;
                if let Some(key) = key {
                    record.credential_id = Some(key.credential_id);
                    record.credential = Some(key.credential);
                }
            }
        }
        record
    }
}

impl TryFrom<FactorRecord> for Factor {
    type Error = String;

    fn try_from(r: FactorRecord) -> Result<Self, String> {
        let missing = |field: &str| format!("{} factor {} has no {field}", r.kind.as_str(), r.id);
        let method = match r.kind {
            FactorKind::Totp => Method::Totp {
                secret: r.secret.clone().ok_or_else(|| missing("secret"))?,
                last_step: r.last_step,
            },
            FactorKind::Sms => Method::Sms {
                phone: r.phone.clone().ok_or_else(|| missing("phone"))?,
                activation: r.activation_challenge.clone(),
            },
            FactorKind::Email => Method::Email {
                email: r.email.clone().ok_or_else(|| missing("email"))?,
                activation: r.activation_challenge.clone(),
            },
            FactorKind::Webauthn => Method::Webauthn {
                kind: r.webauthn_kind.ok_or_else(|| missing("webauthn_kind"))?,
                key: match (r.credential_id.clone(), r.credential.clone()) {
                    (Some(credential_id), Some(credential)) => {
                        Some(WebauthnKey { credential_id, credential })
                    }
                    (None, None) => None,
                    _ => return Err(missing("credential id or credential")),
                },
                activation: r.activation_challenge.clone(),
            },
        };
        Ok(Factor {
            id: r.id,
            user: r.user,
            status: r.status,
            label: r.label,
            created_at: r.created_at,
            activated_at: r.activated_at,
            enrolled_with_step_up: r.enrolled_with_step_up,
            method,
        })
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
    pub id: LoginId,
    /// Whose login it is.
    pub user: UserId,
    /// When it was made.
    pub created_at: u64,
    /// When it stops being accepted.
    pub expires_at: u64,
    /// Whether a text message was sent in this login (at most one is).
    #[serde(default)]
    pub sms_sent: bool,
    /// Whether a code was read out in a call in this login (at most one is).
    #[serde(default)]
    pub call_made: bool,
    /// The factor kinds the user's orgs allow in this login; `None`: every kind.
    #[serde(default)]
    pub allowed_factors: Option<Vec<FactorKind>>,
    /// The lifetime of the MFA token this login earns, when the orgs' is shorter than the
    /// service's.
    #[serde(default)]
    pub token_ttl: Option<u64>,
}

/// What a challenge is for, with what that purpose needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengePurpose {
    /// A second factor within a login.
    Login {
        /// The login.
        login_id: LoginId,
        /// The lifetime of the MFA token it earns, when the user's orgs want it shorter.
        token_ttl: Option<u64>,
    },
    /// The first code of a new SMS or email factor.
    Activation,
    /// A phone change, after the step-up from the old number: a code sent to the new number.
    PhoneChange {
        /// The number to change to (E.164).
        new_phone: String,
    },
    /// A step-up: a fresh proof of a factor, asked for one change.
    StepUp {
        /// The change it allows.
        operation: Operation,
        /// The factor the change is to (deleting a factor, changing its number).
        target: Option<FactorId>,
    },
}

/// What answers a challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A code of the factor's authenticator app (TOTP).
    AppCode {
        /// The factor's sealed secret, copied when the challenge was made so that checking a
        /// code needs no read of the factor (the factor's own write still guards replays and
        /// deletion). `None` in challenges stored before the copy: the factor is read.
        secret: Option<String>,
    },
    /// The code the service sent by SMS or email.
    SentCode {
        /// The keyed hash of the code sent (hex), never the code.
        hash: String,
    },
    /// The code the service read out in a phone call.
    CalledCode {
        /// The keyed hash of the code (hex), never the code.
        hash: String,
    },
    /// A WebAuthn credential (registration) or assertion (sign-in) that fits this ceremony.
    Webauthn {
        /// The ceremony's state as `webauthn-rs` serialises it: kept here, never sent out.
        state: String,
    },
}

impl Answer {
    /// Whether the answer is a code the service sent (by text, call or email).
    pub fn is_sent_code(&self) -> bool {
        matches!(self, Self::SentCode { .. } | Self::CalledCode { .. })
    }
}

/// A request for one factor's proof.
///
/// Stored flat as [`ChallengeRecord`], as [`Factor`] is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ChallengeRecord", try_from = "ChallengeRecord")]
pub struct Challenge {
    /// Challenge id (`chl_...`).
    pub id: ChallengeId,
    /// Whose challenge it is.
    pub user: UserId,
    /// The factor that must answer it.
    pub factor_id: FactorId,
    /// When it was made.
    pub created_at: u64,
    /// When it stops being accepted.
    pub expires_at: u64,
    /// When it was answered; an answered challenge is never accepted again.
    pub consumed_at: Option<u64>,
    /// What it is for.
    pub purpose: ChallengePurpose,
    /// What answers it.
    pub answer: Answer,
    /// Wrong codes tried so far.
    pub attempts: u32,
    /// The kind of the factor that answers it (`None` in challenges stored before it was
    /// kept: the factor is read).
    pub factor_kind: Option<FactorKind>,
}

/// The stored names of [`ChallengePurpose`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum PurposeName {
    #[default]
    Login,
    Activation,
    PhoneChangeNew,
    StepUp,
}

/// A [`Challenge`] as both stores keep it: flat, as it was before the typed model (`login_id`
/// is empty outside a login; `new_phone` only in a phone change).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChallengeRecord {
    id: ChallengeId,
    user: UserId,
    #[serde(default)]
    login_id: String,
    factor_id: FactorId,
    created_at: u64,
    expires_at: u64,
    #[serde(default)]
    consumed_at: Option<u64>,
    #[serde(default)]
    purpose: PurposeName,
    #[serde(default)]
    code_hash: Option<String>,
    /// Whether the code was read out in a call (not sent as text).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    called: bool,
    #[serde(default)]
    attempts: u32,
    #[serde(default)]
    new_phone: Option<String>,
    #[serde(default)]
    webauthn_state: Option<String>,
    #[serde(default)]
    operation: Option<Operation>,
    #[serde(default)]
    target_factor_id: Option<FactorId>,
    #[serde(default)]
    token_ttl: Option<u64>,
    #[serde(default)]
    factor_kind: Option<FactorKind>,
    /// A TOTP challenge's copy of its factor's sealed secret.
    #[serde(default)]
    app_secret: Option<String>,
}

impl From<Challenge> for ChallengeRecord {
    fn from(c: Challenge) -> Self {
        let (mut operation, mut target_factor_id, mut token_ttl) = (None, None, None);
        let (purpose, login_id, new_phone) = match c.purpose {
            ChallengePurpose::Login { login_id, token_ttl: ttl } => {
                token_ttl = ttl;
                (PurposeName::Login, login_id.as_str().to_owned(), None)
            }
            ChallengePurpose::Activation => (PurposeName::Activation, String::new(), None),
            ChallengePurpose::PhoneChange { new_phone } => {
                (PurposeName::PhoneChangeNew, String::new(), Some(new_phone))
            }
            ChallengePurpose::StepUp { operation: op, target } => {
                (operation, target_factor_id) = (Some(op), target);
                (PurposeName::StepUp, String::new(), None)
            }
        };
        ChallengeRecord {
            id: c.id,
            user: c.user,
            login_id,
            factor_id: c.factor_id,
            created_at: c.created_at,
            expires_at: c.expires_at,
            consumed_at: c.consumed_at,
            purpose,
            code_hash: match &c.answer {
                Answer::SentCode { hash } | Answer::CalledCode { hash } => Some(hash.clone()),
                Answer::AppCode { .. } | Answer::Webauthn { .. } => None,
            },
            called: matches!(c.answer, Answer::CalledCode { .. }),
            app_secret: match &c.answer {
                Answer::AppCode { secret } => secret.clone(),
                _ => None,
            },
            webauthn_state: match c.answer {
                Answer::Webauthn { state } => Some(state),
                Answer::AppCode { .. } | Answer::SentCode { .. } | Answer::CalledCode { .. } => {
                    None
                }
            },
            factor_kind: c.factor_kind,
            attempts: c.attempts,
            new_phone,
            operation,
            target_factor_id,
            token_ttl,
        }
    }
}

impl TryFrom<ChallengeRecord> for Challenge {
    type Error = String;

    fn try_from(r: ChallengeRecord) -> Result<Self, String> {
        let missing = |field: &str| format!("challenge {} has no {field}", r.id);
        let purpose = match r.purpose {
            PurposeName::Login => ChallengePurpose::Login {
                login_id: LoginId::parse(&r.login_id).map_err(|_| missing("login id"))?,
                token_ttl: r.token_ttl,
            },
            PurposeName::Activation => ChallengePurpose::Activation,
            PurposeName::PhoneChangeNew => ChallengePurpose::PhoneChange {
                new_phone: r.new_phone.clone().ok_or_else(|| missing("new number"))?,
            },
            PurposeName::StepUp => ChallengePurpose::StepUp {
                operation: r.operation.ok_or_else(|| missing("operation"))?,
                target: r.target_factor_id.clone(),
            },
        };
        let answer = match (r.code_hash, r.webauthn_state) {
            (Some(hash), None) if r.called => Answer::CalledCode { hash },
            (Some(hash), None) => Answer::SentCode { hash },
            (None, Some(state)) => Answer::Webauthn { state },
            (None, None)
                if matches!(
                    purpose,
                    ChallengePurpose::Login { .. } | ChallengePurpose::StepUp { .. }
                ) =>
            {
                Answer::AppCode { secret: r.app_secret }
            }
            (None, None) => return Err(missing("code hash")),
            (Some(_), Some(_)) => return Err(format!("challenge {} has two answers", r.id)),
        };
        Ok(Challenge {
            id: r.id,
            user: r.user,
            factor_id: r.factor_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            consumed_at: r.consumed_at,
            purpose,
            answer,
            attempts: r.attempts,
            factor_kind: r.factor_kind,
        })
    }
}

/// A passwordless sign-in in progress: a WebAuthn ceremony that any discoverable passkey may
/// answer, before anyone knows whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeySignIn {
    /// Its id (`chl_...`).
    pub id: ChallengeId,
    /// When it was made.
    pub created_at: u64,
    /// When it stops being accepted.
    pub expires_at: u64,
    /// When it was answered; an answered sign-in is never accepted again.
    #[serde(default)]
    pub consumed_at: Option<u64>,
    /// The ceremony's state as `webauthn-rs` serialises it: kept here, never sent out.
    pub state: String,
}

/// An organisation's MFA policy. A user's sign-ins follow the strictest of the policies of the
/// orgs the user belongs to ([`OrgPolicy::strictest`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPolicy {
    /// Members must enroll a second factor before they may sign in.
    pub require_mfa: bool,
    /// With `require_mfa`: how many sign-ins a member without a factor still gets, each answered
    /// `enroll_suggested`, before enrolling is required.
    #[serde(default)]
    pub grace_logins: u32,
    /// The factor kinds members may enroll and sign in with; `None`: every kind.
    #[serde(default)]
    pub allowed_factors: Option<Vec<FactorKind>>,
    /// At most this many active factors per member (1: one method at a time); `None`: no limit.
    #[serde(default)]
    pub max_factors: Option<u32>,
    /// Whether a sign-in by SSO skips the second factor (the identity provider did MFA).
    #[serde(default = "exempt")]
    pub sso_exempt: bool,
    /// How long members' MFA tokens live, in seconds, when shorter than the service's.
    #[serde(default)]
    pub token_ttl_seconds: Option<u64>,
    /// Whether members are told by email (and a phone change by text to the old number) when
    /// their sign-in methods change, a recovery code is used, or sign-in locks.
    #[serde(default = "yes")]
    pub notices: bool,
}

fn exempt() -> bool {
    true
}

fn yes() -> bool {
    true
}

impl Default for OrgPolicy {
    /// No org: MFA not required, every factor kind, no limit, SSO exempt, the service's TTL.
    fn default() -> Self {
        Self {
            require_mfa: false,
            grace_logins: 0,
            allowed_factors: None,
            max_factors: None,
            sso_exempt: true,
            token_ttl_seconds: None,
            notices: true,
        }
    }
}

impl OrgPolicy {
    /// The strictest of `policies`: MFA required if any requires it, the kinds every one allows,
    /// the lowest limit, SSO exempt only if every one exempts it, the shortest token lifetime,
    /// the fewest grace sign-ins among those that require MFA, and notices only if no org turned
    /// them off (an org that tells its members itself). No policy: the default.
    pub fn strictest<'a>(policies: impl IntoIterator<Item = &'a OrgPolicy>) -> OrgPolicy {
        let min = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        policies.into_iter().fold(OrgPolicy::default(), |acc, p| {
            let grace_logins = match (acc.require_mfa, p.require_mfa) {
                (true, true) => acc.grace_logins.min(p.grace_logins),
                (true, false) => acc.grace_logins,
                (false, _) => p.grace_logins,
            };
            let allowed_factors = match (acc.allowed_factors, &p.allowed_factors) {
                (Some(a), Some(b)) => Some(a.into_iter().filter(|k| b.contains(k)).collect()),
                (a, b) => a.or_else(|| b.clone()),
            };
            OrgPolicy {
                require_mfa: acc.require_mfa || p.require_mfa,
                grace_logins,
                allowed_factors,
                max_factors: min(acc.max_factors.map(u64::from), p.max_factors.map(u64::from))
                    .map(|n| n as u32),
                sso_exempt: acc.sso_exempt && p.sso_exempt,
                token_ttl_seconds: min(acc.token_ttl_seconds, p.token_ttl_seconds),
                notices: acc.notices && p.notices,
            }
        })
    }

    /// Whether members may use factors of `kind`.
    pub fn allows(&self, kind: FactorKind) -> bool {
        self.allowed_factors.as_ref().is_none_or(|kinds| kinds.contains(&kind))
    }
}

/// An app's API key, as stored: never the key, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppKey {
    /// The record's id (`key_...`), also inside the key's text.
    pub id: KeyId,
    /// The app the key belongs to, recorded in the audit events of its requests.
    pub app: String,
    /// What the key may call.
    pub scopes: Vec<Scope>,
    /// The SHA-256 of the key, hex.
    pub hash: String,
    /// When it was made.
    pub created_at: u64,
}

/// The orgs a user belongs to, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memberships {
    /// The orgs.
    pub orgs: Vec<OrgId>,
}

/// What happened to a user's second factors: one entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Unique id (`aud_...`).
    pub id: String,
    /// The user it happened to.
    #[schema(value_type = String)]
    pub user: UserId,
    /// When (Unix seconds).
    pub at: u64,
    /// What happened.
    pub action: AuditAction,
    /// The factor concerned, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub factor_id: Option<FactorId>,
    /// The app whose API key made the request (`configured` for a key of `MFA_API_KEYS`); none
    /// for what no app asked for (an SMS reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
}

/// The two failure budgets of an account: failed guesses at one don't lock the other, so that
/// someone with the password can't lock the owner out of both their factor and their way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget {
    /// Second factors: TOTP, SMS and email codes, WebAuthn assertions.
    SecondFactor,
    /// Recovery codes.
    RecoveryCodes,
}

impl Budget {
    /// The sort key of the budget's throttle record, next to the user's other records.
    pub fn sort_key(self) -> &'static str {
        match self {
            Self::SecondFactor => "THROTTLE",
            Self::RecoveryCodes => "THROTTLE#RECOVERY",
        }
    }
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

/// An account's count of consecutive failures of one [`Budget`], as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleState {
    /// Consecutive failures.
    pub failures: u32,
    /// When the lock ends, if the count brought one (`u64::MAX`: blocked).
    pub locked_until: Option<u64>,
}

impl ThrottleState {
    /// When the lock in force at `now` ends, if there is one.
    pub fn locked_at(&self, now: u64) -> Option<u64> {
        self.locked_until.filter(|until| *until > now)
    }
}

/// What a message counts against: each scope has its own count of messages per fixed window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendScope {
    /// Texts to one number (E.164).
    Texts(String),
    /// Calls to one number (E.164).
    Calls(String),
    /// Emails to one address.
    Emails(String),
    /// Replies to one number's inbound texts (HELP, STOP, START).
    Replies(String),
    /// Lockout notices to one user.
    LockNotices(UserId),
    /// Messages of every channel to one user.
    User(UserId),
    /// Messages to the members of one org.
    Org(OrgId),
    /// One shard of the whole deployment's count (see `crate::domain` sending budgets): a
    /// deployment-wide count is spread over several items, so no single item takes every send.
    Deployment(u8),
}

/// A budget: at most `max` messages of `scope` in each fixed window of `window` seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendLimit {
    /// What is counted.
    pub scope: SendScope,
    /// The window's length, in seconds.
    pub window: u64,
    /// The most messages a window allows.
    pub max: u32,
}

impl SendLimit {
    /// The record that counts this budget's window containing `now`, as (partition, sort key),
    /// and when the window ends (the record may be dropped then).
    pub fn record(&self, now: u64) -> (String, String, u64) {
        let window = self.window.max(1);
        let index = now / window;
        let ends_at = index.saturating_add(1).saturating_mul(window);
        let (partition, what) = match &self.scope {
            SendScope::Texts(phone) => (format!("PHONE#{phone}"), "SMS"),
            SendScope::Calls(phone) => (format!("PHONE#{phone}"), "VOICE"),
            SendScope::Replies(phone) => (format!("PHONE#{phone}"), "REPLY"),
            SendScope::Emails(address) => {
                (format!("EMAIL#{}", address.to_ascii_lowercase()), "EMAIL")
            }
            SendScope::LockNotices(user) => (format!("USER#{user}"), "LOCKNOTICE"),
            SendScope::User(user) => (format!("USER#{user}"), "ALL"),
            SendScope::Org(org) => (format!("ORG#{org}"), "ALL"),
            SendScope::Deployment(shard) => (format!("SENDS#{shard}"), "ALL"),
        };
        (partition, format!("SENDS#{what}#{window}#{index}"), ends_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records as the embedded store wrote them before the typed model (its JSON, field by
    /// field): they load as the typed model.
    #[test]
    fn records_written_before_the_typed_model_load() {
        let sms: Factor = serde_json::from_str(
            r#"{"id":"fac_1","user":"ada","kind":"sms","status":"pending","label":null,
                "created_at":1700000000,"activated_at":null,"secret":null,"last_step":null,
                "phone":"+12015550123","email":null,"activation_challenge":"chl_9"}"#,
        )
        .unwrap();
        assert_eq!(sms.kind(), FactorKind::Sms);
        assert_eq!(
            sms.method,
            Method::Sms {
                phone: "+12015550123".into(),
                activation: Some(ChallengeId::parse("chl_9").unwrap())
            }
        );
        let code: Challenge = serde_json::from_str(
            r#"{"id":"chl_9","user":"ada","login_id":"","factor_id":"fac_1",
                "created_at":1700000000,"expires_at":1700000300,"consumed_at":null,
                "purpose":"phone_change_new","code_hash":"ab12","attempts":2,
                "new_phone":"+12015550199"}"#,
        )
        .unwrap();
        assert_eq!(
            code.purpose,
            ChallengePurpose::PhoneChange { new_phone: "+12015550199".into() }
        );
        assert_eq!((code.answer, code.attempts), (Answer::SentCode { hash: "ab12".into() }, 2));
    }

    #[test]
    fn records_that_do_not_fit_their_kind_are_refused() {
        let no_phone =
            r#"{"id":"fac_1","user":"ada","kind":"sms","status":"active","created_at":1}"#;
        assert!(serde_json::from_str::<Factor>(no_phone)
            .unwrap_err()
            .to_string()
            .contains("no phone"));
        let activation_without_code = r#"{"id":"chl_1","user":"ada","factor_id":"fac_1",
            "created_at":1,"expires_at":2,"purpose":"activation"}"#;
        assert!(serde_json::from_str::<Challenge>(activation_without_code).is_err());
    }

    #[test]
    fn the_strictest_policy_takes_the_strictest_of_each_rule() {
        use FactorKind::{Email, Sms, Totp, Webauthn};
        assert_eq!(OrgPolicy::strictest([]), OrgPolicy::default());
        let lenient_sso = OrgPolicy {
            require_mfa: true,
            grace_logins: 3,
            allowed_factors: Some(vec![Totp, Sms, Webauthn]),
            max_factors: Some(4),
            sso_exempt: true,
            token_ttl_seconds: Some(300),
            notices: true,
        };
        let no_sms = OrgPolicy {
            require_mfa: false,
            grace_logins: 0,
            allowed_factors: Some(vec![Totp, Webauthn, Email]),
            max_factors: None,
            sso_exempt: false,
            token_ttl_seconds: None,
            notices: false,
        };
        let one_method = OrgPolicy {
            require_mfa: true,
            grace_logins: 1,
            max_factors: Some(1),
            token_ttl_seconds: Some(120),
            ..OrgPolicy::default()
        };
        let strictest = OrgPolicy::strictest([&lenient_sso, &no_sms, &one_method]);
        assert_eq!(
            strictest,
            OrgPolicy {
                require_mfa: true,
                // Of the orgs that require MFA, the fewest grace sign-ins; `no_sms`'s 0 is not
                // a grace count, as it does not require MFA.
                grace_logins: 1,
                allowed_factors: Some(vec![Totp, Webauthn]),
                max_factors: Some(1),
                sso_exempt: false,
                token_ttl_seconds: Some(120),
                notices: false,
            }
        );
        assert!(strictest.allows(Totp) && !strictest.allows(Sms) && !strictest.allows(Email));
        // The order of the orgs does not matter.
        assert_eq!(OrgPolicy::strictest([&one_method, &no_sms, &lenient_sso]), strictest);
    }
}
