//! The ports: what the domain needs from the outside world, as narrow traits.
//!
//! Each store method is one atomic domain operation (a conditional write or a transaction in
//! DynamoDB, one write transaction in the embedded store), never a read-modify-write that two
//! concurrent requests could interleave. Both adapters pass one conformance suite
//! (`tests/conformance`).

use async_trait::async_trait;

use crate::ids::{ChallengeId, FactorId, KeyId, LoginId, OrgId, UserId};
use crate::model::{
    AppKey, Attempt, AuditEvent, Budget, Challenge, Delivery, Factor, FactorStatus, Login,
    OrgPolicy, PasskeySignIn, RecoverySet, SendLimit, ThrottleState, WebauthnKey,
};

/// Why a store operation failed (not a domain "no": those are `Ok(false)` or `Ok(None)`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A record with this key already exists.
    #[error("a record with this id already exists")]
    AlreadyExists,
    /// The backend could not be reached or refused the request.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored record could not be read.
    #[error("stored record unreadable: {0}")]
    Corrupt(String),
}

/// Results of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// What activating a factor writes with it, in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation<'a> {
    /// TOTP: the step of the code that activated it, the first the replay guard holds.
    pub step: Option<u64>,
    /// WebAuthn: the registered key.
    pub key: Option<&'a WebauthnKey>,
    /// The user's recovery set.
    pub recovery: RecoveryWrite<'a>,
    /// The activation challenge (a code sent, a key's registration) it answered, used up in the
    /// same transaction: only if it was not used up before.
    pub challenge: Option<&'a ChallengeId>,
    /// The most active factors the user may have (the orgs' `max_factors`): only if the user has
    /// fewer.
    pub max_active: Option<u32>,
    /// When.
    pub now: u64,
}

/// What an activation does to the user's recovery set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryWrite<'a> {
    /// Nothing: the user has codes left.
    Keep,
    /// Stores the user's first set: only if the user has none.
    Insert(&'a RecoverySet),
    /// Replaces the used-up set whose id is `old`: only if it is still the current one.
    Replace {
        /// The id of the set read, all of whose codes were used.
        old: &'a str,
        /// The new set.
        new: &'a RecoverySet,
    },
}

/// Second factors, per user.
#[async_trait]
pub trait FactorStore: Send + Sync {
    /// Stores a new pending factor. [`StoreError::AlreadyExists`] if the id is taken.
    async fn insert_factor(&self, factor: &Factor) -> StoreResult<()>;
    /// One factor of `user`.
    async fn get_factor(&self, user: &UserId, id: &FactorId) -> StoreResult<Option<Factor>>;
    /// All factors of `user`, oldest first.
    async fn list_factors(&self, user: &UserId) -> StoreResult<Vec<Factor>>;
    /// All factors of `user`, oldest first, and the orgs `user` belongs to, in one read (what a
    /// login decision needs of the user).
    async fn factors_and_orgs(&self, user: &UserId) -> StoreResult<(Vec<Factor>, Vec<OrgId>)>;
    /// Pending to active, with what `activation` writes, all in one transaction (so a failure
    /// leaves neither a factor without its recovery set nor a set without its factor, nor a code
    /// used up for a factor still pending). `false`, with nothing written, when the factor is
    /// missing or not pending, when it was enrolled without a step-up
    /// ([`Factor::enrolled_with_step_up`]) and the user has an active factor (checked against
    /// every activation, so two such factors can't both become active), when the recovery set is
    /// not what [`RecoveryWrite`] expects, when the challenge was used up, or when the user has
    /// `max_active` active factors already.
    async fn activate_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        activation: &Activation<'_>,
    ) -> StoreResult<bool>;
    /// Replaces an active WebAuthn factor's stored credential `old` (its JSON, exactly as
    /// stored) with `new` (a higher counter, a new backup state), only if it is still `old`.
    async fn update_webauthn_key(
        &self,
        user: &UserId,
        id: &FactorId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool>;
    /// Deletes a factor that is still `status` (a pending factor is deleted without step-up only
    /// while it is pending). `false` when there is none, or it is not `status`.
    async fn delete_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        status: FactorStatus,
    ) -> StoreResult<bool>;
    /// Switches an active SMS factor's number from `old` to `new`, only if it is still `old`.
    async fn change_phone(
        &self,
        user: &UserId,
        id: &FactorId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool>;
}

