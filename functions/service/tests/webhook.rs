//! The inbound SMS webhook, end to end below HTTP and through it: SNS messages signed in the
//! test (SignatureVersion 1 and 2, `mfa_e2e::sns`) with the fixture keys of `fixtures/sns/` (see
//! its README), checked by `mfa_service::sns_verify`, then acted on by the real `Mfa` with a
//! recording SMS sender and a clock the test moves; and, on that same world, the SMS program's
//! rules as the README states them: its keyword table and reply texts (written out here and in
//! `mfa_e2e::sns`), the replies using none of a number's hourly texts, a STOP whose reply the
//! provider refused still opting the number out, and 502 while SNS can't be reached. Those rules
//! run over the embedded store and over DynamoDB (moto, at `MFA_TEST_DYNAMODB_ENDPOINT`; ignored
//! by a plain `cargo test`, run by `scripts/test.d/30-dynamodb.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use common::{new_user, TestClock};
use mfa_e2e::sns::{
    rfc3339, sign, sms_notification, CERT_URL, HELP_REPLY, SIGNER_KEY, START_REPLY, STOP_REPLY,
    TOPIC,
};
use mfa_service::config::Config;
use mfa_service::domain::{Error, InboundOutcome, Mfa, NewFactor, Ports, Proof};
use mfa_service::http::{router, AppState, Group};
use mfa_service::ids::{FactorId, LoginId, UserId};
use mfa_service::model::AuthMethod;
use mfa_service::ports::{
    Clock, Email, EmailSender, SendError, SmsSender, Store, VoiceCall, VoiceSender,
};
use mfa_service::sns_verify::{
    CertFetcher, CertificateDir, FetchError, SnsError, SnsUrl, SnsVerifier,
};
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;

const CA: &str = include_str!("fixtures/sns/ca.pem");
const SIGNER: &str = include_str!("fixtures/sns/signer.pem");
const ROGUE: &str = include_str!("fixtures/sns/rogue.pem");
const ROGUE_KEY: &str = include_str!("fixtures/sns/rogue.key");

/// Where the rogue certificate is said to be: on an SNS host, under its file name in
/// `fixtures/sns/`.
const ROGUE_URL: &str = "https://sns.us-east-1.amazonaws.com/rogue.pem";
/// 2100-01-01T00:00:00Z: inside the fixtures' 100 years of validity.
const NOW: u64 = 4_102_444_800;
const PHONE: &str = "+12015550123";

// ---------------------------------------------------------------------------------------------
// Signed SNS messages, made the way SNS makes them (`mfa_e2e::sns`).

/// A notification carrying a two-way SMS from `from` saying `text`, sent at [`NOW`], unsigned.
fn notification(from: &str, text: &str) -> Value {
    sms_notification(from, text, NOW)
}

fn subscribe_url() -> String {
    format!("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f37")
}

/// A subscription (or unsubscribe) confirmation, unsigned.
fn confirmation(kind: &str) -> Value {
    json!({
        "Type": kind,
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37",
        "TopicArn": TOPIC,
        "Message": format!("You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message."),
        "SubscribeURL": subscribe_url(),
        "Timestamp": rfc3339(NOW - 60),
        "SignatureVersion": "1",
        "Signature": "",
        "SigningCertURL": CERT_URL,
    })
}

fn body(message: &Value) -> Vec<u8> {
    serde_json::to_vec(message).unwrap()
}

/// A signed notification of the text `text` from [`PHONE`].
fn signed_sms(text: &str) -> Vec<u8> {
    body(&sign(notification(PHONE, text), SIGNER_KEY, 2))
}

// ---------------------------------------------------------------------------------------------
// Fakes: SNS's certificate host, the SMS provider, the clock.

/// Serves the fixture certificates and records every GET; while `certificates_down` (or
/// `subscriptions_down`), every certificate GET (or `SubscribeURL` GET) fails as a connection
/// would.
#[derive(Default)]
struct FakeSns {
    certificates: HashMap<String, String>,
    fetched: AtomicUsize,
    confirmed: Mutex<Vec<String>>,
    certificates_down: AtomicBool,
    subscriptions_down: AtomicBool,
}

impl FakeSns {
    fn new() -> Arc<Self> {
        let certificates =
            [(CERT_URL, SIGNER), (ROGUE_URL, ROGUE)].map(|(u, c)| (u.to_owned(), c.to_owned()));
        Arc::new(Self { certificates: certificates.into(), ..Self::default() })
    }

    fn fetches(&self) -> usize {
        self.fetched.load(Ordering::SeqCst)
    }

    fn reach(down: &AtomicBool, url: &SnsUrl) -> Result<(), FetchError> {
        if down.load(Ordering::SeqCst) {
            return Err(FetchError(format!("GET {}: connection refused", url.as_str())));
        }
        Ok(())
    }
}

#[async_trait]
impl CertFetcher for FakeSns {
    async fn certificate(&self, url: &SnsUrl) -> Result<Vec<u8>, FetchError> {
        self.fetched.fetch_add(1, Ordering::SeqCst);
        Self::reach(&self.certificates_down, url)?;
        let pem = self.certificates.get(url.as_str()).ok_or(FetchError("404".into()))?;
        Ok(pem.clone().into_bytes())
    }

    async fn confirm_subscription(&self, url: &SnsUrl) -> Result<(), FetchError> {
        Self::reach(&self.subscriptions_down, url)?;
        self.confirmed.lock().unwrap().push(url.as_str().to_owned());
        Ok(())
    }
}

/// Records texts, provider opt-ins and emails; refuses the next `refusals` texts or opt-ins.
#[derive(Default)]
struct Phone {
    texts: Mutex<Vec<(String, String)>>,
    calls: Mutex<Vec<(String, String)>>,
    opt_ins: Mutex<Vec<String>>,
    refusals: AtomicUsize,
}

