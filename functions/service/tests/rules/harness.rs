//! The world the rules run in: the real [`Mfa`] over one store (embedded, or DynamoDB as moto
//! serves it), with a clock the test moves and an outbox that keeps every text, call and email;
//! members holding one active factor of each kind that takes a code; and the moves the rules are
//! made of (sign in, fail, step up, recover).

use std::fmt::Debug;
use std::sync::Arc;

use mfa_service::config::Config;
use mfa_service::domain::answers::{Activated, Challenged, IssuedToken, RecoveryUsed};
use mfa_service::domain::{Error, Mfa, NewFactor, Proof, StepUpFor};
use mfa_service::ids::{ChallengeId, FactorId, LoginId, UserId};
use mfa_service::model::{AuthMethod, Delivery, Operation};
use mfa_service::ports::{Clock, Store};
use rand_core::{OsRng, RngCore};
use tempfile::TempDir;

use crate::common::{self, Outbox, TestClock};

/// Where every harness's clock starts: the start of a clock hour (and so of a 30-second TOTP
/// step).
pub const NOW: u64 = 1_750_003_200;

/// The TOTP time step: RFC 6238's default, which the README's apps use ("at the next 30-second
/// step").
const TOTP_STEP: u64 = 30;

/// How a code reaches the user, or where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A text message to the SMS factor.
    Text,
    /// A call to the SMS factor that reads the code out.
    Call,
    /// An email to the email factor.
    Email,
    /// The authenticator app of the TOTP factor.
    App,
}

/// A user with an active email factor (the first, which came with the recovery codes), an
/// active SMS factor and an active TOTP factor.
pub struct Member {
    /// The user.
    pub user: UserId,
    /// The email factor and its address.
    email: (FactorId, String),
    /// The SMS factor and its number.
    sms: (FactorId, String),
    /// The TOTP factor and its otpauth URI (which holds the secret the app computes codes from).
    app: (FactorId, String),
    /// The recovery codes, all unused.
    pub recovery_codes: Vec<String>,
}

impl Member {
    /// The factor that `channel` belongs to.
    pub fn factor(&self, channel: Channel) -> &FactorId {
        match channel {
            Channel::Text | Channel::Call => &self.sms.0,
            Channel::Email => &self.email.0,
            Channel::App => &self.app.0,
        }
    }

    /// The address of the member's email factor.
    pub fn email_address(&self) -> &str {
        &self.email.1
    }

    /// What answers a challenge of `channel`, once its code (if sent) is in `outbox`.
    fn answer(&self, channel: Channel, outbox: &Outbox) -> Answer {
        match channel {
            Channel::Text | Channel::Call => Answer::Sent(outbox.last_code_to(&self.sms.1)),
            Channel::Email => Answer::Sent(outbox.last_code_to(&self.email.1)),
            Channel::App => Answer::App(self.app.1.clone()),
        }
    }
}

/// What answers a challenge or an activation: the code that was sent, or the app's secret (as
/// its otpauth URI), whose code depends on the time.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The code sent by text, call or email.
    Sent(String),
    /// The otpauth URI the app was set up with.
    App(String),
}

impl Answer {
    /// The right code at `now`.
    fn right(&self, now: u64) -> String {
        match self {
            Self::Sent(code) => code.clone(),
            Self::App(uri) => mfa_e2e::code_from_uri(uri, now),
        }
    }

    /// A well-formed code that is wrong at `now`: another than the one sent, or than any the app
    /// shows two steps either side of now.
    fn wrong(&self, now: u64) -> String {
        let taken: Vec<String> = match self {
            Self::Sent(code) => vec![code.clone()],
            Self::App(uri) => (now - 2 * TOTP_STEP..=now + 2 * TOTP_STEP)
                .step_by(TOTP_STEP as usize)
                .map(|at| mfa_e2e::code_from_uri(uri, at))
                .collect(),
        };
        (0..).map(|n| format!("{n:06}")).find(|code| !taken.contains(code)).unwrap()
    }
}

/// A challenge started, and what answers it.
#[derive(Debug)]
pub struct Challenge {
    /// The challenge.
    pub id: ChallengeId,
    /// The sign-in it belongs to.
    pub login: LoginId,
    answer: Answer,
}

