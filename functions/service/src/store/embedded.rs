//! The embedded store: one redb file on local disk, for `mfa-local` and tests.
//!
//! Every record is JSON under a key built like the DynamoDB adapter's (`pk` and `sk` joined by
//! a unit separator), and every port operation runs within one redb write transaction, which redb
//! serialises and commits durably: check-and-set is atomic here the way a conditional write is
//! in DynamoDB. Operations that arrive together share one transaction and one durable commit
//! (`super::group_commit`), as if each had had its own.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadOnlyTable, ReadableTable, Table, TableDefinition};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::group_commit::Writer;
use crate::ids::{ChallengeId, FactorId, KeyId, LoginId, OrgId, UserId};
use crate::model::{
    AppKey, Attempt, AuditEvent, Budget, Challenge, Delivery, Factor, FactorStatus, Login,
    Memberships, Method, OrgPolicy, PasskeySignIn, RecoverySet, SendLimit, ThrottleState,
};
use crate::ports::{
    Activation, AppKeyStore, AttemptStore, AuditLog, ChallengeAttempt, FactorStore, Fail,
    LoginStore, Pass, Passed, PasskeyStore, PhoneStore, PolicyStore, RecoveryAttempt,
    RecoveryStore, RecoveryWrite, SendRefused, SendStore, Sending, StepUpStore, StoreError,
    StoreResult, ThrottleStore, Used,
};

const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");

/// The store on one local file.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    writer: Writer,
}

/// The throttle record of one account.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ThrottleRecord {
    failures: u32,
    #[serde(default)]
    last_failure_at: u64,
    #[serde(default)]
    locked_until: Option<u64>,
}

fn key(pk: &str, sk: &str) -> String {
    format!("{pk}\u{1f}{sk}")
}
fn user_key(user: &UserId, sk: &str) -> String {
    key(&format!("USER#{user}"), sk)
}
fn challenge_key(id: &ChallengeId) -> String {
    key(&format!("CHALLENGE#{id}"), "CHALLENGE")
}
fn factor_key(user: &UserId, id: &FactorId) -> String {
    user_key(user, &format!("FACTOR#{id}"))
}
fn login_key(id: &LoginId) -> String {
    key(&format!("LOGIN#{id}"), "LOGIN")
}
fn audit_key(event: &AuditEvent) -> String {
    user_key(&event.user, &format!("AUDIT#{:020}#{}", event.at, event.id))
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn get<T: DeserializeOwned>(table: &Table<'_, &str, &[u8]>, key: &str) -> StoreResult<Option<T>> {
    table.get(key).map_err(unavailable)?.map(|v| decode(v.value())).transpose()
}

fn put<T: Serialize>(table: &mut Table<'_, &str, &[u8]>, key: &str, value: &T) -> StoreResult<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    table.insert(key, bytes.as_slice()).map_err(unavailable)?;
    Ok(())
}

fn insert_new<T: Serialize>(
    table: &mut Table<'_, &str, &[u8]>,
    key: &str,
    value: &T,
) -> StoreResult<()> {
    if table.get(key).map_err(unavailable)?.is_some() {
        return Err(StoreError::AlreadyExists);
    }
    put(table, key, value)
}

/// Every record whose key starts with `prefix`, in key order.
fn scan_prefix<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    prefix: &str,
) -> StoreResult<Vec<T>> {
    let mut out = Vec::new();
    for entry in table.range(prefix..).map_err(unavailable)? {
        let (k, v) = entry.map_err(unavailable)?;
        if !k.value().starts_with(prefix) {
            break;
        }
        out.push(decode(v.value())?);
    }
    Ok(out)
}

/// Marks the record at `k` answered at `now` (its `consumed_at`), once: `false` if it already
/// was, or is missing.
fn consume_once<T: Serialize + DeserializeOwned>(
    table: &mut Table<'_, &str, &[u8]>,
    k: &str,
    now: u64,
    consumed_at: impl FnOnce(&mut T) -> &mut Option<u64>,
) -> StoreResult<bool> {
    let Some(mut record) = get::<T>(table, k)? else { return Ok(false) };
    let at = consumed_at(&mut record);
    if at.is_some() {
        return Ok(false);
    }
    *at = Some(now);
    put(table, k, &record)?;
    Ok(true)
}