/// Recovery codes: one current set per user.
#[async_trait]
pub trait RecoveryStore: Send + Sync {
    /// Replaces the user's set (the old codes stop working at once).
    async fn replace_recovery_set(&self, user: &UserId, set: &RecoverySet) -> StoreResult<()>;
    /// The user's current set.
    async fn get_recovery_set(&self, user: &UserId) -> StoreResult<Option<RecoverySet>>;
}

/// Logins and their challenges.
#[async_trait]
pub trait LoginStore: Send + Sync {
    /// Stores a new login.
    async fn insert_login(&self, login: &Login) -> StoreResult<()>;
    /// A login by id.
    async fn get_login(&self, id: &LoginId) -> StoreResult<Option<Login>>;
    /// Stores a new challenge.
    async fn insert_challenge(&self, challenge: &Challenge) -> StoreResult<()>;
    /// A challenge by id.
    async fn get_challenge(&self, id: &ChallengeId) -> StoreResult<Option<Challenge>>;
    /// What starting a sign-in challenge reads, in one request: the login, the factor, and the
    /// orgs `user` belongs to (whose sending budgets a code counts against).
    async fn challenge_context(
        &self,
        user: &UserId,
        login: &LoginId,
        factor: &FactorId,
    ) -> StoreResult<(Option<Login>, Option<Factor>, Vec<OrgId>)>;
    /// Marks a challenge answered at `now`, if it was not already. `false` if it was.
    async fn consume_challenge(&self, id: &ChallengeId, now: u64) -> StoreResult<bool>;
    /// Counts one code attempt on a challenge, if fewer than `max` were made and it is not
    /// answered. `false` when the challenge has no attempts left (or is answered or missing).
    async fn record_challenge_attempt(&self, id: &ChallengeId, max: u32) -> StoreResult<bool>;
    /// Gives the login's text message (or call) back, when the provider refused it. Only a login
    /// whose message was taken changes (a missing login is not created).
    async fn return_login_message(&self, login_id: &LoginId, by: Delivery) -> StoreResult<()>;
}

/// Passwordless sign-ins with a passkey, and which user a passkey's user handle names.
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// Stores a new passwordless sign-in.
    async fn insert_passkey_sign_in(&self, sign_in: &PasskeySignIn) -> StoreResult<()>;
    /// A passwordless sign-in by id.
    async fn get_passkey_sign_in(&self, id: &ChallengeId) -> StoreResult<Option<PasskeySignIn>>;
    /// Marks a passwordless sign-in answered at `now`, if it was not already. `false` if it was
    /// (or there is none).
    async fn consume_passkey_sign_in(&self, id: &ChallengeId, now: u64) -> StoreResult<bool>;
    /// Records that the WebAuthn user handle `handle` (hex) is `user`'s.
    async fn put_user_handle(&self, handle: &str, user: &UserId) -> StoreResult<()>;
    /// The user whose passkeys carry `handle`.
    async fn user_of_handle(&self, handle: &str) -> StoreResult<Option<UserId>>;
}

/// Phone numbers: opt-outs (STOP) and the per-number send cap.
#[async_trait]
pub trait PhoneStore: Send + Sync {
    /// Records that `phone` (E.164) replied STOP at `now`.
    async fn opt_out(&self, phone: &str, now: u64) -> StoreResult<()>;
    /// Records that `phone` opted back in (START).
    async fn opt_in(&self, phone: &str) -> StoreResult<()>;
    /// Whether `phone` has opted out.
    async fn is_opted_out(&self, phone: &str) -> StoreResult<bool>;
    /// Claims the SNS delivery `message_id` until `expires_at`: `false` if it is already claimed
    /// (SNS delivers at least once, and retries; a claim that has expired at `now` is taken over).
    async fn claim_delivery(
        &self,
        message_id: &str,
        now: u64,
        expires_at: u64,
    ) -> StoreResult<bool>;
    /// Gives up a claim, so that a delivery that could not be handled can be retried.
    async fn release_delivery(&self, message_id: &str) -> StoreResult<()>;
}