/// A pending factor, and what activates it.
#[derive(Debug)]
pub struct Pending {
    /// The factor.
    pub id: FactorId,
    answer: Answer,
}

/// The configuration: email factors and calls on, and two things out of the way.
fn config() -> Config {
    let plenty = || "100000".to_owned();
    common::config(&[
        ("MFA_ISSUER_NAME", "Acme".into()),
        ("MFA_EMAIL_FROM", "mfa@acme.test".into()),
        ("MFA_VOICE_ORIGINATION_IDENTITY", "+12065550100".into()),
        // A sign-in that outlives its codes, so that each code's own lifetime is what ends it.
        ("MFA_LOGIN_TTL_SECONDS", "3600".into()),
        // The sending budgets (another rule, tests/messaging.rs and the conformance suite):
        // never reached here.
        ("MFA_SMS_MAX_PER_HOUR", plenty()),
        ("MFA_VOICE_MAX_PER_HOUR", plenty()),
        ("MFA_EMAIL_MAX_PER_HOUR", plenty()),
        ("MFA_USER_MAX_SENDS_PER_HOUR", plenty()),
        ("MFA_USER_MAX_SENDS_PER_DAY", plenty()),
        ("MFA_MAX_SENDS_PER_HOUR", plenty()),
    ])
}

/// The domain over one store, with a clock the test moves.
pub struct Harness {
    /// The domain, shared with the tasks of the concurrency rules.
    pub mfa: Arc<Mfa>,
    /// The store under it, for what arrives from outside the domain's calls (a STOP reply).
    pub store: Arc<dyn Store>,
    clock: Arc<TestClock>,
    outbox: Arc<Outbox>,
    place: Place,
}

/// Where a harness's store keeps its records.
enum Place {
    /// The embedded store's temporary directory.
    Dir(TempDir),
    /// A DynamoDB table and the client that made it.
    Table(aws_sdk_dynamodb::Client, String),
}

impl Harness {
    /// Over a fresh embedded store.
    pub async fn embedded() -> Self {
        let (store, dir) = common::embedded_store();
        Self::over(store, Place::Dir(dir))
    }

    /// Over DynamoDB at `MFA_TEST_DYNAMODB_ENDPOINT`, in a new table of its own (moto copies
    /// the whole table for each item a transaction writes to it, so a small table keeps every
    /// transaction quick), which [`Harness::close`] deletes.
    pub async fn dynamodb() -> Self {
        let table = format!("mfa-rules-{:016x}", OsRng.next_u64());
        let store = common::dynamodb_store(&table).await;
        Self::over(store, Place::Table(common::dynamodb_client(), table))
    }

    fn over(store: Arc<dyn Store>, place: Place) -> Self {
        let (ports, clock, outbox) = common::ports(store.clone(), NOW);
        let mfa = Arc::new(Mfa::new(&config(), ports).unwrap());
        Self { mfa, store, clock, outbox, place }
    }

    /// Removes the store: its directory, or its table (a test that fails leaves it behind).
    pub async fn close(self) {
        let Self { mfa, store, place, .. } = self;
        drop((mfa, store));
        match place {
            Place::Dir(dir) => dir.close().unwrap(),
            Place::Table(client, table) => {
                client.delete_table().table_name(table).send().await.unwrap();
            }
        }
    }

    /// The harness's time.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Moves the clock `seconds` forward.
    pub fn advance(&self, seconds: u64) {
        self.clock.advance(seconds);
    }

    /// A new member. Setting one up uses the app's current step, so the clock ends one step
    /// later: the member's app code of the time is a fresh one.
    pub async fn member(&self) -> Member {
        let user = common::new_user();
        let address = format!("{user}@acme.test");
        let email = self.enroll(&user, Channel::Email, &address, None).await.unwrap();
        let activated = self.activate(&user, &email, true).await.unwrap();
        let recovery_codes = activated.recovery_codes.unwrap();
        let email = (email.id, address);
        let sms = self.add_factor(&user, &email, Channel::Text, mfa_e2e::unique_phone()).await;
        let app = self.add_factor(&user, &email, Channel::App, String::new()).await;
        self.advance(TOTP_STEP);
        Member { user, email, sms, app, recovery_codes }
    }

