//! Faults lose nothing. For each flow a user goes through (enroll and activate an app, activate
//! a text number, sign in, use a recovery code, change a phone number, delete a factor), the store fails its N-th call, for
//! every N the flow makes, once before the call reaches the store and once after it was made
//! (its answer lost). After each failure the user's state must be whole: no active factor
//! without a recovery set, no code that let someone in still counted unused, a factor's number
//! either the old or the new one. Then the user's next attempt must succeed, or, after a failure
//! after the call, find the work done.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod faulty;

use std::sync::Arc;

use async_trait::async_trait;
use common::{config, new_user, Outbox, TestClock};
use faulty::{Fault, FaultyStore};
use mfa_core::secret::TotpSecret;
use mfa_core::totp::{totp_code, TotpParams};
use mfa_service::domain::{Error, Mfa, NewFactor, Proof, StepUpFor};
use mfa_service::ids::{FactorId, UserId};
use mfa_service::model::{AuthMethod, FactorStatus, Method, Operation};
use mfa_service::ports::{FactorStore, RecoveryStore};
use mfa_service::store::embedded::EmbeddedStore;
use rand_core::OsRng;
use tempfile::TempDir;

const NOW: u64 = 1_750_000_000;
/// A TOTP step and a second: the next code of an app.
const NEXT_STEP: u64 = 31;

/// The domain over a store that fails when told to.
struct Rig {
    mfa: Mfa,
    store: Arc<FaultyStore>,
    clock: Arc<TestClock>,
    outbox: Arc<Outbox>,
    _dir: TempDir,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FaultyStore::new(EmbeddedStore::open(dir.path().join("s.redb")).unwrap()));
    let (ports, clock, outbox) = common::ports(store.clone(), NOW);
    Rig { mfa: Mfa::new(&config(&[]), ports).unwrap(), store, clock, outbox, _dir: dir }
}

/// An authenticator app: its factor and secret.
struct App {
    factor: FactorId,
    secret: TotpSecret,
}

impl App {
    fn code(&self, rig: &Rig) -> String {
        totp_code(&self.secret, rig.clock_now(), &TotpParams::default())
    }
}

impl Rig {
    fn clock_now(&self) -> u64 {
        mfa_service::ports::Clock::now(&*self.clock)
    }

    /// Enrolls an app and activates it: the user's first factor, with its recovery codes.
    async fn app(&self, user: &UserId) -> Result<(App, Option<Vec<String>>), Error> {
        let new = NewFactor::Totp { label: None, account_name: None };
        let enrolled = self.mfa.enroll(user, new, None).await?;
        let secret = enrolled.app_setup.unwrap().secret;
        let app =
            App { factor: enrolled.factor.id, secret: TotpSecret::from_base32(&secret).unwrap() };
        let activated = self.mfa.activate(user, &app.factor, &Proof::Code(app.code(self))).await?;
        Ok((app, activated.recovery_codes))
    }

    /// A step-up token for `operation` on `target`, proved by `app`.
    async fn step_up(
        &self,
        user: &UserId,
        app: &App,
        operation: Operation,
        target: Option<&FactorId>,
    ) -> Result<String, Error> {
        let wanted = StepUpFor { operation, target: target.cloned() };
        let started = self.mfa.start_step_up(user, wanted, &app.factor, None).await?;
        let proof = Proof::Code(app.code(self));
        Ok(self.mfa.finish_step_up(user, &started.challenge_id, &proof).await?.token)
    }

    /// No active factor without a recovery set with codes left.
    async fn factors_have_their_recovery_set(&self, user: &UserId) {
        let active = self.store.inner().list_factors(user).await.unwrap();
        if active.iter().any(|f| f.status == FactorStatus::Active) {
            let set = self.store.inner().get_recovery_set(user).await.unwrap();
            assert!(set.is_some_and(|s| s.remaining() > 0), "an active factor without codes");
        }
    }
}

/// A flow of the user's, from a state set up without faults.
#[async_trait]
trait Flow: Sync {
    /// What the flow starts from.
    type Start: Send + Sync;
    /// Brings a new user to where the flow starts.
    async fn setup(&self, rig: &Rig, user: &UserId) -> Self::Start;
    /// The flow, attempt `attempt` (0 first).
    async fn run(
        &self,
        rig: &Rig,
        user: &UserId,
        start: &Self::Start,
        attempt: usize,
    ) -> Result<(), Error>;
    /// What must hold after a failed attempt.
    async fn whole(&self, rig: &Rig, user: &UserId, start: &Self::Start);
    /// Whether what the flow does is done (a failure after its last write leaves it done, and
    /// the next attempt may then be refused as done already); `false` for a flow that leaves
    /// nothing done (a sign-in), whose next attempt must succeed.
    async fn done(&self, rig: &Rig, user: &UserId, start: &Self::Start) -> bool;
}