/// A message about to be sent, and what is written with it, all or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sending<'a> {
    /// The budgets it counts against (in their windows containing the time given).
    pub limits: &'a [SendLimit],
    /// A text's number: only if it has not opted out (STOP).
    pub not_opted_out: Option<&'a str>,
    /// The login whose one text (or call) it is: taken, only if it was not.
    pub login_message: Option<(&'a LoginId, Delivery)>,
    /// The challenge whose code it carries: stored (a taken id is
    /// [`StoreError::AlreadyExists`]).
    pub challenge: Option<&'a Challenge>,
}

impl<'a> Sending<'a> {
    /// A message counted against `limits`, with nothing else written.
    pub fn counted(limits: &'a [SendLimit]) -> Self {
        Self { limits, not_opted_out: None, login_message: None, challenge: None }
    }
}

/// Why [`SendStore::take_sends`] wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendRefused {
    /// `limits[i]` had no message left.
    Full(usize),
    /// The number opted out.
    OptedOut,
    /// The login's text (or call) was taken before, or there is no such login.
    LoginHadMessage,
}

/// The sending budgets: counts of messages per fixed window ([`SendLimit`]).
#[async_trait]
pub trait SendStore: Send + Sync {
    /// Counts one message against every one of `sending`'s limits in its window containing
    /// `now`, with the rest of `sending`, all or none: `None` when it was written, else why
    /// nothing was (the first reason found). One conditional write, or one transaction.
    async fn take_sends(&self, sending: &Sending<'_>, now: u64)
        -> StoreResult<Option<SendRefused>>;
    /// How many messages `limit`'s window containing `now` has counted.
    async fn sends(&self, limit: &SendLimit, now: u64) -> StoreResult<u32>;
}

/// Per-account throttling of attempts (see `mfa_core::throttle`), one count per [`Budget`].
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Counts an attempt as a failure of `budget` before it is checked, unless that budget is
    /// locked at `now`, and locks it by `mfa_core::throttle::locked_until` for the new count.
    /// Counting first means concurrent guesses can't slip past the lock.
    async fn begin_attempt(&self, user: &UserId, budget: Budget, now: u64) -> StoreResult<Attempt>;
    /// The attempt succeeded: the budget's count of consecutive failures goes back to zero.
    async fn succeed(&self, user: &UserId, budget: Budget) -> StoreResult<()>;
    /// Consecutive failures of `budget` so far (for tests and the admin view).
    async fn failures(&self, user: &UserId, budget: Budget) -> StoreResult<u32>;
}

/// What checking a challenge's code reads, in one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeAttempt {
    /// The challenge, if there is one with this id.
    pub challenge: Option<Challenge>,
    /// The user's second-factor throttle.
    pub throttle: ThrottleState,
}

/// What checking a recovery code reads, in one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryAttempt {
    /// The user's current recovery set.
    pub set: Option<RecoverySet>,
    /// The login the code signs in to, when one was named (and exists).
    pub login: Option<Login>,
    /// The user's recovery-code throttle.
    pub throttle: ThrottleState,
}

/// What a code that matched uses up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Used<'a> {
    /// A challenge, answered at `now`: only if it was not answered before and its factor is
    /// still active.
    Challenge {
        /// The challenge.
        id: &'a ChallengeId,
        /// Its factor.
        factor: &'a FactorId,
        /// A TOTP code's step, the replay guard's new last step: only if it is newer than the
        /// factor's.
        step: Option<u64>,
        /// A sent code's attempt, counted: only if fewer than this many were made.
        max_attempts: Option<u32>,
        /// When.
        now: u64,
    },
    /// Code `index` of the recovery set `set`: only if the set is still current and the code
    /// unused.
    RecoveryCode {
        /// The set's id.
        set: &'a str,
        /// The code's index in it.
        index: u32,
    },
}