impl EmbeddedStore {
    /// Opens the store at `path`, creating the file if it does not exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let db = Database::create(path.as_ref()).map_err(unavailable)?;
        let txn = db.begin_write().map_err(unavailable)?;
        txn.open_table(ITEMS).map_err(unavailable)?;
        txn.commit().map_err(unavailable)?;
        let db = Arc::new(db);
        Ok(Self { writer: Writer::start(Arc::clone(&db), ITEMS)?, db })
    }

    /// Runs `f` in a write transaction (shared with the writes that arrive with it), answering
    /// once it is committed; an `Err` of `f` writes nothing. `f` may run twice (see
    /// `super::group_commit`).
    async fn write<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: Fn(&mut Table<'_, &str, &[u8]>) -> StoreResult<R> + Send + 'static,
    {
        self.writer.write(f).await
    }

    /// Runs `f` in one read transaction on a blocking thread.
    async fn reading<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&ReadOnlyTable<&str, &[u8]>) -> StoreResult<R> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(ITEMS).map_err(unavailable)?;
            f(&table)
        })
        .await
        .map_err(unavailable)?
    }

    /// Reads one record.
    async fn read<T: DeserializeOwned + Send + 'static>(
        &self,
        key: String,
    ) -> StoreResult<Option<T>> {
        self.reading(move |table| {
            table.get(key.as_str()).map_err(unavailable)?.map(|v| decode(v.value())).transpose()
        })
        .await
    }

    /// Reads a factor, lets `change` change it, and stores it if `change` says so, in one write
    /// transaction: `false` when the factor is missing or `change` refuses.
    async fn change_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        change: impl Fn(&mut Factor) -> bool + Send + 'static,
    ) -> StoreResult<bool> {
        let k = factor_key(user, id);
        self.write(move |t| {
            let Some(mut factor) = get::<Factor>(t, &k)? else { return Ok(false) };
            if !change(&mut factor) {
                return Ok(false);
            }
            put(t, &k, &factor)?;
            Ok(true)
        })
        .await
    }

    /// Reads every record whose key starts with `prefix`, in key order.
    async fn read_prefix<T: DeserializeOwned + Send + 'static>(
        &self,
        prefix: String,
    ) -> StoreResult<Vec<T>> {
        self.reading(move |table| scan_prefix(table, &prefix)).await
    }
}

#[async_trait]
impl FactorStore for EmbeddedStore {
    async fn insert_factor(&self, factor: &Factor) -> StoreResult<()> {
        let (k, factor) = (factor_key(&factor.user, &factor.id), factor.clone());
        self.write(move |t| insert_new(t, &k, &factor)).await
    }

    async fn get_factor(&self, user: &UserId, id: &FactorId) -> StoreResult<Option<Factor>> {
        self.read(factor_key(user, id)).await
    }

    async fn list_factors(&self, user: &UserId) -> StoreResult<Vec<Factor>> {
        let mut factors: Vec<Factor> = self.read_prefix(user_key(user, "FACTOR#")).await?;
        Factor::sort_oldest_first(&mut factors);
        Ok(factors)
    }

    async fn factors_and_orgs(&self, user: &UserId) -> StoreResult<(Vec<Factor>, Vec<OrgId>)> {
        let (prefix, orgs) = (user_key(user, "FACTOR#"), user_key(user, "ORGS"));
        let (mut factors, orgs) = self
            .reading(move |table| {
                let factors: Vec<Factor> = scan_prefix(table, &prefix)?;
                let orgs: Option<Memberships> = get_read(table, &orgs)?;
                Ok((factors, orgs.map(|m| m.orgs).unwrap_or_default()))
            })
            .await?;
        Factor::sort_oldest_first(&mut factors);
        Ok((factors, orgs))
    }

