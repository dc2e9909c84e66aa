//! A store that fails its N-th call, for the fault tests: every port operation goes to the
//! embedded store, counted; the one numbered `fail_at` fails with [`StoreError::Unavailable`],
//! either before it reaches the store (the request was lost) or after (the write was made, the
//! answer was lost).
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use mfa_service::ids::{ChallengeId, FactorId, KeyId, LoginId, OrgId, UserId};
use mfa_service::model::{
    AppKey, Attempt, AuditEvent, Budget, Challenge, Delivery, Factor, FactorStatus, Login,
    OrgPolicy, PasskeySignIn, RecoverySet, SendLimit,
};
use mfa_service::ports::{
    Activation, AppKeyStore, AttemptStore, AuditLog, ChallengeAttempt, FactorStore, Fail,
    LoginStore, Pass, Passed, PasskeyStore, PhoneStore, PolicyStore, RecoveryAttempt,
    RecoveryStore, SendRefused, SendStore, Sending, StepUpStore, StoreError, StoreResult,
    ThrottleStore,
};
use mfa_service::store::embedded::EmbeddedStore;

/// When the injected failure happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call never reaches the store.
    Before,
    /// The call is made; its answer is lost.
    After,
}

/// The embedded store, failing one numbered call.
pub struct FaultyStore {
    inner: EmbeddedStore,
    calls: AtomicUsize,
    plan: Mutex<Option<(usize, Fault)>>,
}

impl FaultyStore {
    /// Wraps `inner`, failing nothing yet.
    pub fn new(inner: EmbeddedStore) -> Self {
        Self { inner, calls: AtomicUsize::new(0), plan: Mutex::new(None) }
    }

    /// The store itself, for the test's own reads: never failed, never counted.
    pub fn inner(&self) -> &EmbeddedStore {
        &self.inner
    }

    /// From now on, counts calls from 1 and fails the `n`-th one with `fault`.
    pub fn fail_at(&self, n: usize, fault: Fault) {
        self.calls.store(0, Ordering::SeqCst);
        *self.plan.lock().unwrap_or_else(|p| p.into_inner()) = Some((n, fault));
    }

    /// Fails nothing any more; returns how many calls were made since `fail_at` (or `count`).
    pub fn heal(&self) -> usize {
        *self.plan.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.calls.swap(0, Ordering::SeqCst)
    }

    async fn call<T>(&self, operation: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let plan = *self.plan.lock().unwrap_or_else(|p| p.into_inner());
        let injected = || StoreError::Unavailable(format!("injected failure of call {n}"));
        match plan {
            Some((at, Fault::Before)) if at == n => Err(injected()),
            Some((at, Fault::After)) if at == n => {
                operation.await?;
                Err(injected())
            }
            _ => operation.await,
        }
    }
}

#[async_trait]
impl FactorStore for FaultyStore {
    async fn insert_factor(&self, factor: &Factor) -> StoreResult<()> {
        self.call(self.inner.insert_factor(factor)).await
    }
    async fn get_factor(&self, user: &UserId, id: &FactorId) -> StoreResult<Option<Factor>> {
        self.call(self.inner.get_factor(user, id)).await
    }
    async fn list_factors(&self, user: &UserId) -> StoreResult<Vec<Factor>> {
        self.call(self.inner.list_factors(user)).await
    }
    async fn factors_and_orgs(&self, user: &UserId) -> StoreResult<(Vec<Factor>, Vec<OrgId>)> {
        self.call(self.inner.factors_and_orgs(user)).await
    }
    async fn activate_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        activation: &Activation<'_>,
    ) -> StoreResult<bool> {
        self.call(self.inner.activate_factor(user, id, activation)).await
    }
    async fn update_webauthn_key(
        &self,
        user: &UserId,
        id: &FactorId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        self.call(self.inner.update_webauthn_key(user, id, old, new)).await
    }
    async fn delete_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        status: FactorStatus,
    ) -> StoreResult<bool> {
        self.call(self.inner.delete_factor(user, id, status)).await
    }
    async fn change_phone(
        &self,
        user: &UserId,
        id: &FactorId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        self.call(self.inner.change_phone(user, id, old, new)).await
    }
}