/// An attempt whose code matched: what it uses up, the throttle count it read (reset to zero
/// only if unchanged) and its audit event, in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass<'a> {
    /// Whose attempt.
    pub user: &'a UserId,
    /// The throttle it counts against.
    pub budget: Budget,
    /// The failures read: a failure counted since then refuses the write.
    pub seen: u32,
    /// What it uses up.
    pub used: Used<'a>,
    /// The audit event of the success.
    pub event: Option<&'a AuditEvent>,
}

/// What [`AttemptStore::pass_attempt`] did: all of it, or nothing for the first reason found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passed {
    /// Written.
    Yes,
    /// The throttle count changed since it was read: read again.
    ThrottleMoved,
    /// The challenge was answered before (or has no attempts left, or is gone), or the
    /// recovery code was used (or its set replaced).
    AlreadyUsed,
    /// The factor is no longer active, or the TOTP step is not newer than its last one.
    FactorRefused,
}

/// An attempt whose code did not match: the failure counted (and the lock it brings), with the
/// challenge's attempt and the audit event, in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fail<'a> {
    /// Whose attempt.
    pub user: &'a UserId,
    /// The throttle it counts against.
    pub budget: Budget,
    /// The failures read: the new count is one more, written only if the count is unchanged.
    pub seen: u32,
    /// When (the lock is `mfa_core::throttle::locked_until(seen + 1, now)`).
    pub now: u64,
    /// A sent code's challenge, whose attempts count one more.
    pub challenge: Option<&'a ChallengeId>,
    /// The audit event of the failure.
    pub event: Option<&'a AuditEvent>,
}

/// Checking a code in two requests: one read of all the check needs, then one write of its
/// outcome. Both writes are conditional on the throttle count read, so a failure counted
/// between the read and the write (a concurrent guess) refuses the write, and the domain reads
/// again: of concurrent guesses, only those that saw every failure before them can pass, which
/// bounds the guesses as counting each first would.
#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// The challenge `id` and the user's second-factor throttle.
    async fn challenge_attempt(
        &self,
        user: &UserId,
        id: &ChallengeId,
    ) -> StoreResult<ChallengeAttempt>;
    /// The user's recovery set and recovery-code throttle, and the login `login`.
    async fn recovery_attempt(
        &self,
        user: &UserId,
        login: Option<&LoginId>,
    ) -> StoreResult<RecoveryAttempt>;
    /// Writes a success (see [`Pass`]), all or nothing.
    async fn pass_attempt(&self, pass: &Pass<'_>) -> StoreResult<Passed>;
    /// Counts a failure (see [`Fail`]), all or nothing: `false` when the throttle count changed
    /// since it was read (or the challenge is gone), with nothing written: read again.
    async fn fail_attempt(&self, fail: &Fail<'_>) -> StoreResult<bool>;
}

/// Apps' API keys (their hashes).
#[async_trait]
pub trait AppKeyStore: Send + Sync {
    /// Stores a new key. [`StoreError::AlreadyExists`] if the id is taken.
    async fn insert_app_key(&self, key: &AppKey) -> StoreResult<()>;
    /// A key by id.
    async fn get_app_key(&self, id: &KeyId) -> StoreResult<Option<AppKey>>;
    /// Every key, oldest first.
    async fn list_app_keys(&self) -> StoreResult<Vec<AppKey>>;
    /// Deletes (revokes) a key. `false` when there was none.
    async fn delete_app_key(&self, id: &KeyId) -> StoreResult<bool>;
}

/// Step-up tokens, each taken once.
#[async_trait]
pub trait StepUpStore: Send + Sync {
    /// Takes the step-up token `jti` (which expires at `expires_at`): `false` if it was taken
    /// before. One conditional write, so of two requests with one token only one goes ahead.
    async fn take_step_up(&self, jti: &str, expires_at: u64) -> StoreResult<bool>;
}

/// Organisation policies, and which orgs each user belongs to.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// The org's policy (the default when none is stored).
    async fn get_policy(&self, org: &OrgId) -> StoreResult<OrgPolicy>;
    /// The policies of `orgs` (at most 100), in their order, in one read (none for no org).
    async fn get_policies(&self, orgs: &[OrgId]) -> StoreResult<Vec<OrgPolicy>>;
    /// Sets the org's policy.
    async fn put_policy(&self, org: &OrgId, policy: &OrgPolicy) -> StoreResult<()>;
    /// Sets the orgs `user` belongs to (replacing the previous list).
    async fn put_memberships(&self, user: &UserId, orgs: &[OrgId]) -> StoreResult<()>;
    /// The orgs `user` belongs to (none when never set).
    async fn memberships(&self, user: &UserId) -> StoreResult<Vec<OrgId>>;
    /// Takes one of the `max` sign-ins without a factor that `org` allows `user`
    /// ([`OrgPolicy::grace_logins`]): `false` once they are used up.
    async fn take_grace_login(&self, user: &UserId, org: &OrgId, max: u32) -> StoreResult<bool>;
}