impl Phone {
    fn texts(&self) -> Vec<(String, String)> {
        self.texts.lock().unwrap().clone()
    }

    fn last_text(&self) -> (String, String) {
        self.texts().last().cloned().expect("a text was sent")
    }

    fn last_code(&self) -> String {
        let (_, text) = self.last_text();
        text.rsplit(' ').next().unwrap().to_owned()
    }
}

impl Phone {
    /// Takes one of the `refusals`, if any is left.
    fn refuses(&self) -> Result<(), SendError> {
        let refuse =
            self.refusals.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        match refuse {
            Ok(_) => Err(SendError("provider unavailable".into())),
            Err(_) => Ok(()),
        }
    }
}

#[async_trait]
impl SmsSender for Phone {
    async fn send_sms(&self, to: &str, body: &str) -> Result<(), SendError> {
        self.refuses()?;
        self.texts.lock().unwrap().push((to.to_owned(), body.to_owned()));
        Ok(())
    }

    async fn opt_in(&self, to: &str) -> Result<(), SendError> {
        self.refuses()?;
        self.opt_ins.lock().unwrap().push(to.to_owned());
        Ok(())
    }
}

#[async_trait]
impl VoiceSender for Phone {
    async fn call(&self, to: &str, call: &VoiceCall) -> Result<(), SendError> {
        self.calls.lock().unwrap().push((to.to_owned(), call.words.clone()));
        Ok(())
    }
}

#[async_trait]
impl EmailSender for Phone {
    async fn send_email(&self, _email: &Email) -> Result<(), SendError> {
        Ok(())
    }
}

fn verifier(anchor: Option<&str>, sns: &Arc<FakeSns>) -> SnsVerifier {
    SnsVerifier::new(TOPIC.into(), anchor, sns.clone()).unwrap()
}