    async fn activate_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        activation: &Activation<'_>,
    ) -> StoreResult<bool> {
        let (user, k) = (user.clone(), factor_key(user, id));
        let (step, key, now) = (activation.step, activation.key.cloned(), activation.now);
        let challenge_k = activation.challenge.map(challenge_key);
        let max_active = activation.max_active;
        let recovery = match activation.recovery {
            RecoveryWrite::Keep => None,
            RecoveryWrite::Insert(set) => Some((None, set.clone())),
            RecoveryWrite::Replace { old, new } => Some((Some(old.to_owned()), new.clone())),
        };
        self.write(move |t| {
            let Some(mut factor) = get::<Factor>(t, &k)? else { return Ok(false) };
            if factor.status != FactorStatus::Pending {
                return Ok(false);
            }
            let factors: Vec<Factor> = scan_prefix(t, &user_key(&user, "FACTOR#"))?;
            let active = factors.iter().filter(|f| f.status == FactorStatus::Active).count();
            if !factor.enrolled_with_step_up && active > 0 {
                return Ok(false);
            }
            if max_active.is_some_and(|max| active >= max as usize) {
                return Ok(false);
            }
            // Every check comes before any write: a refusal commits nothing.
            let challenge = match &challenge_k {
                Some(k) => match get::<Challenge>(t, k)? {
                    Some(c) if c.consumed_at.is_none() => Some(c),
                    _ => return Ok(false),
                },
                None => None,
            };
            let recovery_k = user_key(&user, "RECOVERY");
            if let Some((old, _)) = &recovery {
                let current = get::<RecoverySet>(t, &recovery_k)?.map(|set| set.id);
                if current != *old {
                    return Ok(false);
                }
            }
            match (&mut factor.method, &key, step) {
                (Method::Webauthn { key: slot, .. }, Some(key), None) => *slot = Some(key.clone()),
                (Method::Totp { last_step, .. }, None, step @ Some(_)) => *last_step = step,
                (Method::Totp { .. } | Method::Sms { .. } | Method::Email { .. }, None, None) => {}
                _ => {
                    return Err(StoreError::Corrupt(format!(
                        "{} factor {} activated with the data of another kind",
                        factor.kind().as_str(),
                        factor.id
                    )))
                }
            }
            factor.status = FactorStatus::Active;
            factor.activated_at = Some(now);
            put(t, &k, &factor)?;
            if let (Some(mut challenge), Some(challenge_k)) = (challenge, &challenge_k) {
                challenge.consumed_at = Some(now);
                put(t, challenge_k, &challenge)?;
            }
            if let Some((_, set)) = &recovery {
                put(t, &recovery_k, set)?;
            }
            Ok(true)
        })
        .await
    }

    async fn update_webauthn_key(
        &self,
        user: &UserId,
        id: &FactorId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let (old, new) = (old.to_owned(), new.to_owned());
        self.change_factor(user, id, move |factor| {
            let active = factor.status == FactorStatus::Active;
            match &mut factor.method {
                Method::Webauthn { key: Some(key), .. } if active && key.credential == old => {
                    key.credential = new.clone();
                    true
                }
                _ => false,
            }
        })
        .await
    }

    async fn delete_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        status: FactorStatus,
    ) -> StoreResult<bool> {
        let k = factor_key(user, id);
        self.write(move |t| match get::<Factor>(t, &k)? {
            Some(factor) if factor.status == status => {
                t.remove(k.as_str()).map_err(unavailable)?;
                Ok(true)
            }
            _ => Ok(false),
        })
        .await
    }

    async fn change_phone(
        &self,
        user: &UserId,
        id: &FactorId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let (old, new) = (old.to_owned(), new.to_owned());
        self.change_factor(user, id, move |factor| {
            let active = factor.status == FactorStatus::Active;
            match &mut factor.method {
                Method::Sms { phone, .. } if active && *phone == old => {
                    *phone = new.clone();
                    true
                }
                _ => false,
            }
        })
        .await
    }
}

#[async_trait]
impl RecoveryStore for EmbeddedStore {
    async fn replace_recovery_set(&self, user: &UserId, set: &RecoverySet) -> StoreResult<()> {
        let (k, set) = (user_key(user, "RECOVERY"), set.clone());
        self.write(move |t| put(t, &k, &set)).await
    }

    async fn get_recovery_set(&self, user: &UserId) -> StoreResult<Option<RecoverySet>> {
        self.read(user_key(user, "RECOVERY")).await
    }
}

#[async_trait]
impl LoginStore for EmbeddedStore {
    async fn insert_login(&self, login: &Login) -> StoreResult<()> {
        let (k, login) = (login_key(&login.id), login.clone());
        self.write(move |t| insert_new(t, &k, &login)).await
    }