/// Runs `flow` failing each of its store calls in turn, before and after; returns how many
/// calls the flow makes.
async fn every_fault<F: Flow>(flow: F) -> usize {
    let clean = rig();
    let user = new_user();
    let start = flow.setup(&clean, &user).await;
    clean.store.heal();
    flow.run(&clean, &user, &start, 0).await.unwrap();
    let calls = clean.store.heal();
    assert!(calls > 0);
    eprintln!("{}: {calls} store calls, each failed before and after", std::any::type_name::<F>());
    for fault in [Fault::Before, Fault::After] {
        for n in 1..=calls {
            let rig = rig();
            let user = new_user();
            let start = flow.setup(&rig, &user).await;
            rig.store.fail_at(n, fault);
            let failed = flow.run(&rig, &user, &start, 0).await;
            rig.store.heal();
            flow.whole(&rig, &user, &start).await;
            rig.factors_have_their_recovery_set(&user).await;
            if failed.is_ok() {
                // Only a call whose failure the flow may shrug off (the audit log's) failed.
                continue;
            }
            // The next attempt succeeds; after a failure after the call, it may instead find the
            // work done.
            let done_before = fault == Fault::After && flow.done(&rig, &user, &start).await;
            rig.clock.advance(NEXT_STEP);
            let again = flow.run(&rig, &user, &start, 1).await;
            assert!(
                again.is_ok() || done_before,
                "{fault:?} call {n}: the next attempt failed: {again:?}"
            );
            flow.whole(&rig, &user, &start).await;
        }
    }
    calls
}

struct EnrollAndActivate;

#[async_trait]
impl Flow for EnrollAndActivate {
    type Start = ();
    async fn setup(&self, _: &Rig, _: &UserId) {}
    async fn run(&self, rig: &Rig, user: &UserId, _: &(), _: usize) -> Result<(), Error> {
        let (_, codes) = rig.app(user).await?;
        assert_eq!(codes.map(|c| c.len()), Some(10), "the first factor brings its codes");
        Ok(())
    }
    async fn whole(&self, _: &Rig, _: &UserId, _: &()) {}
    async fn done(&self, rig: &Rig, user: &UserId, _: &()) -> bool {
        let factors = rig.store.inner().list_factors(user).await.unwrap();
        factors.iter().any(|f| f.status == FactorStatus::Active)
    }
}

struct ActivateByText;

/// A pending SMS factor, its code sent.
struct PendingText {
    factor: FactorId,
    phone: String,
}

#[async_trait]
impl Flow for ActivateByText {
    type Start = PendingText;
    async fn setup(&self, rig: &Rig, user: &UserId) -> PendingText {
        let phone = unique_phone();
        let sms = NewFactor::Sms { phone: phone.clone(), label: None, delivery: None };
        let factor = rig.mfa.enroll(user, sms, None).await.unwrap().factor.id;
        PendingText { factor, phone }
    }
    async fn run(&self, rig: &Rig, user: &UserId, p: &PendingText, _: usize) -> Result<(), Error> {
        // The same code again: a failed activation must not have used it up.
        let code = Proof::Code(rig.outbox.last_code_to(&p.phone));
        rig.mfa.activate(user, &p.factor, &code).await.map(|_| ())
    }
    async fn whole(&self, _: &Rig, _: &UserId, _: &PendingText) {}
    async fn done(&self, rig: &Rig, user: &UserId, p: &PendingText) -> bool {
        let factor = rig.store.inner().get_factor(user, &p.factor).await.unwrap().unwrap();
        factor.status == FactorStatus::Active
    }
}

/// A North American number of the test's own.
fn unique_phone() -> String {
    format!("+1415555{:04}", rand_core::RngCore::next_u32(&mut OsRng) % 10_000)
}

struct SignIn;

#[async_trait]
impl Flow for SignIn {
    type Start = App;
    async fn setup(&self, rig: &Rig, user: &UserId) -> App {
        let (app, _) = rig.app(user).await.unwrap();
        rig.clock.advance(NEXT_STEP);
        app
    }
    async fn run(&self, rig: &Rig, user: &UserId, app: &App, _: usize) -> Result<(), Error> {
        let login = rig.mfa.login(user, AuthMethod::Password, None).await?;
        let challenged = rig.mfa.challenge(user, &login.login_id, &app.factor, None).await?;
        let proof = Proof::Code(app.code(rig));
        rig.mfa.verify(user, &challenged.challenge_id, &proof).await.map(|_| ())
    }
    async fn whole(&self, rig: &Rig, user: &UserId, app: &App) {
        let factor = rig.store.inner().get_factor(user, &app.factor).await.unwrap().unwrap();
        assert_eq!(factor.status, FactorStatus::Active);
    }
    async fn done(&self, _: &Rig, _: &UserId, _: &App) -> bool {
        false
    }
}

struct RecoveryCode;