async fn verify(message: &Value) -> Result<(), SnsError> {
    verifier(Some(CA), &FakeSns::new()).verify(&body(message), NOW).await.map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// Verification.

#[tokio::test]
async fn notifications_signed_with_either_version_verify() {
    let sns = FakeSns::new();
    for version in [1, 2] {
        let message = sign(notification(PHONE, "STOP"), SIGNER_KEY, version);
        let verified = verifier(Some(CA), &sns).verify(&body(&message), NOW).await.unwrap();
        assert_eq!(verified.topic_arn, TOPIC);
        assert!(verified.message.contains("\"messageBody\":\"STOP\""));
    }
    let mut with_subject = notification(PHONE, "HELP");
    with_subject["Subject"] = json!("inbound");
    assert_eq!(verify(&sign(with_subject, SIGNER_KEY, 2)).await, Ok(()));
}

#[tokio::test]
async fn confirmations_verify() {
    for kind in ["SubscriptionConfirmation", "UnsubscribeConfirmation"] {
        for version in [1, 2] {
            assert_eq!(verify(&sign(confirmation(kind), SIGNER_KEY, version)).await, Ok(()));
        }
    }
}

#[tokio::test]
async fn an_altered_message_or_version_does_not_verify() {
    let mut forged = sign(notification(PHONE, "HELP"), SIGNER_KEY, 2);
    forged["Message"] = json!(notification(PHONE, "STOP")["Message"]);
    assert_eq!(verify(&forged).await, Err(SnsError::BadSignature));

    let mut subject_added = sign(notification(PHONE, "HELP"), SIGNER_KEY, 2);
    subject_added["Subject"] = json!("hi");
    assert_eq!(verify(&subject_added).await, Err(SnsError::BadSignature));

    let mut token_changed = sign(confirmation("SubscriptionConfirmation"), SIGNER_KEY, 1);
    token_changed["Token"] = json!("other");
    assert_eq!(verify(&token_changed).await, Err(SnsError::BadSignature));

    let mut downgraded = sign(notification(PHONE, "HELP"), SIGNER_KEY, 2);
    downgraded["SignatureVersion"] = json!("1");
    assert_eq!(verify(&downgraded).await, Err(SnsError::BadSignature));

    let mut unsigned = notification(PHONE, "HELP");
    unsigned["Signature"] = json!("");
    assert_eq!(verify(&unsigned).await, Err(SnsError::BadSignature));

    // Signed by a key that is not the certificate's.
    assert_eq!(
        verify(&sign(notification(PHONE, "HELP"), ROGUE_KEY, 2)).await,
        Err(SnsError::BadSignature)
    );
}

#[tokio::test]
async fn another_topic_is_refused_before_anything_is_fetched() {
    let sns = FakeSns::new();
    let mut message = notification(PHONE, "STOP");
    message["TopicArn"] = json!("arn:aws:sns:us-east-1:999999999999:attacker");
    let message = sign(message, SIGNER_KEY, 2);
    let err = verifier(Some(CA), &sns).verify(&body(&message), NOW).await.unwrap_err();
    assert_eq!(err, SnsError::WrongTopic("arn:aws:sns:us-east-1:999999999999:attacker".into()));
    assert_eq!(sns.fetches(), 0);
}

#[tokio::test]
async fn certificates_come_only_from_sns_hosts_over_https() {
    for url in [
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
        "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-0000.pem",
        "https://evil.com/SimpleNotificationService-0000.pem",
        "https://sns.us-east-1.amazonaws.com@evil.com/SimpleNotificationService-0000.pem",
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-0000.pem",
    ] {
        let sns = FakeSns::new();
        let mut message = notification(PHONE, "STOP");
        message["SigningCertURL"] = json!(url);
        let message = sign(message, SIGNER_KEY, 2);
        let err = verifier(Some(CA), &sns).verify(&body(&message), NOW).await.unwrap_err();
        assert_eq!(err, SnsError::CertificateUrl(url.into()), "{url}");
        assert_eq!(sns.fetches(), 0, "{url}");
    }
}

#[tokio::test]
async fn with_a_trust_anchor_only_its_certificates_are_trusted() {
    let sns = FakeSns::new();
    let mut rogue = notification(PHONE, "STOP");
    rogue["SigningCertURL"] = json!(ROGUE_URL);
    let rogue = body(&sign(rogue, ROGUE_KEY, 2));
    // The rogue certificate names the anchor as its issuer, but the anchor did not sign it.
    let err = verifier(Some(CA), &sns).verify(&rogue, NOW).await.unwrap_err();
    assert_eq!(err, SnsError::Untrusted);
    // Pinning the signing certificate itself also works, and still refuses the rogue one.
    let pinned = verifier(Some(SIGNER), &sns);
    assert!(pinned.verify(&signed_sms("STOP"), NOW).await.is_ok());
    assert_eq!(pinned.verify(&rogue, NOW).await.unwrap_err(), SnsError::Untrusted);
    // Without an anchor (production) a certificate is trusted for coming from the SNS host.
    assert!(verifier(None, &sns).verify(&rogue, NOW).await.is_ok());
}

/// `MFA_SNS_CERTIFICATE_DIR`: with a trust anchor, signing certificates are read from a
/// directory by their URL's file name (here `fixtures/sns/`, as in the e2e run) and still checked
/// against the anchor; nothing is fetched; a file that is not there is a fetch failure (502); a
/// subscription is still confirmed at its SubscribeURL.
#[tokio::test]
async fn certificates_can_be_read_from_a_directory_under_the_trust_anchor() {
    let sns = FakeSns::new();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sns");
    let files = Arc::new(CertificateDir::new(dir, sns.clone()));
    let verifier = SnsVerifier::new(TOPIC.into(), Some(CA), files).unwrap();
    let verified = verifier.verify(&signed_sms("STOP"), NOW).await.unwrap();
    assert!(verified.message.contains("\"messageBody\":\"STOP\""));

    let mut rogue = notification(PHONE, "STOP");
    rogue["SigningCertURL"] = json!(ROGUE_URL);
    let rogue = body(&sign(rogue, ROGUE_KEY, 2));
    assert_eq!(verifier.verify(&rogue, NOW).await.unwrap_err(), SnsError::Untrusted);

    for missing in [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
        "https://sns.us-east-1.amazonaws.com/%2E%2E%2Fsns%2Fsigner.pem",
    ] {
        let mut message = notification(PHONE, "STOP");
        message["SigningCertURL"] = json!(missing);
        let result = verifier.verify(&body(&sign(message, SIGNER_KEY, 2)), NOW).await;
        assert!(matches!(result, Err(SnsError::CertificateFetch(_))), "{missing}: {result:?}");
    }
    assert_eq!(sns.fetches(), 0, "nothing was fetched");

    let confirmation = sign(confirmation("SubscriptionConfirmation"), SIGNER_KEY, 2);
    let verified = verifier.verify(&body(&confirmation), NOW).await.unwrap();
    verifier.confirm_subscription(&verified).await.unwrap();
    assert_eq!(*sns.confirmed.lock().unwrap(), [subscribe_url()]);
}

#[tokio::test]
async fn a_bad_trust_anchor_stops_the_start() {
    let err =
        SnsVerifier::new(TOPIC.into(), Some("not a certificate"), FakeSns::new()).unwrap_err();
    assert_eq!(err.name, "MFA_SNS_TRUST_ANCHOR_PEM");
}

#[tokio::test]
async fn messages_more_than_an_hour_away_are_refused() {
    for (at, ok) in [(NOW - 3600, true), (NOW - 3601, false), (NOW + 3601, false), (0, false)] {
        let mut message = notification(PHONE, "STOP");
        message["Timestamp"] = json!(rfc3339(at));
        let result = verify(&sign(message, SIGNER_KEY, 2)).await;
        assert_eq!(result.is_ok(), ok, "{at}: {result:?}");
        if !ok {
            assert_eq!(result, Err(SnsError::Stale));
        }
    }
}

#[tokio::test]
async fn an_expired_certificate_is_refused() {
    let later = NOW + 30 * 365 * 24 * 3600; // past the fixtures' 100 years
    let mut message = notification(PHONE, "STOP");
    message["Timestamp"] = json!(rfc3339(later));
    let message = sign(message, SIGNER_KEY, 2);
    let err = verifier(Some(CA), &FakeSns::new()).verify(&body(&message), later).await;
    assert_eq!(err.unwrap_err(), SnsError::CertificateExpired);
}

#[tokio::test]
async fn unknown_and_malformed_messages_are_refused() {
    let mut unknown = notification(PHONE, "STOP");
    unknown["Type"] = json!("Invitation");
    assert_eq!(
        verify(&sign(unknown, SIGNER_KEY, 2)).await,
        Err(SnsError::UnknownType("Invitation".into()))
    );
    let mut version = notification(PHONE, "STOP");
    version["SignatureVersion"] = json!("3");
    assert_eq!(verify(&version).await, Err(SnsError::UnsupportedSignatureVersion("3".into())));
    let mut no_signature = sign(notification(PHONE, "STOP"), SIGNER_KEY, 2);
    no_signature.as_object_mut().unwrap().remove("Signature");
    assert!(matches!(verify(&no_signature).await, Err(SnsError::Malformed(_))));
    let mut no_token = confirmation("SubscriptionConfirmation");
    no_token.as_object_mut().unwrap().remove("Token");
    assert!(matches!(verify(&sign(no_token, SIGNER_KEY, 2)).await, Err(SnsError::Malformed(_))));
    let mut bad_time = notification(PHONE, "STOP");
    bad_time["Timestamp"] = json!("yesterday");
    assert_eq!(verify(&bad_time).await, Err(SnsError::BadTimestamp("yesterday".into())));
    for junk in [&b"{not json"[..], b"", b"[]", b"{\"Type\":\"Notification\"}"] {
        let result = verifier(Some(CA), &FakeSns::new()).verify(junk, NOW).await;
        assert!(matches!(result, Err(SnsError::Malformed(_))), "{result:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The SMS program, on the real domain over the embedded store.

/// The real domain over one store, with the webhook's verifier over [`FakeSns`], a recording
/// [`Phone`] and a clock the test moves.
struct World {
    mfa: Mfa,
    clock: Arc<TestClock>,
    phone: Arc<Phone>,
    sns: Arc<FakeSns>,
    store: Arc<dyn Store>,
    verifier: SnsVerifier,
    _dir: Option<TempDir>,
}

/// The README's example program: `MFA_ISSUER_NAME=Acme`, `MFA_SUPPORT_CONTACT=support@acme.test`,
/// and the inbound topic.
fn config() -> Config {
    common::config(&[
        ("MFA_ISSUER_NAME", "Acme".into()),
        ("MFA_SUPPORT_CONTACT", "support@acme.test".into()),
        ("MFA_INBOUND_TOPIC_ARN", TOPIC.into()),
    ])
}

/// A world over `store`, at [`NOW`].
fn world_over(store: Arc<dyn Store>, dir: Option<TempDir>) -> World {
    let phone = Arc::new(Phone::default());
    let clock = Arc::new(TestClock::at(NOW));
    let ports = Ports {
        store: store.clone(),
        clock: clock.clone(),
        rng: Box::new(OsRng),
        sms: phone.clone(),
        voice: phone.clone(),
        lookup: None,
        email: phone.clone(),
    };
    let mfa = Mfa::new(&config(), ports).unwrap();
    let sns = FakeSns::new();
    let verifier = verifier(Some(CA), &sns);
    World { mfa, clock, phone, sns, store, verifier, _dir: dir }
}

/// A world over a fresh embedded store.
fn world() -> World {
    let (store, dir) = common::embedded_store();
    world_over(store, Some(dir))
}

/// Runs `rule` on a world over a new table of the DynamoDB server at
/// `MFA_TEST_DYNAMODB_ENDPOINT`: each its own (the rules use one number, its sends and opt-out, at
/// one time; and moto copies the whole table for each item a transaction writes, so a small table
/// keeps that quick), deleted when the rule passed.
async fn on_dynamodb<F: Future<Output = ()>>(rule: impl FnOnce(World) -> F) {
    let table = format!("mfa-webhook-{:016x}", OsRng.next_u64());
    rule(world_over(common::dynamodb_store(&table).await, None)).await;
    let client = common::dynamodb_client();
    client.delete_table().table_name(table).send().await.unwrap();
}

impl World {
    async fn inbound(&self, body: &[u8]) -> Result<InboundOutcome, Error> {
        self.mfa.sms_webhook(&self.verifier, body).await.map(|a| a.outcome)
    }

    async fn text(&self, text: &str) -> InboundOutcome {
        self.inbound(&self.signed_sms(text)).await.unwrap()
    }

    /// A signed notification of the text `text` from [`PHONE`], sent now.
    fn signed_sms(&self, text: &str) -> Vec<u8> {
        mfa_e2e::sns::signed_sms(PHONE, text, self.clock.now())
    }

    /// Moves the clock to the start of the next hour: a number may have a reply again, and its
    /// hourly texts start again.
    fn next_hour(&self) {
        self.clock.advance(3600 - self.clock.now() % 3600);
    }

    async fn opted_out(&self, phone: &str) -> bool {
        self.store.is_opted_out(phone).await.unwrap()
    }

    /// Enrolls and activates an SMS factor on [`PHONE`]; its id.
    async fn sms_factor(&self, user: &UserId) -> FactorId {
        let sms = NewFactor::Sms { phone: "(201) 555-0123".into(), label: None, delivery: None };
        let enrolled = self.mfa.enroll(user, sms, None).await.unwrap();
        let id = enrolled.factor.id.clone();
        self.mfa.activate(user, &id, &Proof::Code(self.phone.last_code())).await.unwrap();
        id
    }

    /// Starts a sign-in of `user` after a password; its id.
    async fn login(&self, user: &UserId) -> LoginId {
        let login = self.mfa.login(user, AuthMethod::Password, None).await.unwrap();
        login.login_id
    }

    /// Checks that no code goes to [`PHONE`]: a sign-in with `user`'s `factor` and an enrollment
    /// of it by another user are refused, 409 `use-another-factor`.
    async fn assert_no_code_goes(&self, user: &UserId, factor: &FactorId) {
        let refused = self.sms_challenge(user, factor).await.unwrap_err();
        assert!(matches!(refused, Error::UseAnotherFactor { .. }), "{refused:?}");
        let sms = NewFactor::Sms { phone: PHONE.into(), label: None, delivery: None };
        let refused = self.mfa.enroll(&new_user(), sms, None).await.unwrap_err();
        assert!(matches!(refused, Error::UseAnotherFactor { .. }), "{refused:?}");
    }

    /// Asks for a code of `factor_id` in a new sign-in.
    async fn sms_challenge(&self, user: &UserId, factor_id: &FactorId) -> Result<(), Error> {
        let login_id = self.login(user).await;
        self.mfa.challenge(user, &login_id, factor_id, None).await.map(|_| ())
    }
}

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The SMS program's rules, as the README states them, over each store.

/// The README's keyword table ("The SMS program"), written out: the keywords of each reply, what
/// the webhook does (its outcome, and whether the number is then opted out: `None` leaves it as
/// it was) and the reply it sends (`mfa_e2e::sns`, the README's texts for Acme).
const README_KEYWORDS: &[(&[&str], InboundOutcome, Option<bool>, &str)] = &[
    (
        &[
            "STOP",
            "STOPALL",
            "UNSUBSCRIBE",
            "CANCEL",
            "END",
            "QUIT",
            "OPTOUT",
            "OPT-OUT",
            "REVOKE",
            "REMOVE",
            "ARRET",
            "TD",
        ],
        InboundOutcome::OptedOut,
        Some(true),
        STOP_REPLY,
    ),
    (&["HELP", "INFO"], InboundOutcome::HelpSent, None, HELP_REPLY),
    (&["START", "YES", "UNSTOP"], InboundOutcome::OptedIn, Some(false), START_REPLY),
];

/// Each keyword of the README, as sent and in lower case with spaces around it ("the whole
/// message, ignoring case and surrounding spaces"), does what the table says and gets its reply,
/// word for word.
async fn every_readme_keyword_acts_and_gets_the_readme_reply(w: World) {
    let mut opted_out = false;
    for (words, outcome, opts, reply) in README_KEYWORDS {
        for word in *words {
            for message in [word.to_string(), format!(" {} \n", word.to_lowercase())] {
                w.next_hour(); // a number gets one reply an hour
                assert_eq!(w.text(&message).await, *outcome, "{message:?}");
                let last = w.phone.last_text();
                assert_eq!(last, (PHONE.to_owned(), (*reply).to_owned()), "{message:?}");
                opted_out = opts.unwrap_or(opted_out);
                assert_eq!(w.opted_out(PHONE).await, opted_out, "{message:?}");
            }
        }
    }
    let starts = README_KEYWORDS[2].0.len() * 2;
    assert_eq!(w.phone.opt_ins.lock().unwrap().len(), starts, "each START reached the provider");
}

/// STOP, HELP and START in one user's life: no code goes to an opted-out number, by sign-in or
/// enrollment (409 `use-another-factor`); HELP doesn't opt back in; START does, here and at the
/// provider.
async fn stop_help_start_round_trip(w: World) {
    let ada = user("ada");
    let factor = w.sms_factor(&ada).await;
    assert!(!w.opted_out(PHONE).await);

    assert_eq!(w.text("Stop").await, InboundOutcome::OptedOut);
    assert!(w.opted_out(PHONE).await);
    assert_eq!(w.phone.last_text(), (PHONE.to_owned(), STOP_REPLY.to_owned()));

    let sent = w.phone.texts().len();
    w.assert_no_code_goes(&ada, &factor).await;
    assert_eq!(w.phone.texts().len(), sent, "no code goes to a number that replied STOP");

    w.next_hour(); // a number gets one reply an hour
    assert_eq!(w.text("HELP").await, InboundOutcome::HelpSent);
    assert_eq!(w.phone.last_text(), (PHONE.to_owned(), HELP_REPLY.to_owned()));
    assert!(w.opted_out(PHONE).await, "HELP does not opt back in");

    w.next_hour();
    assert_eq!(w.text(" start ").await, InboundOutcome::OptedIn);
    assert!(!w.opted_out(PHONE).await);
    assert_eq!(*w.phone.opt_ins.lock().unwrap(), [PHONE]);
    assert_eq!(w.phone.last_text(), (PHONE.to_owned(), START_REPLY.to_owned()));

    w.sms_challenge(&ada, &factor).await.unwrap();
    let (to, code) = w.phone.last_text();
    assert_eq!(to, PHONE);
    assert!(code.starts_with("Acme: your verification code is "), "{code}");
}

/// README: "texts to one number, per hour | 5" counts codes, not the replies to HELP, STOP and
/// START (their own budget is one an hour). In each hour one reply goes out amid the codes, and
/// still 5 codes go: counted with the reply, the 5th would be refused. A 6th code is refused:
/// the cap holds.
async fn replies_use_none_of_the_numbers_hourly_texts(w: World) {
    let ada = user("ada");
    let factor = w.sms_factor(&ada).await; // in the hour before
    for keywords in [&["HELP"][..], &["STOP", "START"], &["START"]] {
        w.next_hour();
        let sent = w.phone.texts().len();
        for n in 1..=5 {
            if n == 3 {
                for keyword in keywords {
                    assert_ne!(w.text(keyword).await, InboundOutcome::Ignored);
                }
                assert_eq!(w.phone.texts().len(), sent + 3, "{keywords:?}: one reply went");
            }
            let asked = w.sms_challenge(&ada, &factor).await;
            asked.unwrap_or_else(|e| panic!("code {n} of the hour, {keywords:?} answered: {e:?}"));
        }
        assert_eq!(w.phone.texts().len(), sent + 6, "{keywords:?}: five codes and a reply");
        let capped = w.sms_challenge(&ada, &factor).await.unwrap_err();
        assert!(matches!(capped, Error::UseAnotherFactor { .. }), "a 6th code: {capped:?}");
        assert_eq!(w.phone.texts().len(), sent + 6, "{keywords:?}");
    }
}

/// README: "A reply that is not sent (refused by the provider ...) is logged; the keyword's
/// action holds." A STOP whose reply the provider refused leaves the number opted out: no code
/// goes to it (409) until it replies START.
async fn a_refused_stop_reply_still_opts_the_number_out(w: World) {
    let ada = user("ada");
    let factor = w.sms_factor(&ada).await;
    w.next_hour();
    let sent = w.phone.texts().len();
    w.phone.refusals.store(1, Ordering::SeqCst);
    assert_eq!(w.text("STOP").await, InboundOutcome::OptedOut);
    assert_eq!(w.phone.refusals.load(Ordering::SeqCst), 0, "the reply was tried, and refused");
    assert_eq!(w.phone.texts().len(), sent, "no reply went");
    assert!(w.opted_out(PHONE).await);
    w.assert_no_code_goes(&ada, &factor).await;
    assert_eq!(w.phone.texts().len(), sent, "no code went");
    // Until START: then codes go again.
    w.next_hour();
    assert_eq!(w.text("START").await, InboundOutcome::OptedIn);
    w.sms_challenge(&ada, &factor).await.unwrap();
    assert!(w.phone.last_code().len() == 6, "{:?}", w.phone.last_text());
}

/// README: the webhook answers "502 SNS unreachable" and changes nothing when SNS can't be
/// reached: the signing certificate can't be fetched, or a subscription confirmed. The same
/// deliveries are acted on once SNS answers again (SNS retries them). The SMS provider failing
/// (a reply, `OptInPhoneNumber`) is not SNS unreachable: 200, and the keyword's action holds.
async fn the_webhook_answers_502_while_sns_is_unreachable(w: World) {
    let (sns, phone, store, clock) =
        (w.sns.clone(), w.phone.clone(), w.store.clone(), w.clock.clone());
    let stop = w.signed_sms("STOP");
    let subscribe = body(&sign(confirmation("SubscriptionConfirmation"), SIGNER_KEY, 2));
    let app = app(w, true);
    let unreachable = |answer: (StatusCode, String, Value)| {
        let (status, content_type, problem) = answer;
        let problem_json = (StatusCode::BAD_GATEWAY, "application/problem+json");
        assert_eq!((status, content_type.as_str()), problem_json, "{problem}");
        assert_eq!(problem["type"], "urn:mfa:problem:sns-unreachable", "{problem}");
    };
    // SNS down: no signing certificate.
    sns.certificates_down.store(true, Ordering::SeqCst);
    sns.subscriptions_down.store(true, Ordering::SeqCst);
    unreachable(post(&app, stop.clone()).await);
    unreachable(post(&app, subscribe.clone()).await);
    assert!(!store.is_opted_out(PHONE).await.unwrap(), "nothing changed");
    assert!(phone.texts().is_empty() && sns.confirmed.lock().unwrap().is_empty());

    // The certificate comes, the SubscribeURL doesn't answer.
    sns.certificates_down.store(false, Ordering::SeqCst);
    unreachable(post(&app, subscribe.clone()).await);
    let (status, _, answer) = post(&app, stop).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"outcome": "opted_out"})));
    assert!(store.is_opted_out(PHONE).await.unwrap());

    sns.subscriptions_down.store(false, Ordering::SeqCst);
    let (status, _, answer) = post(&app, subscribe).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"outcome": "subscription_confirmed"})));
    assert_eq!(*sns.confirmed.lock().unwrap(), [subscribe_url()]);

    // The provider refuses both the opt-in and the reply of a START.
    clock.advance(3600);
    phone.refusals.store(2, Ordering::SeqCst);
    let start = mfa_e2e::sns::signed_sms(PHONE, "START", clock.now());
    let (status, _, answer) = post(&app, start).await;
    assert_eq!((status, answer), (StatusCode::OK, json!({"outcome": "opted_in"})));
    assert_eq!(phone.refusals.load(Ordering::SeqCst), 0, "both were tried, and refused");
    assert!(!store.is_opted_out(PHONE).await.unwrap());
}