#[async_trait]
impl RecoveryStore for FaultyStore {
    async fn replace_recovery_set(&self, user: &UserId, set: &RecoverySet) -> StoreResult<()> {
        self.call(self.inner.replace_recovery_set(user, set)).await
    }
    async fn get_recovery_set(&self, user: &UserId) -> StoreResult<Option<RecoverySet>> {
        self.call(self.inner.get_recovery_set(user)).await
    }
}

#[async_trait]
impl LoginStore for FaultyStore {
    async fn insert_login(&self, login: &Login) -> StoreResult<()> {
        self.call(self.inner.insert_login(login)).await
    }
    async fn get_login(&self, id: &LoginId) -> StoreResult<Option<Login>> {
        self.call(self.inner.get_login(id)).await
    }
    async fn insert_challenge(&self, challenge: &Challenge) -> StoreResult<()> {
        self.call(self.inner.insert_challenge(challenge)).await
    }
    async fn get_challenge(&self, id: &ChallengeId) -> StoreResult<Option<Challenge>> {
        self.call(self.inner.get_challenge(id)).await
    }
    async fn consume_challenge(&self, id: &ChallengeId, now: u64) -> StoreResult<bool> {
        self.call(self.inner.consume_challenge(id, now)).await
    }
    async fn record_challenge_attempt(&self, id: &ChallengeId, max: u32) -> StoreResult<bool> {
        self.call(self.inner.record_challenge_attempt(id, max)).await
    }
    async fn challenge_context(
        &self,
        user: &UserId,
        login: &LoginId,
        factor: &FactorId,
    ) -> StoreResult<(Option<Login>, Option<Factor>, Vec<OrgId>)> {
        self.call(self.inner.challenge_context(user, login, factor)).await
    }
    async fn return_login_message(&self, login_id: &LoginId, by: Delivery) -> StoreResult<()> {
        self.call(self.inner.return_login_message(login_id, by)).await
    }
}

#[async_trait]
impl PasskeyStore for FaultyStore {
    async fn insert_passkey_sign_in(&self, sign_in: &PasskeySignIn) -> StoreResult<()> {
        self.call(self.inner.insert_passkey_sign_in(sign_in)).await
    }
    async fn get_passkey_sign_in(&self, id: &ChallengeId) -> StoreResult<Option<PasskeySignIn>> {
        self.call(self.inner.get_passkey_sign_in(id)).await
    }
    async fn consume_passkey_sign_in(&self, id: &ChallengeId, now: u64) -> StoreResult<bool> {
        self.call(self.inner.consume_passkey_sign_in(id, now)).await
    }
    async fn put_user_handle(&self, handle: &str, user: &UserId) -> StoreResult<()> {
        self.call(self.inner.put_user_handle(handle, user)).await
    }
    async fn user_of_handle(&self, handle: &str) -> StoreResult<Option<UserId>> {
        self.call(self.inner.user_of_handle(handle)).await
    }
}

#[async_trait]
impl PhoneStore for FaultyStore {
    async fn opt_out(&self, phone: &str, now: u64) -> StoreResult<()> {
        self.call(self.inner.opt_out(phone, now)).await
    }
    async fn opt_in(&self, phone: &str) -> StoreResult<()> {
        self.call(self.inner.opt_in(phone)).await
    }
    async fn is_opted_out(&self, phone: &str) -> StoreResult<bool> {
        self.call(self.inner.is_opted_out(phone)).await
    }
    async fn claim_delivery(
        &self,
        message_id: &str,
        now: u64,
        expires_at: u64,
    ) -> StoreResult<bool> {
        self.call(self.inner.claim_delivery(message_id, now, expires_at)).await
    }
    async fn release_delivery(&self, message_id: &str) -> StoreResult<()> {
        self.call(self.inner.release_delivery(message_id)).await
    }
}