#[async_trait]
impl Flow for RecoveryCode {
    type Start = Vec<String>;
    async fn setup(&self, rig: &Rig, user: &UserId) -> Vec<String> {
        rig.app(user).await.unwrap().1.unwrap()
    }
    async fn run(
        &self,
        rig: &Rig,
        user: &UserId,
        codes: &Vec<String>,
        attempt: usize,
    ) -> Result<(), Error> {
        // A code that failed may have been used up: the next attempt takes the next code.
        let used = rig.mfa.verify_recovery(user, &codes[attempt], None, None).await?;
        let set = rig.store.inner().get_recovery_set(user).await.unwrap().unwrap();
        assert_eq!(set.remaining(), used.remaining, "the code that let the user in is used");
        Ok(())
    }
    async fn whole(&self, rig: &Rig, user: &UserId, codes: &Vec<String>) {
        let set = rig.store.inner().get_recovery_set(user).await.unwrap().unwrap();
        assert_eq!(set.hashes.len(), codes.len(), "the same set");
        assert!(set.used.len() <= 2, "at most the codes tried are used: {:?}", set.used);
    }
    async fn done(&self, _: &Rig, _: &UserId, _: &Vec<String>) -> bool {
        false
    }
}

struct PhoneChange;

/// An SMS factor on `old`, and the number to change to.
struct Phones {
    factor: FactorId,
    old: String,
    new: String,
}

#[async_trait]
impl Flow for PhoneChange {
    type Start = Phones;
    async fn setup(&self, rig: &Rig, user: &UserId) -> Phones {
        let (old, new) = (unique_phone(), unique_phone());
        let sms = NewFactor::Sms { phone: old.clone(), label: None, delivery: None };
        let factor = rig.mfa.enroll(user, sms, None).await.unwrap().factor.id;
        let code = Proof::Code(rig.outbox.last_code_to(&old));
        rig.mfa.activate(user, &factor, &code).await.unwrap();
        Phones { factor, old, new }
    }
    async fn run(&self, rig: &Rig, user: &UserId, p: &Phones, _: usize) -> Result<(), Error> {
        let wanted =
            StepUpFor { operation: Operation::ChangePhone, target: Some(p.factor.clone()) };
        let started = rig.mfa.start_step_up(user, wanted, &p.factor, None).await?;
        let proof = Proof::Code(rig.outbox.last_code_to(&p.old));
        let token = rig.mfa.finish_step_up(user, &started.challenge_id, &proof).await?.token;
        let next = rig.mfa.start_phone_change(user, &p.factor, &p.new, Some(&token)).await?;
        let mfa_service::domain::answers::PhoneChange::VerifyNewNumber { challenge_id, .. } = next
        else {
            panic!("{next:?}")
        };
        let code = rig.outbox.last_code_to(&p.new);
        rig.mfa.continue_phone_change(user, &p.factor, &challenge_id, &code).await.map(|_| ())
    }
    async fn whole(&self, rig: &Rig, user: &UserId, p: &Phones) {
        let factor = rig.store.inner().get_factor(user, &p.factor).await.unwrap().unwrap();
        assert_eq!(factor.status, FactorStatus::Active);
        let Method::Sms { phone, .. } = &factor.method else { panic!("{factor:?}") };
        assert!(*phone == p.old || *phone == p.new, "half-changed: {phone}");
    }
    async fn done(&self, rig: &Rig, user: &UserId, p: &Phones) -> bool {
        let factor = rig.store.inner().get_factor(user, &p.factor).await.unwrap().unwrap();
        matches!(&factor.method, Method::Sms { phone, .. } if *phone == p.new)
    }
}

struct Delete;

#[async_trait]
impl Flow for Delete {
    type Start = App;
    async fn setup(&self, rig: &Rig, user: &UserId) -> App {
        let (app, _) = rig.app(user).await.unwrap();
        rig.clock.advance(NEXT_STEP);
        app
    }
    async fn run(&self, rig: &Rig, user: &UserId, app: &App, _: usize) -> Result<(), Error> {
        let target = Some(&app.factor);
        let token = rig.step_up(user, app, Operation::DeleteFactor, target).await?;
        rig.mfa.delete(user, &app.factor, Some(&token)).await
    }
    async fn whole(&self, rig: &Rig, user: &UserId, app: &App) {
        let left = rig.store.inner().get_factor(user, &app.factor).await.unwrap();
        assert!(left.as_ref().is_none_or(|f| f.status == FactorStatus::Active), "{left:?}");
        assert!(
            rig.store.inner().get_recovery_set(user).await.unwrap().is_some(),
            "the codes stay"
        );
    }
    async fn done(&self, rig: &Rig, user: &UserId, app: &App) -> bool {
        rig.store.inner().get_factor(user, &app.factor).await.unwrap().is_none()
    }
}

#[tokio::test]
async fn enrolling_and_activating_loses_nothing() {
    assert!(every_fault(EnrollAndActivate).await >= 5);
}

#[tokio::test]
async fn activating_with_a_texted_code_loses_nothing() {
    assert!(every_fault(ActivateByText).await >= 5);
}

#[tokio::test]
async fn signing_in_loses_nothing() {
    assert!(every_fault(SignIn).await >= 5);
}

#[tokio::test]
async fn a_recovery_code_loses_nothing() {
    assert!(every_fault(RecoveryCode).await >= 3);
}

#[tokio::test]
async fn a_phone_change_loses_nothing() {
    assert!(every_fault(PhoneChange).await >= 8);
}

#[tokio::test]
async fn deleting_a_factor_loses_nothing() {
    assert!(every_fault(Delete).await >= 5);
}