macro_rules! rules {
    ($($case:ident),* $(,)?) => {
        mod embedded_store {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::world()).await;
                }
            )*
        }
        mod dynamodb_store {
            $(
                #[tokio::test]
                #[ignore = "needs a DynamoDB-compatible server: scripts/test-all.sh starts moto"]
                async fn $case() {
                    super::on_dynamodb(super::$case).await;
                }
            )*
        }
    };
}

rules!(
    every_readme_keyword_acts_and_gets_the_readme_reply,
    stop_help_start_round_trip,
    replies_use_none_of_the_numbers_hourly_texts,
    a_refused_stop_reply_still_opts_the_number_out,
    the_webhook_answers_502_while_sns_is_unreachable,
);

// ---------------------------------------------------------------------------------------------
// More of the SMS program, on the embedded store.

#[tokio::test]
async fn a_repeated_delivery_is_acted_on_once() {
    let w = world();
    for text in ["HELP", "STOP", "START"] {
        w.next_hour(); // a number gets one reply an hour
        let delivery = w.signed_sms(text);
        let sent = w.phone.texts().len();
        assert_ne!(w.inbound(&delivery).await.unwrap(), InboundOutcome::Duplicate, "{text}");
        assert_eq!(w.phone.texts().len(), sent + 1, "{text}: one reply");
        for _ in 0..2 {
            assert_eq!(w.inbound(&delivery).await.unwrap(), InboundOutcome::Duplicate, "{text}");
        }
        assert_eq!(w.phone.texts().len(), sent + 1, "{text}: no reply to a repeat");
    }
    assert_eq!(w.phone.opt_ins.lock().unwrap().len(), 1, "START reached the provider once");
    assert!(!w.opted_out(PHONE).await);
    // The same text in a new notification is a new message.
    w.next_hour();
    assert_eq!(w.text("HELP").await, InboundOutcome::HelpSent);
    assert_eq!(w.phone.texts().len(), 4);
}

