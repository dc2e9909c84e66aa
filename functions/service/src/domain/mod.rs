//! The domain: enrollment, the login decision, challenges and verification, recovery codes,
//! factor management and inbound SMS keywords, written against the ports only. Every rule of the
//! security model that is not pure algorithm (that lives in `mfa-core`) is enforced here.

pub mod answers;
mod app_keys;
mod enrollment;
mod error;
mod inbound;
mod manage;
pub mod messages;
mod notices;
mod oob;
mod orgs;
mod phone_change;
mod sending;
mod signin;
mod step_up;
mod webauthn;

use std::sync::{Arc, Mutex};

use rand_core::CryptoRngCore;

pub use enrollment::NewFactor;
pub use enrollment::MAX_PENDING_FACTORS;
pub use error::Error;
pub use inbound::{InboundOutcome, WebhookAnswer};
pub use step_up::StepUpFor;

use crate::config::{Config, ConfigError, SendBudgets, SmsSettings, VoiceSettings};
use crate::ids::{FactorId, UserId};
use crate::model::{AuditAction, AuditEvent, Budget};
use crate::ports::{Clock, EmailSender, LineType, NumberLookup, SmsSender, Store, VoiceSender};
use crate::sealed::DataKeys;
use crate::telemetry::Metered;
use crate::token::TokenKeys;

/// How many recovery codes a set holds.
pub const RECOVERY_SET_SIZE: i64 = 10;
/// Verification window for TOTP codes, in steps either side of now.
pub const TOTP_WINDOW: u32 = 1;

/// What proves a factor: a code typed, or a WebAuthn credential's JSON from the browser.
#[derive(Debug, Clone, PartialEq)]
pub enum Proof {
    /// A one-time code (TOTP, SMS, email).
    Code(String),
    /// `navigator.credentials.create()`'s credential (to activate a security key or passkey) or
    /// `navigator.credentials.get()`'s assertion (to sign in with one), as JSON.
    Credential(serde_json::Value),
}

/// Writes an audit event, stored (or about to be), to the service's log.
fn log_audit(event: &AuditEvent) {
    tracing::info!(user = %event.user, action = ?event.action, factor = event.factor_id.as_ref().map(FactorId::as_str), app = event.app.as_deref(), "audit");
}

/// The random number generator the domain draws from.
pub type SharedRng = Mutex<Box<dyn CryptoRngCore + Send>>;

/// The MFA service's domain, with its ports.
pub struct Mfa {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    rng: SharedRng,
    data_keys: DataKeys,
    tokens: TokenKeys,
    issuer_name: String,
    login_ttl: u64,
    challenge_ttl: u64,
    recovery_cost: mfa_core::recovery::HashCost,
    code_key: mfa_core::oob_code::CodeKey,
    sms: SmsSettings,
    voice: Option<VoiceSettings>,
    budgets: SendBudgets,
    allow_voip: bool,
    phone_policy: mfa_core::phone::PhonePolicy,
    email_enabled: bool,
    webauthn: Option<::webauthn_rs::Webauthn>,
    sms_sender: Arc<dyn SmsSender>,
    voice_sender: Arc<dyn VoiceSender>,
    email_sender: Arc<dyn EmailSender>,
    lookup: Option<Arc<dyn NumberLookup>>,
}

/// The ports of the domain.
pub struct Ports {
    /// Where records live.
    pub store: Arc<dyn Store>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Randomness: a cryptographically secure generator.
    pub rng: Box<dyn CryptoRngCore + Send>,
    /// Texts out.
    pub sms: Arc<dyn SmsSender>,
    /// Calls out.
    pub voice: Arc<dyn VoiceSender>,
    /// Emails out.
    pub email: Arc<dyn EmailSender>,
    /// What kind of line a number is; `None`: numbers are not looked up (every kind is taken).
    pub lookup: Option<Arc<dyn NumberLookup>>,
}

impl std::fmt::Debug for Mfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mfa").field("issuer_name", &self.issuer_name).finish_non_exhaustive()
    }
}