    /// Adds an active factor of `channel` for `user`, its codes to `to`, with a step-up proved by
    /// `email`: the factor, and its number or address (the app's: its otpauth URI).
    async fn add_factor(
        &self,
        user: &UserId,
        email: &(FactorId, String),
        channel: Channel,
        to: String,
    ) -> (FactorId, String) {
        let token = self
            .step_up_by(
                user,
                email,
                StepUpFor { operation: Operation::AddFactor, target: None },
                None,
            )
            .await
            .token;
        let pending = self.enroll(user, channel, &to, Some(&token)).await.unwrap();
        self.activate(user, &pending, true).await.unwrap();
        match pending.answer {
            Answer::App(uri) => (pending.id, uri),
            Answer::Sent(_) => (pending.id, to),
        }
    }

    /// Enrolls a factor of `channel` for `user`, its codes to `to` (a number or an address;
    /// ignored for the app), with `step_up`.
    pub async fn enroll(
        &self,
        user: &UserId,
        channel: Channel,
        to: &str,
        step_up: Option<&str>,
    ) -> Result<Pending, Error> {
        let phone = |delivery| NewFactor::Sms { phone: to.into(), label: None, delivery };
        let request = match channel {
            Channel::Text => phone(None),
            Channel::Call => phone(Some(Delivery::Voice)),
            Channel::Email => NewFactor::Email { email: to.into(), label: None },
            Channel::App => NewFactor::Totp { label: None, account_name: None },
        };
        let enrolled = self.mfa.enroll(user, request, step_up).await?;
        let answer = match enrolled.app_setup {
            Some(app) => Answer::App(app.otpauth_uri),
            None => Answer::Sent(self.outbox.last_code_to(to)),
        };
        Ok(Pending { id: enrolled.factor.id, answer })
    }

    /// Activates `pending` with its right code, or a wrong one.
    pub async fn activate(
        &self,
        user: &UserId,
        pending: &Pending,
        right: bool,
    ) -> Result<Activated, Error> {
        let code = self.code(&pending.answer, right);
        self.mfa.activate(user, &pending.id, &code).await
    }

    fn code(&self, answer: &Answer, right: bool) -> Proof {
        let now = self.now();
        Proof::Code(if right { answer.right(now) } else { answer.wrong(now) })
    }

    /// A step-up token for `operation` (to no one factor), proved by the member's email factor.
    pub async fn step_up(&self, member: &Member, operation: Operation) -> String {
        self.step_up_issued(member, operation).await.token
    }

    /// A step-up token for `operation` of the member, with the `expires_at` answered with it.
    pub async fn step_up_issued(&self, member: &Member, operation: Operation) -> IssuedToken {
        let wanted = StepUpFor { operation, target: None };
        self.step_up_by(&member.user, &member.email, wanted, None).await
    }

    /// A step-up token for `wanted`, proved by the member's factor of `prover` with a code sent
    /// to it (not the app: [`crate::step_up::an_app_step_up_lives_300_s`] answers its code).
    pub async fn step_up_with(
        &self,
        member: &Member,
        wanted: StepUpFor,
        prover: Channel,
    ) -> String {
        let (by, delivery) = match prover {
            Channel::Text => (&member.sms, None),
            Channel::Call => (&member.sms, Some(Delivery::Voice)),
            Channel::Email => (&member.email, None),
            Channel::App => panic!("an app's step-up is answered with its code, not one sent"),
        };
        self.step_up_by(&member.user, by, wanted, delivery).await.token
    }

    /// A step-up token for `wanted`, proved by `prover` with a code sent to `to` (by call with
    /// `Delivery::Voice`).
    async fn step_up_by(
        &self,
        user: &UserId,
        (prover, to): &(FactorId, String),
        wanted: StepUpFor,
        delivery: Option<Delivery>,
    ) -> IssuedToken {
        let started = self.mfa.start_step_up(user, wanted, prover, delivery).await.unwrap();
        let code = Proof::Code(self.outbox.last_code_to(to));
        self.mfa.finish_step_up(user, &started.challenge_id, &code).await.unwrap()
    }

    /// A new sign-in's challenge of the member's factor of `channel` (a code is sent for all
    /// but the app).
    pub async fn challenge(&self, member: &Member, channel: Channel) -> Challenge {
        let login = self.login(member).await.unwrap();
        let challenged = self.try_challenge_in(member, &login, channel).await.unwrap();
        let Challenged { challenge_id, .. } = challenged;
        Challenge { id: challenge_id, login, answer: member.answer(channel, &self.outbox) }
    }

