//! What the service sends, on the real domain over the embedded store (the stores' own part, the
//! budgets' counts, is in the conformance suite, on both stores): codes by call, the sending
//! budgets and their defaults, VoIP numbers, pending factors that expire, and notices.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::{config, new_user, Outbox, TestClock};
use mfa_core::totp::{totp_code, TotpParams};
use mfa_service::domain::{Error, Mfa, NewFactor, Proof, StepUpFor};
use mfa_service::ids::{FactorId, LoginId, OrgId, UserId};
use mfa_service::model::{AuthMethod, Delivery, Operation, OrgPolicy};
use mfa_service::ports::{LineType, NumberLookup, SendError};
use mfa_service::store::embedded::EmbeddedStore;
use tempfile::TempDir;

/// The start of an hour, so that a test's sends share one window of every budget.
const NOW: u64 = 1_750_003_200;

/// A lookup that says what the test wants of each number.
#[derive(Default)]
struct Lookup {
    voip: Mutex<Vec<String>>,
    fail: Mutex<bool>,
}

#[async_trait]
impl NumberLookup for Lookup {
    async fn line_type(&self, phone: &str) -> Result<LineType, SendError> {
        if *self.fail.lock().unwrap() {
            return Err(SendError("lookup unavailable".into()));
        }
        let voip = self.voip.lock().unwrap().iter().any(|n| n == phone);
        Ok(if voip { LineType::Voip } else { LineType::Mobile })
    }
}

struct Rig {
    mfa: Mfa,
    clock: Arc<TestClock>,
    outbox: Arc<Outbox>,
    lookup: Arc<Lookup>,
    _dir: TempDir,
}