#[tokio::test]
async fn a_repeat_is_ignored_for_as_long_as_its_message_is_taken() {
    // A message is taken from an hour before its timestamp to an hour after, both ends included
    // (`messages_more_than_an_hour_away_are_refused`). Delivered at the first of those seconds,
    // it is a repeat at the last of them; one second later it is stale.
    let w = world();
    let mut message = notification(PHONE, "HELP");
    message["Timestamp"] = json!(rfc3339(NOW + 3600));
    let delivery = body(&sign(message, SIGNER_KEY, 2));
    assert_eq!(w.inbound(&delivery).await.unwrap(), InboundOutcome::HelpSent);
    w.clock.advance(7200);
    assert_eq!(w.inbound(&delivery).await.unwrap(), InboundOutcome::Duplicate);
    w.clock.advance(1);
    let stale = w.inbound(&delivery).await;
    assert!(matches!(stale, Err(Error::Webhook(SnsError::Stale))), "{stale:?}");
    assert_eq!(w.phone.texts().len(), 1, "one reply");
}

#[tokio::test]
async fn a_delivery_that_failed_is_acted_on_when_retried() {
    let w = world();
    // A notification that can't be handled gives its claim up, so SNS's retry is handled.
    let mut unreadable = notification(PHONE, "HELP");
    unreadable["Message"] = json!("{\"not\": \"an inbound text\"}");
    let unreadable = body(&sign(unreadable, SIGNER_KEY, 2));
    for _ in 0..2 {
        let err = w.inbound(&unreadable).await.unwrap_err();
        assert!(matches!(err, Error::Webhook(SnsError::NotAnInboundSms(_))), "{err:?}");
    }
    // A reply the provider refused is not an error: the keyword's action holds.
    let delivery = signed_sms("STOP");
    w.phone.refusals.store(1, Ordering::SeqCst);
    assert_eq!(w.inbound(&delivery).await.unwrap(), InboundOutcome::OptedOut);
    assert!(w.opted_out(PHONE).await && w.phone.texts().is_empty());
    assert_eq!(w.inbound(&delivery).await.unwrap(), InboundOutcome::Duplicate);
}