    async fn get_login(&self, id: &LoginId) -> StoreResult<Option<Login>> {
        self.read(login_key(id)).await
    }

    async fn insert_challenge(&self, challenge: &Challenge) -> StoreResult<()> {
        let k = challenge_key(&challenge.id);
        let challenge = challenge.clone();
        self.write(move |t| insert_new(t, &k, &challenge)).await
    }

    async fn get_challenge(&self, id: &ChallengeId) -> StoreResult<Option<Challenge>> {
        self.read(challenge_key(id)).await
    }

    async fn challenge_context(
        &self,
        user: &UserId,
        login: &LoginId,
        factor: &FactorId,
    ) -> StoreResult<(Option<Login>, Option<Factor>, Vec<OrgId>)> {
        let keys = (login_key(login), factor_key(user, factor), user_key(user, "ORGS"));
        self.reading(move |table| {
            let orgs: Option<Memberships> = get_read(table, &keys.2)?;
            Ok((
                get_read(table, &keys.0)?,
                get_read(table, &keys.1)?,
                orgs.map(|m| m.orgs).unwrap_or_default(),
            ))
        })
        .await
    }

    async fn consume_challenge(&self, id: &ChallengeId, now: u64) -> StoreResult<bool> {
        let k = challenge_key(id);
        self.write(move |t| consume_once(t, &k, now, |c: &mut Challenge| &mut c.consumed_at)).await
    }

    async fn record_challenge_attempt(&self, id: &ChallengeId, max: u32) -> StoreResult<bool> {
        let k = challenge_key(id);
        self.write(move |t| {
            let Some(mut challenge) = get::<Challenge>(t, &k)? else { return Ok(false) };
            if challenge.consumed_at.is_some() || challenge.attempts >= max {
                return Ok(false);
            }
            challenge.attempts += 1;
            put(t, &k, &challenge)?;
            Ok(true)
        })
        .await
    }

    async fn return_login_message(&self, login_id: &LoginId, by: Delivery) -> StoreResult<()> {
        let k = login_key(login_id);
        self.write(move |t| {
            let Some(mut login) = get::<Login>(t, &k)? else { return Ok(()) };
            let taken = login_flag(&mut login, by);
            if *taken {
                *taken = false;
                put(t, &k, &login)?;
            }
            Ok(())
        })
        .await
    }
}

/// The field of `login` that says its text message (or call) was taken.
fn login_flag(login: &mut Login, by: Delivery) -> &mut bool {
    match by {
        Delivery::Sms => &mut login.sms_sent,
        Delivery::Voice => &mut login.call_made,
    }
}

/// A phone number's opt-out record.
#[derive(Debug, Serialize, Deserialize)]
struct OptOut {
    at: u64,
}

/// A claimed SNS delivery.
#[derive(Debug, Serialize, Deserialize)]
struct DeliveryClaim {
    expires_at: u64,
}

fn delivery_key(message_id: &str) -> String {
    key(&format!("SNS#{message_id}"), "DELIVERY")
}

/// A count capped by the caller: the messages of a budget's window, a user's grace sign-ins.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Counter {
    count: u32,
}

/// Adds one to the counter at `k` unless it has reached `max`: whether it did.
fn take_one(table: &mut Table<'_, &str, &[u8]>, k: &str, max: u32) -> StoreResult<bool> {
    let mut record = get::<Counter>(table, k)?.unwrap_or_default();
    if record.count >= max {
        return Ok(false);
    }
    record.count += 1;
    put(table, k, &record)?;
    Ok(true)
}

fn phone_key(phone: &str, sk: &str) -> String {
    key(&format!("PHONE#{phone}"), sk)
}

fn passkey_key(id: &ChallengeId) -> String {
    key(&format!("PASSKEY#{id}"), "SIGNIN")
}

fn handle_key(handle: &str) -> String {
    key(&format!("HANDLE#{handle}"), "USER")
}

#[async_trait]
impl PasskeyStore for EmbeddedStore {
    async fn insert_passkey_sign_in(&self, sign_in: &PasskeySignIn) -> StoreResult<()> {
        let (k, sign_in) = (passkey_key(&sign_in.id), sign_in.clone());
        self.write(move |t| insert_new(t, &k, &sign_in)).await
    }