/// The domain with calls enabled and `extra` configuration.
fn rig(extra: &[(&str, &str)]) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path().join("s.redb")).unwrap());
    let (mut ports, clock, outbox) = common::ports(store, NOW);
    let lookup = Arc::new(Lookup::default());
    ports.lookup = Some(lookup.clone());
    let mut vars: Vec<(&str, String)> = vec![
        ("MFA_ISSUER_NAME", "Acme".into()),
        ("MFA_EMAIL_FROM", "mfa@acme.test".into()),
        ("MFA_VOICE_ORIGINATION_IDENTITY", "+12065550100".into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    Rig { mfa: Mfa::new(&config(&vars), ports).unwrap(), clock, outbox, lookup, _dir: dir }
}

fn phone(n: u32) -> String {
    format!("+1201555{n:04}")
}

impl Rig {
    /// Enrolls and activates an SMS factor on `number`.
    async fn sms_factor(&self, user: &UserId, number: &str) -> FactorId {
        let sms = NewFactor::Sms { phone: number.into(), label: None, delivery: None };
        let factor = self.mfa.enroll(user, sms, None).await.unwrap().factor.id;
        let code = Proof::Code(self.outbox.last_code_to(number));
        self.mfa.activate(user, &factor, &code).await.unwrap();
        factor
    }

    /// Enrolls and activates an email factor on `address`.
    async fn email_factor(&self, user: &UserId, address: &str) -> FactorId {
        let email = NewFactor::Email { email: address.into(), label: None };
        let factor = self.mfa.enroll(user, email, None).await.unwrap().factor.id;
        let code = Proof::Code(self.outbox.last_code_to(address));
        self.mfa.activate(user, &factor, &code).await.unwrap();
        factor
    }

    async fn login(&self, user: &UserId) -> LoginId {
        self.mfa.login(user, AuthMethod::Password, None).await.unwrap().login_id
    }

    async fn challenge(
        &self,
        user: &UserId,
        factor: &FactorId,
        delivery: Option<Delivery>,
    ) -> Result<(), Error> {
        let login = self.login(user).await;
        self.mfa.challenge(user, &login, factor, delivery).await.map(drop)
    }

    fn sent(&self) -> usize {
        self.outbox.sent_count()
    }
}

fn claims(token: &str) -> serde_json::Value {
    mfa_e2e::jwt_claims(token)
}

#[tokio::test]
async fn a_sign_in_whose_text_did_not_arrive_can_ask_for_one_call() {
    let r = rig(&[]);
    let (user, number) = (new_user(), phone(1));
    let factor = r.sms_factor(&user, &number).await;
    let login = r.login(&user).await;
    r.mfa.challenge(&user, &login, &factor, None).await.unwrap();
    let text = r.mfa.challenge(&user, &login, &factor, Some(Delivery::Sms)).await.unwrap_err();
    assert!(
        matches!(&text, Error::UseAnotherFactor { reason, .. } if reason.contains("ask for a call")),
        "{text:?}"
    );
    let called = r.mfa.challenge(&user, &login, &factor, Some(Delivery::Voice)).await.unwrap();
    assert_eq!(called.delivery, "voice");
    let words = r.outbox.sent_to(&number).pop().unwrap();
    assert!(words.starts_with("Acme: your verification code is "), "{words}");
    let code = r.outbox.last_code_to(&number);
    let spoken: Vec<String> = code.chars().map(String::from).collect();
    assert_eq!(words.matches(&spoken.join(", ")).count(), 2, "read twice: {words}");
    let again = r.mfa.challenge(&user, &login, &factor, Some(Delivery::Voice)).await.unwrap_err();
    assert!(matches!(again, Error::UseAnotherFactor { .. }), "one call a sign-in: {again:?}");

    let token = r.mfa.verify(&user, &called.challenge_id, &Proof::Code(code)).await.unwrap();
    assert_eq!(claims(&token.token)["amr"], serde_json::json!(["tel"]), "a call is tel");
}

#[tokio::test]
async fn asking_again_for_a_sign_ins_call_uses_none_of_the_numbers_calls() {
    let r = rig(&[]);
    let (user, number) = (new_user(), phone(6));
    let factor = r.sms_factor(&user, &number).await;
    let login = r.login(&user).await;
    r.mfa.challenge(&user, &login, &factor, Some(Delivery::Voice)).await.unwrap(); // call 1
    for _ in 0..5 {
        let refused =
            r.mfa.challenge(&user, &login, &factor, Some(Delivery::Voice)).await.unwrap_err();
        assert!(matches!(refused, Error::UseAnotherFactor { .. }), "{refused:?}");
    }
    for _ in 0..2 {
        r.challenge(&user, &factor, Some(Delivery::Voice)).await.unwrap(); // calls 2 and 3
    }
    assert_eq!(r.outbox.sent_to(&number).iter().filter(|m| m.contains("Again")).count(), 3);
}

#[tokio::test]
async fn a_number_gets_three_calls_an_hour_by_default() {
    let r = rig(&[]);
    let (user, number) = (new_user(), phone(2));
    let factor = r.sms_factor(&user, &number).await;
    for _ in 0..3 {
        r.challenge(&user, &factor, Some(Delivery::Voice)).await.unwrap();
    }
    let capped = r.challenge(&user, &factor, Some(Delivery::Voice)).await.unwrap_err();
    assert!(
        matches!(&capped, Error::UseAnotherFactor { reason, .. } if reason.contains("calls")),
        "{capped:?}"
    );
    r.challenge(&user, &factor, None).await.unwrap();
    r.clock.advance(3600);
    r.challenge(&user, &factor, Some(Delivery::Voice)).await.unwrap();
}

#[tokio::test]
async fn an_activation_code_can_be_a_call() {
    let r = rig(&[]);
    let (user, number) = (new_user(), phone(3));
    let sms =
        NewFactor::Sms { phone: number.clone(), label: None, delivery: Some(Delivery::Voice) };
    let factor = r.mfa.enroll(&user, sms, None).await.unwrap().factor.id;
    let words = r.outbox.sent_to(&number).pop().unwrap();
    assert!(words.contains("Again: your code is"), "a call: {words}");
    let code = Proof::Code(r.outbox.last_code_to(&number));
    r.mfa.activate(&user, &factor, &code).await.unwrap();
}

#[tokio::test]
async fn a_call_is_refused_for_an_email_factor_or_when_calls_are_off_and_nothing_is_sent() {
    let r = rig(&[]);
    let user = new_user();
    let factor = r.email_factor(&user, "ada@example.com").await;
    let sent = r.sent();
    let refused = r.challenge(&user, &factor, Some(Delivery::Voice)).await.unwrap_err();
    assert!(matches!(refused, Error::BadRequest(_)), "{refused:?}");
    let refused = r.challenge(&user, &factor, Some(Delivery::Sms)).await.unwrap_err();
    assert!(matches!(refused, Error::BadRequest(_)), "{refused:?}");
    assert_eq!(r.sent(), sent);

    let off = rig(&[("MFA_VOICE_ORIGINATION_IDENTITY", "")]);
    let (user, number) = (new_user(), phone(4));
    let sms =
        NewFactor::Sms { phone: number.clone(), label: None, delivery: Some(Delivery::Voice) };
    let refused = off.mfa.enroll(&user, sms, None).await.unwrap_err();
    assert!(
        matches!(&refused, Error::BadRequest(why) if why.contains("calls are not enabled")),
        "{refused:?}"
    );
    assert!(off.outbox.sent_to(&number).is_empty());
}

#[tokio::test]
async fn a_user_gets_ten_messages_an_hour_and_thirty_a_day_by_default() {
    let r = rig(&[("MFA_SMS_MAX_PER_HOUR", "100"), ("MFA_EMAIL_MAX_PER_HOUR", "100")]);
    let user = new_user();
    let factor = r.sms_factor(&user, &phone(5)).await; // message 1
    for _ in 1..10 {
        r.challenge(&user, &factor, None).await.unwrap();
    }
    let sent = r.sent();
    let refused = r.challenge(&user, &factor, None).await.unwrap_err();
    let Error::TooManyMessages { until, retry_after, .. } = refused else { panic!("{refused:?}") };
    assert_eq!((until, retry_after), (NOW + 3600, 3600), "the hour's window ends");
    assert_eq!(r.sent(), sent, "nothing sent");
    // Calls and emails count too: the budget is the user's, of every channel.
    let refused = r.challenge(&user, &factor, Some(Delivery::Voice)).await.unwrap_err();
    assert!(matches!(refused, Error::TooManyMessages { .. }), "{refused:?}");
    for hour in 1..=2 {
        r.clock.advance(3600);
        for _ in 0..10 {
            r.challenge(&user, &factor, None).await.unwrap();
        }
        let refused = r.challenge(&user, &factor, None).await.unwrap_err();
        assert!(matches!(refused, Error::TooManyMessages { .. }), "hour {hour}: {refused:?}");
    }
    r.clock.advance(3600);
    let refused = r.challenge(&user, &factor, None).await.unwrap_err();
    let Error::TooManyMessages { until, .. } = refused else { panic!("{refused:?}") };
    assert_eq!(until, NOW - NOW % 86_400 + 86_400, "30 a day: refused until the day's end");
}

#[tokio::test]
async fn an_address_gets_five_emails_an_hour_by_default() {
    let r = rig(&[]);
    let (user, address) = (new_user(), "grace@example.com");
    let factor = r.email_factor(&user, address).await; // email 1 (its notice is email 2)
    for _ in 0..3 {
        r.challenge(&user, &factor, None).await.unwrap();
    }
    assert_eq!(r.outbox.sent_to(address).len(), 5);
    let capped = r.challenge(&user, &factor, None).await.unwrap_err();
    assert!(
        matches!(&capped, Error::UseAnotherFactor { reason, .. } if reason.contains("emails")),
        "{capped:?}"
    );
    assert_eq!(r.outbox.sent_to(address).len(), 5);
}

#[tokio::test]
async fn an_org_and_the_deployment_have_hourly_budgets() {
    let r = rig(&[("MFA_ORG_MAX_SENDS_PER_HOUR", "2"), ("MFA_MAX_SENDS_PER_HOUR", "8")]);
    let org = OrgId::parse("org-budget").unwrap();
    r.mfa.admin_set_policy(&org, OrgPolicy::default()).await.unwrap();
    let members = [new_user(), new_user(), new_user()];
    for user in &members {
        r.mfa.admin_set_memberships(user, vec![org.clone()]).await.unwrap();
    }
    let sms = |n| NewFactor::Sms { phone: phone(n), label: None, delivery: None };
    r.mfa.enroll(&members[0], sms(10), None).await.unwrap();
    r.mfa.enroll(&members[1], sms(11), None).await.unwrap();
    let refused = r.mfa.enroll(&members[2], sms(12), None).await.unwrap_err();
    assert!(
        matches!(&refused, Error::TooManyMessages { reason, .. } if reason.contains("organisation")),
        "{refused:?}"
    );
    // The deployment's 8 (one on each of 8 shards): 2 sent, 6 more to users of no org.
    for n in 0..6 {
        r.mfa.enroll(&new_user(), sms(20 + n), None).await.unwrap();
    }
    let refused = r.mfa.enroll(&new_user(), sms(30), None).await.unwrap_err();
    assert!(
        matches!(&refused, Error::TooManyMessages { reason, .. } if reason.contains("the service sent")),
        "{refused:?}"
    );
    assert!(r.outbox.sent_to(&phone(30)).is_empty() && r.outbox.sent_to(&phone(12)).is_empty());
}

#[tokio::test]
async fn voip_numbers_are_refused_unless_allowed() {
    let r = rig(&[]);
    let number = phone(40);
    r.lookup.voip.lock().unwrap().push(number.clone());
    let sms = || NewFactor::Sms { phone: number.clone(), label: None, delivery: None };
    let refused = r.mfa.enroll(&new_user(), sms(), None).await.unwrap_err();
    assert!(
        matches!(&refused, Error::BadRequest(why) if why.contains("VoIP") && why.contains("800-63B")),
        "{refused:?}"
    );
    assert!(r.outbox.sent_to(&number).is_empty());
    // A lookup that fails lets the number through.
    *r.lookup.fail.lock().unwrap() = true;
    r.mfa.enroll(&new_user(), sms(), None).await.unwrap();

    let allowed = rig(&[("MFA_ALLOW_VOIP_NUMBERS", "true")]);
    allowed.lookup.voip.lock().unwrap().push(number.clone());
    allowed.mfa.enroll(&new_user(), sms(), None).await.unwrap();
}

#[tokio::test]
async fn pending_factors_expire_after_an_hour_and_a_user_holds_three() {
    let r = rig(&[]);
    let user = new_user();
    let app = || NewFactor::Totp { label: None, account_name: None };
    let first = r.mfa.enroll(&user, app(), None).await.unwrap();
    for _ in 0..2 {
        r.mfa.enroll(&user, app(), None).await.unwrap();
    }
    let refused = r.mfa.enroll(&user, app(), None).await.unwrap_err();
    assert!(matches!(refused, Error::Conflict(_)), "{refused:?}");

    r.clock.advance(3600);
    let secret = first.app_setup.unwrap().secret;
    let secret = mfa_core::secret::TotpSecret::from_base32(&secret).unwrap();
    let code = totp_code(&secret, NOW + 3600, &TotpParams::default());
    let expired = r.mfa.activate(&user, &first.factor.id, &Proof::Code(code)).await.unwrap_err();
    assert!(matches!(expired, Error::Expired(_)), "{expired:?}");
    r.mfa.enroll(&user, app(), None).await.unwrap();
    assert_eq!(r.mfa.list(&user).await.unwrap().len(), 1, "the expired ones are gone");
}

#[tokio::test]
async fn notices_tell_the_user_of_each_change_by_email() {
    // Budgets wide enough for every code and notice of the test within one hour.
    let r = rig(&[("MFA_EMAIL_MAX_PER_HOUR", "50"), ("MFA_USER_MAX_SENDS_PER_HOUR", "50")]);
    let (user, address, number) = (new_user(), "ada@example.com", phone(50));
    r.email_factor(&user, address).await;
    let notices = || {
        r.outbox.sent_to(address).into_iter().filter(|m| !m.contains("code is")).collect::<Vec<_>>()
    };
    assert_eq!(notices().len(), 1, "{:?}", notices());
    assert!(
        notices()[0].contains("the email address ada@example.com was added"),
        "{:?}",
        notices()
    );
    assert!(notices()[0].contains("If it wasn't, sign in and review"), "{:?}", notices());

    // A second factor: added with a step-up proved by the email factor.
    let token = step_up(&r, &user, Operation::AddFactor, None, address).await;
    let sms = NewFactor::Sms { phone: number.clone(), label: None, delivery: None };
    let factor = r.mfa.enroll(&user, sms, Some(&token)).await.unwrap().factor.id;
    let code = Proof::Code(r.outbox.last_code_to(&number));
    r.mfa.activate(&user, &factor, &code).await.unwrap();
    assert!(notices()[1].contains("the phone number ending in 50 was added"), "{:?}", notices());

    // A phone change: the old number is told too.
    let token = step_up(&r, &user, Operation::ChangePhone, Some(&factor), &number).await;
    let new_number = phone(51);
    let next = r.mfa.start_phone_change(&user, &factor, &new_number, Some(&token)).await.unwrap();
    let mfa_service::domain::answers::PhoneChange::VerifyNewNumber { challenge_id, .. } = next
    else {
        panic!("{next:?}")
    };
    let code = r.outbox.last_code_to(&new_number);
    r.mfa.continue_phone_change(&user, &factor, &challenge_id, &code).await.unwrap();
    assert!(notices()[2].contains("changed from the phone number ending in 50"), "{:?}", notices());
    let to_old = r.outbox.sent_to(&number).pop().unwrap();
    assert!(to_old.contains("changed from the phone number ending in 50"), "{to_old}");

    // An admin reset, then a lock: 6 wrong codes in a row, refused once locked, told once.
    r.mfa.admin_reset_factor(&user, &factor).await.unwrap();
    assert!(notices()[3].contains("an administrator removed"), "{:?}", notices());
    let factors = r.mfa.list(&user).await.unwrap();
    let email_factor = &factors[0].id;
    for _ in 0..8 {
        let login = r.login(&user).await;
        let Ok(started) = r.mfa.challenge(&user, &login, email_factor, None).await else { break };
        let _ = r.mfa.verify(&user, &started.challenge_id, &Proof::Code("000000".into())).await;
    }
    let locked: Vec<_> = notices().into_iter().filter(|m| m.contains("paused")).collect();
    assert_eq!(locked.len(), 1, "{:?}", notices());
}

#[tokio::test]
async fn an_org_can_turn_notices_off() {
    let r = rig(&[]);
    let org = OrgId::parse("org-quiet").unwrap();
    let quiet = OrgPolicy { notices: false, ..OrgPolicy::default() };
    r.mfa.admin_set_policy(&org, quiet).await.unwrap();
    let (user, address) = (new_user(), "quiet@example.com");
    r.mfa.admin_set_memberships(&user, vec![org]).await.unwrap();
    r.email_factor(&user, address).await;
    assert_eq!(r.outbox.sent_to(address).len(), 1, "the activation code only, no notice");
}

/// A step-up token for `operation`, proved by the code sent to `to` (of the factor `with`, or
/// of the only factor).
async fn step_up(
    r: &Rig,
    user: &UserId,
    operation: Operation,
    target: Option<&FactorId>,
    to: &str,
) -> String {
    let factors = r.mfa.list(user).await.unwrap();
    let with = target.cloned().unwrap_or_else(|| factors[0].id.clone());
    let wanted = StepUpFor { operation, target: target.cloned() };
    let started = r.mfa.start_step_up(user, wanted, &with, None).await.unwrap();
    let proof = Proof::Code(r.outbox.last_code_to(to));
    r.mfa.finish_step_up(user, &started.challenge_id, &proof).await.unwrap().token
}