#[async_trait]
impl SendStore for FaultyStore {
    async fn take_sends(
        &self,
        sending: &Sending<'_>,
        now: u64,
    ) -> StoreResult<Option<SendRefused>> {
        self.call(self.inner.take_sends(sending, now)).await
    }
    async fn sends(&self, limit: &SendLimit, now: u64) -> StoreResult<u32> {
        self.call(self.inner.sends(limit, now)).await
    }
}

#[async_trait]
impl ThrottleStore for FaultyStore {
    async fn begin_attempt(&self, user: &UserId, budget: Budget, now: u64) -> StoreResult<Attempt> {
        self.call(self.inner.begin_attempt(user, budget, now)).await
    }
    async fn succeed(&self, user: &UserId, budget: Budget) -> StoreResult<()> {
        self.call(self.inner.succeed(user, budget)).await
    }
    async fn failures(&self, user: &UserId, budget: Budget) -> StoreResult<u32> {
        self.call(self.inner.failures(user, budget)).await
    }
}

#[async_trait]
impl AttemptStore for FaultyStore {
    async fn challenge_attempt(
        &self,
        user: &UserId,
        id: &ChallengeId,
    ) -> StoreResult<ChallengeAttempt> {
        self.call(self.inner.challenge_attempt(user, id)).await
    }
    async fn recovery_attempt(
        &self,
        user: &UserId,
        login: Option<&LoginId>,
    ) -> StoreResult<RecoveryAttempt> {
        self.call(self.inner.recovery_attempt(user, login)).await
    }
    async fn pass_attempt(&self, pass: &Pass<'_>) -> StoreResult<Passed> {
        self.call(self.inner.pass_attempt(pass)).await
    }
    async fn fail_attempt(&self, fail: &Fail<'_>) -> StoreResult<bool> {
        self.call(self.inner.fail_attempt(fail)).await
    }
}

#[async_trait]
impl StepUpStore for FaultyStore {
    async fn take_step_up(&self, jti: &str, expires_at: u64) -> StoreResult<bool> {
        self.call(self.inner.take_step_up(jti, expires_at)).await
    }
}

#[async_trait]
impl PolicyStore for FaultyStore {
    async fn get_policy(&self, org: &OrgId) -> StoreResult<OrgPolicy> {
        self.call(self.inner.get_policy(org)).await
    }
    async fn get_policies(&self, orgs: &[OrgId]) -> StoreResult<Vec<OrgPolicy>> {
        self.call(self.inner.get_policies(orgs)).await
    }
    async fn put_policy(&self, org: &OrgId, policy: &OrgPolicy) -> StoreResult<()> {
        self.call(self.inner.put_policy(org, policy)).await
    }
    async fn put_memberships(&self, user: &UserId, orgs: &[OrgId]) -> StoreResult<()> {
        self.call(self.inner.put_memberships(user, orgs)).await
    }
    async fn memberships(&self, user: &UserId) -> StoreResult<Vec<OrgId>> {
        self.call(self.inner.memberships(user)).await
    }
    async fn take_grace_login(&self, user: &UserId, org: &OrgId, max: u32) -> StoreResult<bool> {
        self.call(self.inner.take_grace_login(user, org, max)).await
    }
}

#[async_trait]
impl AuditLog for FaultyStore {
    async fn append(&self, event: &AuditEvent) -> StoreResult<()> {
        self.call(self.inner.append(event)).await
    }
    async fn latest_events(&self, user: &UserId, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        self.call(self.inner.latest_events(user, limit)).await
    }
}

#[async_trait]
impl AppKeyStore for FaultyStore {
    async fn insert_app_key(&self, key: &AppKey) -> StoreResult<()> {
        self.call(self.inner.insert_app_key(key)).await
    }
    async fn get_app_key(&self, id: &KeyId) -> StoreResult<Option<AppKey>> {
        self.call(self.inner.get_app_key(id)).await
    }
    async fn list_app_keys(&self) -> StoreResult<Vec<AppKey>> {
        self.call(self.inner.list_app_keys()).await
    }
    async fn delete_app_key(&self, id: &KeyId) -> StoreResult<bool> {
        self.call(self.inner.delete_app_key(id)).await
    }
}