impl Mfa {
    /// Builds the domain from configuration and its ports.
    pub fn new(config: &Config, ports: Ports) -> Result<Self, ConfigError> {
        let data_keys = DataKeys::new(&config.data_keys)
            .ok_or_else(|| ConfigError { name: "MFA_DATA_KEYS", problem: "holds no key".into() })?;
        let tokens = TokenKeys::new(
            &config.signing_keys,
            config.token_issuer.clone(),
            config.token_audience.clone(),
            config.token_ttl,
        )
        .ok_or_else(|| ConfigError {
            name: "MFA_SIGNING_KEYS",
            problem: "holds no usable Ed25519 key".into(),
        })?;
        let code_key = mfa_core::oob_code::CodeKey::new(config.code_key.expose())
            .map_err(|e| ConfigError { name: "MFA_CODE_KEY", problem: e.to_string() })?;
        let webauthn = config
            .webauthn
            .as_ref()
            .map(|rp| webauthn::relying_party(rp, config.challenge_ttl))
            .transpose()
            .map_err(|e| ConfigError { name: "MFA_WEBAUTHN_ORIGINS", problem: e.to_string() })?;
        Ok(Self {
            store: ports.store,
            clock: ports.clock,
            rng: Mutex::new(ports.rng),
            data_keys,
            tokens,
            issuer_name: config.issuer_name.clone(),
            login_ttl: config.login_ttl,
            challenge_ttl: config.challenge_ttl,
            recovery_cost: mfa_core::recovery::HashCost::default(),
            code_key,
            sms: config.sms.clone(),
            voice: config.voice.clone(),
            budgets: config.budgets.clone(),
            allow_voip: config.allow_voip,
            phone_policy: mfa_core::phone::PhonePolicy::new(config.sms.calling_codes.clone()),
            email_enabled: config.email_from.is_some(),
            webauthn,
            // Every message sent, or refused by its provider, is counted.
            sms_sender: Arc::new(Metered(ports.sms)),
            voice_sender: Arc::new(Metered(ports.voice)),
            email_sender: Arc::new(Metered(ports.email)),
            lookup: ports.lookup,
        })
    }

    /// The JWKS document of the token signing keys.
    pub fn jwks(&self) -> serde_json::Value {
        self.tokens.jwks()
    }

    fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Runs `f` with the RNG. A poisoned lock still holds a usable RNG, so it is taken anyway.
    fn with_rng<R>(&self, f: impl FnOnce(&mut dyn CryptoRngCore) -> R) -> R {
        let mut guard = self.rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(guard.as_mut())
    }

    fn new_id(&self, prefix: &str) -> String {
        self.with_rng(|rng| crate::ids::new_id(prefix, rng))
    }

    /// Issues an MFA token for `user` who just proved `factor_id`, living the service's token
    /// lifetime or `ttl` (the user's orgs') when that is shorter.
    fn issue_token(
        &self,
        user: &UserId,
        factor_id: &str,
        amr: &[&str],
        ttl: Option<u64>,
    ) -> Result<answers::IssuedToken, Error> {
        let jti = self.new_id("jti");
        let (token, claims) = self
            .tokens
            .issue(user.as_str(), factor_id, amr, self.now(), jti, ttl)
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(answers::IssuedToken { token, expires_at: claims.exp })
    }

    /// The audit event of `action` by `user` now (on `factor_id`), as the acting app.
    fn audit_event(
        &self,
        user: &UserId,
        action: AuditAction,
        factor_id: Option<&FactorId>,
    ) -> AuditEvent {
        AuditEvent {
            id: self.new_id("aud"),
            user: user.clone(),
            at: self.now(),
            action,
            factor_id: factor_id.cloned(),
            app: crate::api_key::acting_app(),
        }
    }

    /// Records `action` in the user's audit log (and the service's log). The change it records
    /// has happened by then, so a failure to store the event is logged as an error, not returned.
    async fn audit(&self, user: &UserId, action: AuditAction, factor_id: Option<&FactorId>) {
        let event = self.audit_event(user, action, factor_id);
        log_audit(&event);
        if let Err(e) = self.store.append(&event).await {
            tracing::error!(user = %user, action = ?action, error = %e, "audit event not stored");
        }
    }

    /// Counts an attempt against the user's `budget` before checking it.
    async fn begin_attempt(&self, user: &UserId, budget: Budget) -> Result<(), Error> {
        let now = self.now();
        match self.store.begin_attempt(user, budget, now).await? {
            crate::model::Attempt::Allowed => Ok(()),
            crate::model::Attempt::Locked { until } => Err(self.locked(user, until, now).await),
        }
    }

    /// The refusal of an attempt while the account is locked until `until`; the user is told
    /// (at most once an hour).
    async fn locked(&self, user: &UserId, until: u64, now: u64) -> Error {
        self.notify_locked(user).await;
        Error::Locked { until, retry_after: until.saturating_sub(now).max(1) }
    }

    /// Refuses a number that must not get codes: a VoIP number, unless `MFA_ALLOW_VOIP_NUMBERS`
    /// (NIST SP 800-63B 5.1.3.1: a code to a VoIP number does not prove a phone), and one the
    /// provider's lookup can't place. A lookup that fails lets the number through, logged: an
    /// outage of the lookup must not stop enrollment.
    async fn check_line(&self, phone: &str) -> Result<(), Error> {
        let Some(lookup) = self.lookup.as_ref().filter(|_| !self.allow_voip) else {
            return Ok(());
        };
        match lookup.line_type(phone).await {
            Ok(LineType::Voip) => Err(Error::BadRequest(
                "this is a VoIP number, which can't get codes (NIST SP 800-63B 5.1.3.1: a code to it does not prove a phone): use a mobile number, or another factor".into(),
            )),
            Ok(LineType::Invalid) => {
                Err(Error::BadRequest("the provider knows no phone line with this number".into()))
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "number lookup failed: the number is taken unchecked");
                Ok(())
            }
        }
    }
}