#[tokio::test]
async fn replies_go_once_an_hour_and_only_where_codes_may_go() {
    let w = world();
    assert_eq!(w.text("HELP").await, InboundOutcome::HelpSent);
    assert_eq!(w.text("HELP").await, InboundOutcome::HelpSent);
    assert_eq!(w.text("STOP").await, InboundOutcome::OptedOut);
    assert!(w.opted_out(PHONE).await, "the action holds without its reply");
    assert_eq!(w.phone.texts().len(), 1, "one reply to a number an hour");
    // A number outside the calling codes the service texts (+1 by default) gets no reply.
    let message = sign(notification("+44 7400 123456", "HELP"), SIGNER_KEY, 1);
    assert_eq!(w.inbound(&body(&message)).await.unwrap(), InboundOutcome::HelpSent);
    assert_eq!(w.phone.texts().len(), 1);
}

#[tokio::test]
async fn asking_again_in_one_sign_in_uses_none_of_the_numbers_hourly_texts() {
    let w = world();
    let ada = user("ada");
    let factor = w.sms_factor(&ada).await; // text 1 of the hour (default cap: 5)
    let login_id = w.login(&ada).await;
    w.mfa.challenge(&ada, &login_id, &factor, None).await.unwrap(); // text 2
    for _ in 0..5 {
        let refused = w.mfa.challenge(&ada, &login_id, &factor, None).await.unwrap_err();
        assert!(matches!(refused, Error::UseAnotherFactor { .. }), "{refused:?}");
    }
    assert_eq!(w.phone.texts().len(), 2);
    for _ in 0..3 {
        w.sms_challenge(&ada, &factor).await.unwrap(); // texts 3 to 5, each in a new sign-in
    }
    assert_eq!(w.phone.texts().len(), 5);
    let capped = w.sms_challenge(&ada, &factor).await.unwrap_err();
    assert!(matches!(capped, Error::UseAnotherFactor { .. }), "{capped:?}");
}