    async fn get_passkey_sign_in(&self, id: &ChallengeId) -> StoreResult<Option<PasskeySignIn>> {
        self.read(passkey_key(id)).await
    }

    async fn consume_passkey_sign_in(&self, id: &ChallengeId, now: u64) -> StoreResult<bool> {
        let k = passkey_key(id);
        self.write(move |t| consume_once(t, &k, now, |s: &mut PasskeySignIn| &mut s.consumed_at))
            .await
    }

    async fn put_user_handle(&self, handle: &str, user: &UserId) -> StoreResult<()> {
        let (k, user) = (handle_key(handle), user.clone());
        self.write(move |t| put(t, &k, &user)).await
    }

    async fn user_of_handle(&self, handle: &str) -> StoreResult<Option<UserId>> {
        self.read(handle_key(handle)).await
    }
}

#[async_trait]
impl PhoneStore for EmbeddedStore {
    async fn opt_out(&self, phone: &str, now: u64) -> StoreResult<()> {
        let k = phone_key(phone, "OPTOUT");
        self.write(move |t| put(t, &k, &OptOut { at: now })).await
    }

    async fn opt_in(&self, phone: &str) -> StoreResult<()> {
        let k = phone_key(phone, "OPTOUT");
        self.write(move |t| t.remove(k.as_str()).map(|_| ()).map_err(unavailable)).await
    }

    async fn is_opted_out(&self, phone: &str) -> StoreResult<bool> {
        Ok(self.read::<OptOut>(phone_key(phone, "OPTOUT")).await?.is_some())
    }

    async fn claim_delivery(
        &self,
        message_id: &str,
        now: u64,
        expires_at: u64,
    ) -> StoreResult<bool> {
        let k = delivery_key(message_id);
        self.write(move |t| {
            if get::<DeliveryClaim>(t, &k)?.is_some_and(|claim| claim.expires_at > now) {
                return Ok(false);
            }
            put(t, &k, &DeliveryClaim { expires_at })?;
            Ok(true)
        })
        .await
    }

    async fn release_delivery(&self, message_id: &str) -> StoreResult<()> {
        let k = delivery_key(message_id);
        self.write(move |t| t.remove(k.as_str()).map(|_| ()).map_err(unavailable)).await
    }
}

fn send_key(limit: &SendLimit, now: u64) -> String {
    let (pk, sk, _) = limit.record(now);
    key(&pk, &sk)
}

#[async_trait]
impl SendStore for EmbeddedStore {
    async fn take_sends(
        &self,
        sending: &Sending<'_>,
        now: u64,
    ) -> StoreResult<Option<SendRefused>> {
        let counters: Vec<(String, u32)> =
            sending.limits.iter().map(|l| (send_key(l, now), l.max)).collect();
        let opt_out = sending.not_opted_out.map(|phone| phone_key(phone, "OPTOUT"));
        let login = sending.login_message.map(|(id, by)| (login_key(id), by));
        let challenge = sending.challenge.map(|c| (challenge_key(&c.id), c.clone()));
        self.write(move |t| {
            // Every condition first, then every write: a refusal writes nothing.
            if let Some(k) = &opt_out {
                if t.get(k.as_str()).map_err(unavailable)?.is_some() {
                    return Ok(Some(SendRefused::OptedOut));
                }
            }
            let login = match &login {
                Some((k, by)) => {
                    let Some(mut record) = get::<Login>(t, k)? else {
                        return Ok(Some(SendRefused::LoginHadMessage));
                    };
                    let taken = login_flag(&mut record, *by);
                    if *taken {
                        return Ok(Some(SendRefused::LoginHadMessage));
                    }
                    *taken = true;
                    Some((k, record))
                }
                None => None,
            };
            let mut counts = Vec::with_capacity(counters.len());
            for (i, (k, max)) in counters.iter().enumerate() {
                let record = get::<Counter>(t, k)?.unwrap_or_default();
                if record.count >= *max {
                    return Ok(Some(SendRefused::Full(i)));
                }
                counts.push(record);
            }
            if let Some((k, _)) = &challenge {
                if t.get(k.as_str()).map_err(unavailable)?.is_some() {
                    return Err(StoreError::AlreadyExists);
                }
            }
            if let Some((k, record)) = login {
                put(t, k, &record)?;
            }
            for ((k, _), mut record) in counters.iter().zip(counts) {
                record.count += 1;
                put(t, k, &record)?;
            }
            if let Some((k, record)) = &challenge {
                put(t, k, record)?;
            }
            Ok(None)
        })
        .await
    }