    /// A new sign-in of the member, after the password.
    async fn login(&self, member: &Member) -> Result<LoginId, Error> {
        Ok(self.mfa.login(&member.user, AuthMethod::Password, None).await?.login_id)
    }

    /// A challenge of the member's factor of `channel` in the sign-in `login`.
    pub async fn try_challenge_in(
        &self,
        member: &Member,
        login: &LoginId,
        channel: Channel,
    ) -> Result<Challenged, Error> {
        let delivery = (channel == Channel::Call).then_some(Delivery::Voice);
        self.mfa.challenge(&member.user, login, member.factor(channel), delivery).await
    }

    /// The right code for `challenge` (the app's: as of now).
    pub fn right_code(&self, challenge: &Challenge) -> Proof {
        self.code(&challenge.answer, true)
    }

    /// Answers `challenge` with its right code (the app's: as of now).
    pub async fn answer(
        &self,
        member: &Member,
        challenge: &Challenge,
    ) -> Result<IssuedToken, Error> {
        self.mfa.verify(&member.user, &challenge.id, &self.right_code(challenge)).await
    }

    /// Answers `challenge` with a wrong code.
    pub async fn answer_wrong(
        &self,
        member: &Member,
        challenge: &Challenge,
    ) -> Result<IssuedToken, Error> {
        self.mfa.verify(&member.user, &challenge.id, &self.code(&challenge.answer, false)).await
    }

    /// A whole sign-in by the member's factor of `channel`, answered right.
    pub async fn sign_in(&self, member: &Member, channel: Channel) -> Result<IssuedToken, Error> {
        let challenge = self.challenge(member, channel).await;
        self.answer(member, &challenge).await
    }

    /// A sign-in with the recovery code `code`.
    pub async fn recover(&self, member: &Member, code: &str) -> Result<RecoveryUsed, Error> {
        self.mfa.verify_recovery(&member.user, code, None, None).await
    }

    /// A step-up token for changing the number of the member's SMS factor, proved by that factor
    /// (a code to its current number, by `channel`: a text or a call), and that number.
    pub async fn step_up_for_phone_change(
        &self,
        member: &Member,
        channel: Channel,
    ) -> (String, String) {
        let wanted =
            StepUpFor { operation: Operation::ChangePhone, target: Some(member.sms.0.clone()) };
        (self.step_up_with(member, wanted, channel).await, member.sms.1.clone())
    }

    /// The member's app's code as of now.
    pub fn app_code(&self, member: &Member) -> Proof {
        Proof::Code(mfa_e2e::code_from_uri(&member.app.1, self.now()))
    }

    /// Everything sent to `to` (texts, the words of calls, emails), oldest first.
    pub fn sent_to(&self, to: &str) -> Vec<String> {
        self.outbox.sent_to(to)
    }

    /// The last code sent to `to`.
    pub fn last_code_to(&self, to: &str) -> String {
        self.outbox.last_code_to(to)
    }

    /// Enrolls an app next to the member's factors with the step-up token `token`.
    pub async fn add_app(&self, member: &Member, token: &str) -> Result<Pending, Error> {
        self.enroll(&member.user, Channel::App, "", Some(token)).await
    }
}

/// Asserts that `answer` is a wrong code refused.
pub fn assert_rejected<T: Debug>(answer: Result<T, Error>) {
    assert!(matches!(answer, Err(Error::CodeRejected)), "not refused as a wrong code: {answer:?}");
}

/// Asserts that `answer` was refused because of a lock that ends at `until`.
pub fn assert_locked_until<T: Debug>(answer: Result<T, Error>, until: u64) {
    match answer {
        Err(Error::Locked { until: ends, .. }) => assert_eq!(ends, until, "the lock's end"),
        other => panic!("not refused by a lock: {other:?}"),
    }
}

/// Asserts that `answer` was refused for want of a valid step-up token.
pub fn assert_step_up_required<T: Debug>(answer: Result<T, Error>) {
    assert!(matches!(answer, Err(Error::StepUpRequired(_))), "not a step-up refusal: {answer:?}");
}