#[tokio::test]
async fn a_text_the_provider_refused_does_not_use_up_the_sign_ins_one() {
    let w = world();
    let ada = user("ada");
    let factor = w.sms_factor(&ada).await;
    let login_id = w.login(&ada).await;
    w.phone.refusals.store(1, Ordering::SeqCst);
    let refused = w.mfa.challenge(&ada, &login_id, &factor, None).await.unwrap_err();
    assert!(matches!(refused, Error::SendFailed(_)), "{refused:?}");
    let sent = w.phone.texts().len();
    w.mfa.challenge(&ada, &login_id, &factor, None).await.unwrap();
    assert_eq!(w.phone.texts().len(), sent + 1, "the sign-in still had its text");
    let again = w.mfa.challenge(&ada, &login_id, &factor, None).await.unwrap_err();
    assert!(matches!(again, Error::UseAnotherFactor { .. }), "and now it is used: {again:?}");
}

#[tokio::test]
async fn other_texts_do_nothing() {
    let w = world();
    for text in ["thanks", "stop please", "STOP STOP", ""] {
        assert_eq!(w.text(text).await, InboundOutcome::Ignored, "{text:?}");
    }
    assert!(!w.opted_out(PHONE).await);
    assert!(w.phone.texts().is_empty());
}

#[tokio::test]
async fn any_country_and_format_is_kept_as_e164() {
    let w = world();
    let message = sign(notification("+44 7400 123456", "UNSUBSCRIBE"), SIGNER_KEY, 1);
    assert_eq!(w.inbound(&body(&message)).await.unwrap(), InboundOutcome::OptedOut);
    assert!(w.opted_out("+447400123456").await);
}

#[tokio::test]
async fn refused_messages_change_nothing() {
    let w = world();
    let mut forged = sign(notification(PHONE, "HELP"), SIGNER_KEY, 2);
    forged["Message"] = json!(notification(PHONE, "STOP")["Message"]);
    let err = w.inbound(&body(&forged)).await.unwrap_err();
    assert!(matches!(err, Error::Webhook(SnsError::BadSignature)), "{err:?}");
    let mut other_topic = notification(PHONE, "STOP");
    other_topic["TopicArn"] = json!("arn:aws:sns:us-east-1:999999999999:attacker");
    let err = w.inbound(&body(&sign(other_topic, SIGNER_KEY, 2))).await.unwrap_err();
    assert!(matches!(err, Error::Webhook(SnsError::WrongTopic(_))), "{err:?}");
    assert!(!w.opted_out(PHONE).await);
    assert!(w.phone.texts().is_empty());
}