    async fn sends(&self, limit: &SendLimit, now: u64) -> StoreResult<u32> {
        Ok(self.read::<Counter>(send_key(limit, now)).await?.map_or(0, |c| c.count))
    }
}

#[async_trait]
impl ThrottleStore for EmbeddedStore {
    async fn begin_attempt(&self, user: &UserId, budget: Budget, now: u64) -> StoreResult<Attempt> {
        let k = user_key(user, budget.sort_key());
        self.write(move |t| {
            let mut record = get::<ThrottleRecord>(t, &k)?.unwrap_or_default();
            if let Some(until) = record.locked_until.filter(|until| *until > now) {
                return Ok(Attempt::Locked { until });
            }
            record.failures = record.failures.saturating_add(1);
            record.last_failure_at = now;
            record.locked_until = mfa_core::throttle::locked_until(record.failures, now);
            put(t, &k, &record)?;
            Ok(Attempt::Allowed)
        })
        .await
    }

    async fn succeed(&self, user: &UserId, budget: Budget) -> StoreResult<()> {
        let k = user_key(user, budget.sort_key());
        self.write(move |t| put(t, &k, &ThrottleRecord::default())).await
    }

    async fn failures(&self, user: &UserId, budget: Budget) -> StoreResult<u32> {
        let k = user_key(user, budget.sort_key());
        Ok(self.read::<ThrottleRecord>(k).await?.map_or(0, |r| r.failures))
    }
}

impl From<Option<ThrottleRecord>> for ThrottleState {
    fn from(record: Option<ThrottleRecord>) -> Self {
        record.map_or_else(ThrottleState::default, |r| ThrottleState {
            failures: r.failures,
            locked_until: r.locked_until,
        })
    }
}

/// Reads one record in a read transaction.
fn get_read<T: DeserializeOwned>(
    table: &ReadOnlyTable<&str, &[u8]>,
    key: &str,
) -> StoreResult<Option<T>> {
    table.get(key).map_err(unavailable)?.map(|v| decode(v.value())).transpose()
}

/// What [`Used`] names, owned (a write may run twice).
#[derive(Clone)]
enum UsedKey {
    Challenge {
        key: String,
        factor: String,
        step: Option<u64>,
        max_attempts: Option<u32>,
        now: u64,
    },
    RecoveryCode {
        key: String,
        set: String,
        index: u32,
    },
}

/// A record a passed attempt writes.
enum Record {
    Challenge(Challenge),
    Factor(Factor),
    Recovery(RecoverySet),
}

#[async_trait]
impl AttemptStore for EmbeddedStore {
    async fn challenge_attempt(
        &self,
        user: &UserId,
        id: &ChallengeId,
    ) -> StoreResult<ChallengeAttempt> {
        let (c, t) = (challenge_key(id), user_key(user, Budget::SecondFactor.sort_key()));
        self.reading(move |table| {
            Ok(ChallengeAttempt {
                challenge: get_read(table, &c)?,
                throttle: get_read::<ThrottleRecord>(table, &t)?.into(),
            })
        })
        .await
    }

    async fn recovery_attempt(
        &self,
        user: &UserId,
        login: Option<&LoginId>,
    ) -> StoreResult<RecoveryAttempt> {
        let set = user_key(user, "RECOVERY");
        let t = user_key(user, Budget::RecoveryCodes.sort_key());
        let login = login.map(login_key);
        self.reading(move |table| {
            Ok(RecoveryAttempt {
                set: get_read(table, &set)?,
                login: login.map(|l| get_read(table, &l)).transpose()?.flatten(),
                throttle: get_read::<ThrottleRecord>(table, &t)?.into(),
            })
        })
        .await
    }