/// The audit log: what happened to each user's second factors.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends `event` to its user's log, kept [`AUDIT_RETENTION`] seconds.
    async fn append(&self, event: &AuditEvent) -> StoreResult<()>;
    /// The user's `limit` latest events, newest first.
    async fn latest_events(&self, user: &UserId, limit: usize) -> StoreResult<Vec<AuditEvent>>;
}

/// How long audit events are kept: 400 days.
pub const AUDIT_RETENTION: u64 = 400 * 86_400;

/// Everything the domain stores, as one object: each adapter implements all of it.
pub trait Store:
    FactorStore
    + RecoveryStore
    + LoginStore
    + PasskeyStore
    + ThrottleStore
    + AttemptStore
    + StepUpStore
    + AppKeyStore
    + PolicyStore
    + PhoneStore
    + SendStore
    + AuditLog
{
}

impl<T> Store for T where
    T: FactorStore
        + RecoveryStore
        + LoginStore
        + PasskeyStore
        + ThrottleStore
        + AttemptStore
        + StepUpStore
        + AppKeyStore
        + PolicyStore
        + PhoneStore
        + SendStore
        + AuditLog
{
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
#[error("message not sent: {0}")]
pub struct SendError(pub String);

/// Text messages out.
#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends `body` to `to` (E.164) as a transactional SMS.
    async fn send_sms(&self, to: &str, body: &str) -> Result<(), SendError>;
    /// Tells the SMS provider that `to` opted back in (SNS `OptInPhoneNumber`).
    async fn opt_in(&self, to: &str) -> Result<(), SendError>;
}

/// Calls that read a code out.
#[async_trait]
pub trait VoiceSender: Send + Sync {
    /// Calls `to` (E.164) and speaks `call`.
    async fn call(&self, to: &str, call: &VoiceCall) -> Result<(), SendError>;
}

/// What a call says: as SSML for the speech engine, and as the plain words (for logs and
/// `mfa-local`'s outbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceCall {
    /// The SSML document.
    pub ssml: String,
    /// The words spoken.
    pub words: String,
}

/// What kind of line a phone number is, as the provider's carrier lookup says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineType {
    /// A mobile number.
    Mobile,
    /// A fixed line.
    Landline,
    /// A VoIP number: codes to it are refused by default (NIST SP 800-63B 5.1.3.1).
    Voip,
    /// Anything else the lookup can name (prepaid, other).
    Other,
    /// The lookup could not place the number.
    Invalid,
}

/// Phone number lookups.
#[async_trait]
pub trait NumberLookup: Send + Sync {
    /// What kind of line `phone` (E.164) is.
    async fn line_type(&self, phone: &str) -> Result<LineType, SendError>;
}

/// An email message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// Emails out.
#[async_trait]
pub trait EmailSender: Send + Sync {
    /// Sends `email`.
    async fn send_email(&self, email: &Email) -> Result<(), SendError>;
}

/// The clock, injected so that tests can move time.
pub trait Clock: Send + Sync {
    /// Now, as Unix seconds.
    fn now(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}