#[tokio::test]
async fn a_notification_that_is_not_a_text_is_refused() {
    let w = world();
    for payload in ["hello", r#"{"default":"hi"}"#] {
        let mut message = notification(PHONE, "STOP");
        message["Message"] = json!(payload);
        let err = w.inbound(&body(&sign(message, SIGNER_KEY, 2))).await.unwrap_err();
        assert!(matches!(err, Error::Webhook(SnsError::NotAnInboundSms(_))), "{err:?}");
    }
    let message = sign(notification("not a number", "STOP"), SIGNER_KEY, 2);
    let err = w.inbound(&body(&message)).await.unwrap_err();
    assert!(matches!(err, Error::Webhook(SnsError::NotAnInboundSms(_))), "{err:?}");
}

#[tokio::test]
async fn a_subscription_is_confirmed_at_its_subscribe_url_only() {
    let w = world();
    let message = sign(confirmation("SubscriptionConfirmation"), SIGNER_KEY, 2);
    assert_eq!(w.inbound(&body(&message)).await.unwrap(), InboundOutcome::SubscriptionConfirmed);
    assert_eq!(*w.sns.confirmed.lock().unwrap(), [subscribe_url()]);

    let mut elsewhere = confirmation("SubscriptionConfirmation");
    elsewhere["SubscribeURL"] =
        json!("https://sns.us-east-1.amazonaws.com.evil.com/?Action=ConfirmSubscription");
    let err = w.inbound(&body(&sign(elsewhere, SIGNER_KEY, 2))).await.unwrap_err();
    assert!(matches!(err, Error::Webhook(SnsError::SubscribeUrl(_))), "{err:?}");
    assert_eq!(w.sns.confirmed.lock().unwrap().len(), 1);

    let message = sign(confirmation("UnsubscribeConfirmation"), SIGNER_KEY, 1);
    assert_eq!(w.inbound(&body(&message)).await.unwrap(), InboundOutcome::Unsubscribed);
    assert_eq!(w.sns.confirmed.lock().unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Over HTTP.

/// Posts `body` to the webhook's route of `app` as SNS does; the status, content type and JSON.
async fn post(app: &Router, body: Vec<u8>) -> (StatusCode, String, Value) {
    let request = Request::post("/v1/webhooks/sms")
        .header("content-type", "text/plain; charset=UTF-8")
        .header("x-amz-sns-message-type", "Notification")
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, kind, serde_json::from_slice(&bytes).unwrap())
}

/// The webhook's router over `w` (without its verifier unless `webhook`: not configured).
fn app(w: World, webhook: bool) -> Router {
    let verifier = webhook.then_some(w.verifier);
    let state = AppState { mfa: w.mfa, api_keys: config().api_keys, sms_webhook: verifier };
    router(&[Group::SmsWebhook], Arc::new(state))
}

#[tokio::test]
async fn the_route_takes_signed_text_plain_without_an_api_key() {
    let w = world();
    let phone = w.phone.clone();
    let (status, _, answer) = post(&app(w, true), signed_sms("HELP")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"outcome": "help_sent"}));
    assert_eq!(phone.texts().len(), 1);
}

#[tokio::test]
async fn the_route_answers_problems() {
    let mut forged = sign(notification(PHONE, "HELP"), SIGNER_KEY, 2);
    forged["Message"] = json!(notification(PHONE, "STOP")["Message"]);
    let cases = [
        (body(&forged), true, StatusCode::FORBIDDEN, "sns-message-refused"),
        (b"{oops".to_vec(), true, StatusCode::BAD_REQUEST, "invalid-sns-message"),
        (signed_sms("STOP"), false, StatusCode::SERVICE_UNAVAILABLE, "webhook-not-configured"),
    ];
    for (request, webhook, status, kind) in cases {
        let w = world();
        let phone = w.phone.clone();
        let (got, content_type, problem) = post(&app(w, webhook), request).await;
        assert_eq!((got, content_type.as_str()), (status, "application/problem+json"));
        assert_eq!(problem["type"], format!("urn:mfa:problem:{kind}"), "{problem}");
        assert!(phone.texts().is_empty());
    }
}

#[test]
fn the_openapi_document_has_the_webhook() {
    let doc = serde_json::to_value(mfa_service::http::openapi::document()).unwrap();
    let webhook = &doc["paths"]["/v1/webhooks/sms"]["post"];
    assert!(webhook["requestBody"]["content"]["text/plain"].is_object(), "{webhook}");
    assert!(webhook.get("security").is_none(), "no API key: {webhook}");
}

/// Each inbound text is counted once by its keyword (`mfa_webhook_keywords_total`), into a
/// recorder of this test's thread alone (the runtime runs on it), so that other tests' texts
/// don't count.
#[tokio::test(flavor = "current_thread")]
async fn each_inbound_keyword_is_counted() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let w = world();
    // The README's keywords: STOP opts out, HELP answers, START opts back in; anything else is
    // no keyword.
    for text in ["STOP", "help", "Start", "hello there"] {
        w.text(text).await;
        w.next_hour();
    }
    let mut counts: Vec<(String, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == "mfa_webhook_keywords_total")
        .map(|(key, _, _, value)| {
            let DebugValue::Counter(n) = value else { panic!("not a counter") };
            (key.key().labels().map(|l| l.value().to_owned()).collect(), n)
        })
        .collect();
    counts.sort();
    let want = [("help", 1), ("other", 1), ("start", 1), ("stop", 1)];
    assert_eq!(counts, want.map(|(k, n)| (k.to_owned(), n)));
}