    async fn pass_attempt(&self, pass: &Pass<'_>) -> StoreResult<Passed> {
        let used = match pass.used {
            Used::Challenge { id, factor, step, max_attempts, now } => UsedKey::Challenge {
                key: challenge_key(id),
                factor: factor_key(pass.user, factor),
                step,
                max_attempts,
                now,
            },
            Used::RecoveryCode { set, index } => UsedKey::RecoveryCode {
                key: user_key(pass.user, "RECOVERY"),
                set: set.to_owned(),
                index,
            },
        };
        let throttle = user_key(pass.user, pass.budget.sort_key());
        let seen = pass.seen;
        let event = pass.event.map(|e| (audit_key(e), e.clone()));
        self.write(move |t| {
            // Every condition first, then every write: a refusal writes nothing.
            let mut writes: Vec<(String, Record)> = Vec::with_capacity(4);
            match used.clone() {
                UsedKey::Challenge { key, factor, step, max_attempts, now } => {
                    let Some(mut challenge) = get::<Challenge>(t, &key)?.filter(|c| {
                        c.consumed_at.is_none() && max_attempts.is_none_or(|max| c.attempts < max)
                    }) else {
                        return Ok(Passed::AlreadyUsed);
                    };
                    let Some(mut record) =
                        get::<Factor>(t, &factor)?.filter(|f| f.status == FactorStatus::Active)
                    else {
                        return Ok(Passed::FactorRefused);
                    };
                    if let Some(step) = step {
                        match &mut record.method {
                            Method::Totp { last_step, .. }
                                if last_step.is_none_or(|s| s < step) =>
                            {
                                *last_step = Some(step);
                            }
                            _ => return Ok(Passed::FactorRefused),
                        }
                        writes.push((factor, Record::Factor(record)));
                    }
                    challenge.consumed_at = Some(now);
                    challenge.attempts += u32::from(max_attempts.is_some());
                    writes.push((key, Record::Challenge(challenge)));
                }
                UsedKey::RecoveryCode { key, set: set_id, index } => {
                    let Some(mut set) = get::<RecoverySet>(t, &key)?.filter(|set| {
                        set.id == set_id
                            && !set.used.contains(&index)
                            && (index as usize) < set.hashes.len()
                    }) else {
                        return Ok(Passed::AlreadyUsed);
                    };
                    set.used.push(index);
                    writes.push((key, Record::Recovery(set)));
                }
            }
            if get::<ThrottleRecord>(t, &throttle)?.map_or(0, |r| r.failures) != seen {
                return Ok(Passed::ThrottleMoved);
            }
            if let Some((k, _)) = &event {
                if t.get(k.as_str()).map_err(unavailable)?.is_some() {
                    return Err(StoreError::AlreadyExists);
                }
            }
            for (k, record) in &writes {
                match record {
                    Record::Challenge(c) => put(t, k, c)?,
                    Record::Factor(f) => put(t, k, f)?,
                    Record::Recovery(r) => put(t, k, r)?,
                }
            }
            put(t, &throttle, &ThrottleRecord::default())?;
            if let Some((k, e)) = &event {
                put(t, k, e)?;
            }
            Ok(Passed::Yes)
        })
        .await
    }

    async fn fail_attempt(&self, fail: &Fail<'_>) -> StoreResult<bool> {
        let throttle = user_key(fail.user, fail.budget.sort_key());
        let (seen, now) = (fail.seen, fail.now);
        let challenge = fail.challenge.map(challenge_key);
        let event = fail.event.map(|e| (audit_key(e), e.clone()));
        self.write(move |t| {
            let mut record = get::<ThrottleRecord>(t, &throttle)?.unwrap_or_default();
            if record.failures != seen {
                return Ok(false);
            }
            let challenged = match &challenge {
                Some(k) => match get::<Challenge>(t, k)? {
                    Some(c) => Some((k, c)),
                    None => return Ok(false),
                },
                None => None,
            };
            if let Some((k, _)) = &event {
                if t.get(k.as_str()).map_err(unavailable)?.is_some() {
                    return Err(StoreError::AlreadyExists);
                }
            }
            record.failures = seen.saturating_add(1);
            record.last_failure_at = now;
            record.locked_until = mfa_core::throttle::locked_until(record.failures, now);
            put(t, &throttle, &record)?;
            if let Some((k, mut c)) = challenged {
                c.attempts = c.attempts.saturating_add(1);
                put(t, k, &c)?;
            }
            if let Some((k, e)) = &event {
                put(t, k, e)?;
            }
            Ok(true)
        })
        .await
    }
}

/// A taken step-up token.
#[derive(Debug, Serialize, Deserialize)]
struct TakenStepUp {
    expires_at: u64,
}

fn app_key_key(id: &KeyId) -> String {
    key("APIKEYS", &format!("KEY#{id}"))
}

#[async_trait]
impl AppKeyStore for EmbeddedStore {
    async fn insert_app_key(&self, app_key: &AppKey) -> StoreResult<()> {
        let (k, app_key) = (app_key_key(&app_key.id), app_key.clone());
        self.write(move |t| insert_new(t, &k, &app_key)).await
    }

    async fn get_app_key(&self, id: &KeyId) -> StoreResult<Option<AppKey>> {
        self.read(app_key_key(id)).await
    }

    async fn list_app_keys(&self) -> StoreResult<Vec<AppKey>> {
        let mut keys: Vec<AppKey> = self.read_prefix(key("APIKEYS", "KEY#")).await?;
        keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(keys)
    }

    async fn delete_app_key(&self, id: &KeyId) -> StoreResult<bool> {
        let k = app_key_key(id);
        self.write(move |t| Ok(t.remove(k.as_str()).map_err(unavailable)?.is_some())).await
    }
}

#[async_trait]
impl StepUpStore for EmbeddedStore {
    async fn take_step_up(&self, jti: &str, expires_at: u64) -> StoreResult<bool> {
        let k = key(&format!("STEPUP#{jti}"), "TAKEN");
        self.write(move |t| match insert_new(t, &k, &TakenStepUp { expires_at }) {
            Ok(()) => Ok(true),
            Err(StoreError::AlreadyExists) => Ok(false),
            Err(e) => Err(e),
        })
        .await
    }
}

#[async_trait]
impl PolicyStore for EmbeddedStore {
    async fn get_policy(&self, org: &OrgId) -> StoreResult<OrgPolicy> {
        Ok(self.read(key(&format!("ORG#{org}"), "POLICY")).await?.unwrap_or_default())
    }

    async fn get_policies(&self, orgs: &[OrgId]) -> StoreResult<Vec<OrgPolicy>> {
        let keys: Vec<String> =
            orgs.iter().map(|org| key(&format!("ORG#{org}"), "POLICY")).collect();
        self.reading(move |table| {
            keys.iter().map(|k| Ok(get_read::<OrgPolicy>(table, k)?.unwrap_or_default())).collect()
        })
        .await
    }

    async fn put_policy(&self, org: &OrgId, policy: &OrgPolicy) -> StoreResult<()> {
        let (k, policy) = (key(&format!("ORG#{org}"), "POLICY"), policy.clone());
        self.write(move |t| put(t, &k, &policy)).await
    }

    async fn put_memberships(&self, user: &UserId, orgs: &[OrgId]) -> StoreResult<()> {
        let (k, record) = (user_key(user, "ORGS"), Memberships { orgs: orgs.to_vec() });
        self.write(move |t| put(t, &k, &record)).await
    }

    async fn memberships(&self, user: &UserId) -> StoreResult<Vec<OrgId>> {
        let record: Option<Memberships> = self.read(user_key(user, "ORGS")).await?;
        Ok(record.map(|r| r.orgs).unwrap_or_default())
    }

    async fn take_grace_login(&self, user: &UserId, org: &OrgId, max: u32) -> StoreResult<bool> {
        let k = user_key(user, &format!("GRACE#{org}"));
        self.write(move |t| take_one(t, &k, max)).await
    }
}

#[async_trait]
impl AuditLog for EmbeddedStore {
    async fn append(&self, event: &AuditEvent) -> StoreResult<()> {
        let k = audit_key(event);
        let event = event.clone();
        self.write(move |t| insert_new(t, &k, &event)).await
    }

    /// Every event is kept ([`crate::ports::AUDIT_RETENTION`] is DynamoDB's sweep; the embedded
    /// store is for local use).
    async fn latest_events(&self, user: &UserId, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        let events: Vec<AuditEvent> = self.read_prefix(user_key(user, "AUDIT#")).await?;
        Ok(events.into_iter().rev().take(limit).collect())
    }
}
