//! WebAuthn security keys and passkeys through the real `Mfa`, answered by software
//! authenticators (`webauthn-authenticator-rs`), over the embedded store and over DynamoDB (moto,
//! at `MFA_TEST_DYNAMODB_ENDPOINT`; those runs are ignored by a plain `cargo test` and run by
//! `scripts/test.d/30-dynamodb.sh`). Each case is one `async fn` over a [`Rig`]; the `cases!`
//! macro makes a test of it per store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{new_user, Outbox, TestClock};
use mfa_e2e::browser::{assert, passkey, register, security_key, Authenticator};
use mfa_service::config::Config;
use mfa_service::domain::answers::IssuedToken;
use mfa_service::domain::{Error, Mfa, NewFactor, Ports, Proof, StepUpFor};
use mfa_service::ids::{ChallengeId, FactorId, LoginId, UserId};
use mfa_service::model::{AuditAction, AuthMethod, Budget, Method, Operation, WebauthnKind};
use mfa_service::ports::Store;
use rand_core::OsRng;
use serde_json::Value;
use tempfile::TempDir;
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, Url, WebauthnAuthenticator};

const RP_ID: &str = "example.com";
const ORIGIN: &str = "https://login.example.com";
const OTHER_APP: &str = "https://admin.example.com";
const NOW: u64 = 1_750_000_000;
/// The challenge lifetime configured (`MFA_CHALLENGE_TTL_SECONDS`).
const TTL: u64 = 120;

/// The domain over one store, with a clock the test moves.
struct Rig {
    mfa: Mfa,
    store: Arc<dyn Store>,
    clock: Arc<TestClock>,
    _dir: Option<TempDir>,
}

fn config() -> Config {
    common::config(&[
        ("MFA_CHALLENGE_TTL_SECONDS", TTL.to_string()),
        ("MFA_WEBAUTHN_RP_ID", RP_ID.into()),
        ("MFA_WEBAUTHN_ORIGINS", format!("{ORIGIN},{OTHER_APP}")),
    ])
}

fn rig(store: Arc<dyn Store>, dir: Option<TempDir>) -> Rig {
    let clock = Arc::new(TestClock::at(NOW));
    let outbox = Arc::new(Outbox::default());
    let ports = Ports {
        store: store.clone(),
        clock: clock.clone(),
        rng: Box::new(OsRng),
        sms: outbox.clone(),
        voice: outbox.clone(),
        lookup: None,
        email: outbox,
    };
    Rig { mfa: Mfa::new(&config(), ports).unwrap(), store, clock, _dir: dir }
}

async fn embedded() -> Rig {
    let (store, dir) = common::embedded_store();
    rig(store, Some(dir))
}

async fn dynamodb() -> Rig {
    rig(common::dynamodb_store("mfa-webauthn").await, None)
}

/// The payload of a JWT, decoded by hand (not by the library that signed it).
fn claims(token: &IssuedToken) -> Value {
    let payload = token.token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// A pending key's id and the creation options `enroll` gave for it.
struct Pending {
    factor: FactorId,
    options: Value,
}

impl Rig {
    fn advance(&self, seconds: u64) {
        self.clock.advance(seconds);
    }

    async fn enroll(&self, user: &UserId, kind: WebauthnKind, token: Option<&str>) -> Pending {
        let new = NewFactor::Webauthn { kind, label: Some("key".into()) };
        let enrolled = self.mfa.enroll(user, new, token).await.unwrap();
        Pending { factor: enrolled.factor.id, options: enrolled.creation_options.unwrap() }
    }

    /// Enrolls and activates a key of `kind` made by `authenticator`; its factor id.
    async fn key(
        &self,
        user: &UserId,
        kind: WebauthnKind,
        authenticator: &mut Authenticator,
        token: Option<&str>,
    ) -> FactorId {
        let pending = self.enroll(user, kind, token).await;
        let credential = register(authenticator, ORIGIN, &pending.options);
        let proof = Proof::Credential(credential);
        self.mfa.activate(user, &pending.factor, &proof).await.unwrap();
        pending.factor
    }

    /// A sign-in challenge of `factor`: its id and request options.
    async fn challenge(&self, user: &UserId, factor: &FactorId) -> (ChallengeId, Value) {
        let login = self.login(user).await;
        let challenged = self.mfa.challenge(user, &login, factor, None).await.unwrap();
        (challenged.challenge_id, challenged.request_options.unwrap())
    }

    async fn login(&self, user: &UserId) -> LoginId {
        self.mfa.login(user, AuthMethod::Password, None).await.unwrap().login_id
    }

    /// Signs in with `authenticator` on `factor`'s challenge.
    async fn sign_in(
        &self,
        user: &UserId,
        factor: &FactorId,
        authenticator: &mut Authenticator,
    ) -> Result<IssuedToken, Error> {
        let (challenge, options) = self.challenge(user, factor).await;
        let assertion = assert(authenticator, ORIGIN, &options);
        self.mfa.verify(user, &challenge, &Proof::Credential(assertion)).await
    }

    /// A step-up token for `operation` (to `target`), proved by `authenticator` answering a
    /// step-up challenge of `with`.
    async fn step_up(
        &self,
        user: &UserId,
        operation: Operation,
        target: Option<&FactorId>,
        with: &FactorId,
        authenticator: &mut Authenticator,
    ) -> IssuedToken {
        let wanted = StepUpFor { operation, target: target.cloned() };
        let challenged = self.mfa.start_step_up(user, wanted, with, None).await.unwrap();
        let assertion = assert(authenticator, ORIGIN, &challenged.request_options.unwrap());
        let proof = Proof::Credential(assertion);
        self.mfa.finish_step_up(user, &challenged.challenge_id, &proof).await.unwrap()
    }

    async fn key_of(&self, user: &UserId, factor: &FactorId) -> Value {
        let stored = self.store.get_factor(user, factor).await.unwrap().unwrap();
        match stored.method {
            Method::Webauthn { key: Some(key), .. } => {
                serde_json::from_str(&key.credential).unwrap()
            }
            other => panic!("not an active WebAuthn factor: {other:?}"),
        }
    }

    async fn audited(&self, user: &UserId, action: AuditAction) -> bool {
        let events = self.store.latest_events(user, 100).await.unwrap();
        events.iter().any(|e| e.action == action)
    }
}

fn rejected<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::CredentialRejected(why)) => why,
        other => panic!("expected a refused credential, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The cases.

async fn a_security_key_enrolls_and_signs_in(rig: Rig) {
    let user = new_user();
    let mut key = security_key();
    let pending = rig.enroll(&user, WebauthnKind::SecurityKey, None).await;
    let selection = &pending.options["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["userVerification"], "preferred");
    assert_ne!(selection["residentKey"], "required");
    assert_eq!(pending.options["publicKey"]["rp"]["id"], RP_ID);
    let extensions = &pending.options["publicKey"]["extensions"];
    assert_eq!(
        extensions.get("credentialProtectionPolicy"),
        None,
        "a key without a PIN stays usable"
    );

    let credential = register(&mut key, ORIGIN, &pending.options);
    let activated =
        rig.mfa.activate(&user, &pending.factor, &Proof::Credential(credential)).await.unwrap();
    assert_eq!(activated.recovery_codes.map(|c| c.len()), Some(10), "the first factor's codes");
    let stored = rig.key_of(&user, &pending.factor).await;
    let counter_at_registration = stored["counter"].as_u64().unwrap();

    let token = rig.sign_in(&user, &pending.factor, &mut key).await.unwrap();
    let claims = claims(&token);
    assert_eq!(claims["sub"], user.as_str());
    assert_eq!(claims["fid"], pending.factor.as_str());
    assert_eq!(claims["amr"], serde_json::json!(["hwk"]), "no user verification: a key only");
    let after = rig.key_of(&user, &pending.factor).await["counter"].as_u64().unwrap();
    assert!(after > counter_at_registration, "the counter is stored after each use");
    assert!(rig.audited(&user, AuditAction::Verified).await);
}

async fn a_passkey_verifies_the_user_and_says_so(rig: Rig) {
    let user = new_user();
    let mut authenticator = passkey();
    let pending = rig.enroll(&user, WebauthnKind::Passkey, None).await;
    let selection = &pending.options["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["userVerification"], "required");
    assert_eq!(selection["residentKey"], "required", "a passkey is discoverable");
    assert_eq!(selection["requireResidentKey"], true);

    let credential = register(&mut authenticator, ORIGIN, &pending.options);
    rig.mfa.activate(&user, &pending.factor, &Proof::Credential(credential)).await.unwrap();
    let token = rig.sign_in(&user, &pending.factor, &mut authenticator).await.unwrap();
    assert_eq!(claims(&token)["amr"], serde_json::json!(["hwk", "user", "pin"]));

    // An authenticator that can't verify the user can't register a passkey.
    let add = Operation::AddFactor;
    let step_up = rig.step_up(&user, add, None, &pending.factor, &mut authenticator).await;
    let pending = rig.enroll(&user, WebauthnKind::Passkey, Some(&step_up.token)).await;
    let options: CreationChallengeResponse = serde_json::from_value({
        let mut o = pending.options.clone();
        o["publicKey"]["authenticatorSelection"]["residentKey"] = "discouraged".into();
        o["publicKey"]["authenticatorSelection"]["requireResidentKey"] = false.into();
        o
    })
    .unwrap();
    let origin = Url::parse(ORIGIN).unwrap();
    assert!(security_key().token.do_registration(origin, options).is_err());
}

async fn one_challenge_allows_every_key_of_the_user(rig: Rig) {
    let user = new_user();
    let (mut blue, mut phone) = (security_key(), passkey());
    let first = rig.key(&user, WebauthnKind::SecurityKey, &mut blue, None).await;
    let token = rig.step_up(&user, Operation::AddFactor, None, &first, &mut blue).await;
    let second = rig.key(&user, WebauthnKind::Passkey, &mut phone, Some(&token.token)).await;
    let (_, options) = rig.challenge(&user, &first).await;
    let allowed: Vec<&str> = options["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(allowed.len(), 2, "{allowed:?}");
    // Either key answers a challenge of either factor; the token names the key that did.
    let by_passkey = rig.sign_in(&user, &first, &mut phone).await.unwrap();
    assert_eq!(claims(&by_passkey)["fid"], second.as_str());
    assert_eq!(claims(&by_passkey)["amr"], serde_json::json!(["hwk", "user", "pin"]));
    let by_key = rig.sign_in(&user, &second, &mut blue).await.unwrap();
    assert_eq!(claims(&by_key)["fid"], first.as_str());
}

async fn a_second_key_needs_a_step_up_and_the_first_is_excluded(rig: Rig) {
    let user = new_user();
    let mut blue = security_key();
    let first = rig.key(&user, WebauthnKind::SecurityKey, &mut blue, None).await;
    let new = NewFactor::Webauthn { kind: WebauthnKind::SecurityKey, label: None };
    let refused = rig.mfa.enroll(&user, new.clone(), None).await;
    assert!(matches!(refused, Err(Error::StepUpRequired(_))), "{refused:?}");
    // A sign-in's token is not a step-up token.
    let signed_in = rig.sign_in(&user, &first, &mut blue).await.unwrap();
    let refused = rig.mfa.enroll(&user, new, Some(&signed_in.token)).await;
    assert!(matches!(refused, Err(Error::StepUpRequired(_))), "{refused:?}");
    let token = rig.step_up(&user, Operation::AddFactor, None, &first, &mut blue).await;
    assert_eq!(claims(&token)["op"], "add_factor");
    assert_eq!(claims(&token)["aud"], "mfa-step-up");
    let pending = rig.enroll(&user, WebauthnKind::SecurityKey, Some(&token.token)).await;
    let excluded = pending.options["publicKey"]["excludeCredentials"].as_array().unwrap().len();
    assert_eq!(excluded, 1, "the key the user holds can't be registered twice");
}

async fn a_key_made_on_another_origin_or_rp_changes_nothing(rig: Rig) {
    let user = new_user();
    let mut key = security_key();
    let pending = rig.enroll(&user, WebauthnKind::SecurityKey, None).await;
    // A subdomain of the RP id the service doesn't serve sign-in from.
    let evil = register(&mut key, "https://evil.example.com", &pending.options);
    let why = rejected(rig.mfa.activate(&user, &pending.factor, &Proof::Credential(evil)).await);
    assert!(why.contains("origin"), "{why}");
    // The key made for another relying party id (the origin's own host).
    let mut options = pending.options.clone();
    options["publicKey"]["rp"]["id"] = "login.example.com".into();
    let other_rp = register(&mut key, ORIGIN, &options);
    let why =
        rejected(rig.mfa.activate(&user, &pending.factor, &Proof::Credential(other_rp)).await);
    assert!(why.contains("relying party"), "{why}");
    let factor = rig.store.get_factor(&user, &pending.factor).await.unwrap().unwrap();
    assert!(matches!(factor.method, Method::Webauthn { key: None, .. }), "still pending");

    // The same registration still finishes with a good answer, at the other allowed origin.
    let good = register(&mut key, OTHER_APP, &pending.options);
    rig.mfa.activate(&user, &pending.factor, &Proof::Credential(good)).await.unwrap();

    let (challenge, options) = rig.challenge(&user, &pending.factor).await;
    let evil = assert(&mut key, "https://evil.example.com", &options);
    let why = rejected(rig.mfa.verify(&user, &challenge, &Proof::Credential(evil)).await);
    assert!(why.contains("origin"), "{why}");
    let good = assert(&mut key, ORIGIN, &options);
    rig.mfa.verify(&user, &challenge, &Proof::Credential(good)).await.unwrap();
}

/// `assertion` with the bits `flags` of its authenticator data's flags cleared (WebAuthn Level 3,
/// 6.1: the flags are the byte after the 32-byte RP id hash; UP is bit 0, UV bit 2).
fn without_flags(assertion: &Value, flags: u8) -> Value {
    let mut assertion = assertion.clone();
    let data = assertion["response"]["authenticatorData"].as_str().unwrap();
    let mut data = URL_SAFE_NO_PAD.decode(data).unwrap();
    data[32] &= !flags;
    assertion["response"]["authenticatorData"] = URL_SAFE_NO_PAD.encode(data).into();
    assertion
}

/// An answer whose authenticator says it did not test for the user's presence, or (from a key
/// registered with user verification) did not verify the user, is refused as such, and the
/// challenge stays open for a whole answer.
async fn an_answer_without_presence_or_verification_is_refused(rig: Rig) {
    const USER_PRESENT: u8 = 0x01;
    const USER_VERIFIED: u8 = 0x04;
    let user = new_user();
    let mut authenticator = passkey();
    let factor = rig.key(&user, WebauthnKind::Passkey, &mut authenticator, None).await;
    let (challenge, options) = rig.challenge(&user, &factor).await;
    let whole = assert(&mut authenticator, ORIGIN, &options);
    for (cleared, why) in
        [(USER_VERIFIED, "did not verify the user"), (USER_PRESENT, "the user's presence")]
    {
        let answer = Proof::Credential(without_flags(&whole, cleared));
        let refused = rejected(rig.mfa.verify(&user, &challenge, &answer).await);
        assert!(refused.contains(why), "{refused}");
    }
    rig.mfa.verify(&user, &challenge, &Proof::Credential(whole)).await.unwrap();
}

async fn an_assertion_counts_once(rig: Rig) {
    let user = new_user();
    let mut key = security_key();
    let factor = rig.key(&user, WebauthnKind::SecurityKey, &mut key, None).await;
    let (challenge, options) = rig.challenge(&user, &factor).await;
    let assertion = Proof::Credential(assert(&mut key, ORIGIN, &options));
    rig.mfa.verify(&user, &challenge, &assertion).await.unwrap();
    let again = rig.mfa.verify(&user, &challenge, &assertion).await;
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
    let (other, _) = rig.challenge(&user, &factor).await;
    let why = rejected(rig.mfa.verify(&user, &other, &assertion).await);
    assert!(why.contains("another challenge"), "{why}");
}

async fn concurrent_finishes_win_once(rig: Rig) {
    let rig = Arc::new(rig);
    let user = new_user();
    let mut key = security_key();
    let pending = rig.enroll(&user, WebauthnKind::SecurityKey, None).await;
    let credential = Proof::Credential(register(&mut key, ORIGIN, &pending.options));
    let activations = race(&rig, |rig| {
        let (user, factor, credential) = (user.clone(), pending.factor.clone(), credential.clone());
        async move { rig.mfa.activate(&user, &factor, &credential).await.is_ok() }
    })
    .await;
    assert_eq!(activations, 1, "one registration state, one key");
    // The losers counted as failed attempts, enough to lock the account: unlock it.
    rig.mfa.admin_unlock(&user).await.unwrap();

    let (challenge, options) = rig.challenge(&user, &pending.factor).await;
    let assertion = Proof::Credential(assert(&mut key, ORIGIN, &options));
    let sign_ins = race(&rig, |rig| {
        let (user, challenge, assertion) = (user.clone(), challenge.clone(), assertion.clone());
        async move { rig.mfa.verify(&user, &challenge, &assertion).await.is_ok() }
    })
    .await;
    assert_eq!(sign_ins, 1, "one challenge, one token");
}

/// Runs 8 copies of `operation` at once; how many returned `true`.
async fn race<F, Fut>(rig: &Arc<Rig>, operation: F) -> usize
where
    F: Fn(Arc<Rig>) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        tasks.spawn(operation(Arc::clone(rig)));
    }
    tasks.join_all().await.into_iter().filter(|won| *won).count()
}

async fn stale_states_are_refused(rig: Rig) {
    let user = new_user();
    let mut key = security_key();
    let pending = rig.enroll(&user, WebauthnKind::SecurityKey, None).await;
    let credential = Proof::Credential(register(&mut key, ORIGIN, &pending.options));
    rig.advance(TTL);
    let late = rig.mfa.activate(&user, &pending.factor, &credential).await;
    assert!(matches!(late, Err(Error::Expired(_))), "{late:?}");

    let pending = rig.enroll(&user, WebauthnKind::SecurityKey, None).await;
    let credential = Proof::Credential(register(&mut key, ORIGIN, &pending.options));
    rig.mfa.activate(&user, &pending.factor, &credential).await.unwrap();
    let reused = rig.mfa.activate(&user, &pending.factor, &credential).await;
    assert!(matches!(reused, Err(Error::Conflict(_))), "{reused:?}");

    let (challenge, options) = rig.challenge(&user, &pending.factor).await;
    let assertion = Proof::Credential(assert(&mut key, ORIGIN, &options));
    rig.advance(TTL);
    let late = rig.mfa.verify(&user, &challenge, &assertion).await;
    assert!(matches!(late, Err(Error::Expired(_))), "{late:?}");
}

async fn another_users_key_is_refused(rig: Rig) {
    let (ada, bob) = (new_user(), new_user());
    let (mut adas, mut bobs) = (security_key(), security_key());
    let ada_factor = rig.key(&ada, WebauthnKind::SecurityKey, &mut adas, None).await;
    let bob_factor = rig.key(&bob, WebauthnKind::SecurityKey, &mut bobs, None).await;
    let (challenge, ada_options) = rig.challenge(&ada, &ada_factor).await;
    // Bob's key, answering Ada's challenge as if it were allowed.
    let mut forged = ada_options.clone();
    let bobs_id = rig.key_of(&bob, &bob_factor).await["cred_id"].clone();
    forged["publicKey"]["allowCredentials"][0]["id"] = bobs_id;
    let bobs_answer = Proof::Credential(assert(&mut bobs, ORIGIN, &forged));
    let why = rejected(rig.mfa.verify(&ada, &challenge, &bobs_answer).await);
    assert!(why.contains("not enrolled"), "{why}");
    // Bob's key on Bob's own challenge, sent as Ada: the challenge isn't hers.
    let (bobs_challenge, bob_options) = rig.challenge(&bob, &bob_factor).await;
    let answer = Proof::Credential(assert(&mut bobs, ORIGIN, &bob_options));
    let wrong_user = rig.mfa.verify(&ada, &bobs_challenge, &answer).await;
    assert!(matches!(wrong_user, Err(Error::NotFound(_))), "{wrong_user:?}");
    rig.mfa.verify(&bob, &bobs_challenge, &answer).await.unwrap();
    // Ada's challenge is still open for her own key.
    let adas_answer = Proof::Credential(assert(&mut adas, ORIGIN, &ada_options));
    rig.mfa.verify(&ada, &challenge, &adas_answer).await.unwrap();
}

async fn a_counter_that_goes_backwards_is_refused_and_audited(rig: Rig) {
    let user = new_user();
    let mut key = security_key();
    let factor = rig.key(&user, WebauthnKind::SecurityKey, &mut key, None).await;
    rig.sign_in(&user, &factor, &mut key).await.unwrap();
    // The stored counter jumps ahead, as when a clone of the key has been used.
    let stored = rig.store.get_factor(&user, &factor).await.unwrap().unwrap();
    let Method::Webauthn { key: Some(stored_key), .. } = stored.method else { panic!() };
    let mut credential: Value = serde_json::from_str(&stored_key.credential).unwrap();
    credential["counter"] = 1_000_000.into();
    let ahead = serde_json::to_string(&credential).unwrap();
    assert!(rig
        .store
        .update_webauthn_key(&user, &factor, &stored_key.credential, &ahead)
        .await
        .unwrap());

    let why = rejected(rig.sign_in(&user, &factor, &mut key).await);
    assert!(why.contains("counter"), "{why}");
    assert!(rig.audited(&user, AuditAction::WebauthnCounterRegressed).await);
    assert_eq!(rig.key_of(&user, &factor).await["counter"], 1_000_000, "nothing stored");
}

async fn malformed_credentials_are_bad_requests_that_change_nothing(rig: Rig) {
    let user = new_user();
    let mut key = security_key();
    let pending = rig.enroll(&user, WebauthnKind::SecurityKey, None).await;
    for junk in [serde_json::json!({"id": 5}), serde_json::json!("text"), serde_json::json!({})] {
        let refused = rig.mfa.activate(&user, &pending.factor, &Proof::Credential(junk)).await;
        assert!(matches!(refused, Err(Error::BadRequest(_))), "{refused:?}");
    }
    let code = rig.mfa.activate(&user, &pending.factor, &Proof::Code("123456".into())).await;
    assert!(matches!(code, Err(Error::BadRequest(_))), "{code:?}");
    let counted = rig.store.failures(&user, Budget::SecondFactor).await.unwrap();
    assert_eq!(counted, 0, "nothing counted");
    let credential = Proof::Credential(register(&mut key, ORIGIN, &pending.options));
    rig.mfa.activate(&user, &pending.factor, &credential).await.unwrap();

    let (challenge, _) = rig.challenge(&user, &pending.factor).await;
    let junk = Proof::Credential(serde_json::json!({"type": "public-key"}));
    assert!(matches!(rig.mfa.verify(&user, &challenge, &junk).await, Err(Error::BadRequest(_))));
    let code = rig.mfa.verify(&user, &challenge, &Proof::Code("123456".into())).await;
    assert!(matches!(code, Err(Error::BadRequest(_))), "{code:?}");
    let open = rig.store.get_challenge(&challenge).await.unwrap().unwrap();
    assert_eq!(open.consumed_at, None);
}

async fn deleting_a_key_needs_its_own_token(rig: Rig) {
    let user = new_user();
    let (mut blue, mut red) = (security_key(), security_key());
    let first = rig.key(&user, WebauthnKind::SecurityKey, &mut blue, None).await;
    let token = rig.step_up(&user, Operation::AddFactor, None, &first, &mut blue).await;
    let second = rig.key(&user, WebauthnKind::SecurityKey, &mut red, Some(&token.token)).await;
    // Blue can't prove red's deletion: not by a step-up of its own...
    let wanted = StepUpFor { operation: Operation::DeleteFactor, target: Some(second.clone()) };
    let refused = rig.mfa.start_step_up(&user, wanted, &first, None).await;
    assert!(matches!(refused, Err(Error::BadRequest(_))), "{refused:?}");
    let by_blue =
        rig.step_up(&user, Operation::DeleteFactor, Some(&first), &first, &mut blue).await;
    let refused = rig.mfa.delete(&user, &second, Some(&by_blue.token)).await;
    assert!(matches!(refused, Err(Error::StepUpRequired(_))), "{refused:?}");
    // ...nor a sign-in with red's own token.
    let signed_in = rig.sign_in(&user, &second, &mut red).await.unwrap();
    let refused = rig.mfa.delete(&user, &second, Some(&signed_in.token)).await;
    assert!(matches!(refused, Err(Error::StepUpRequired(_))), "{refused:?}");
    let by_red =
        rig.step_up(&user, Operation::DeleteFactor, Some(&second), &second, &mut red).await;
    let reds_id = rig.key_of(&user, &second).await["cred_id"].clone();
    rig.mfa.delete(&user, &second, Some(&by_red.token)).await.unwrap();
    // A deleted key is no longer allowed, and signs in no more even when offered.
    let (challenge, mut options) = rig.challenge(&user, &first).await;
    let allowed = options["publicKey"]["allowCredentials"].as_array().unwrap().clone();
    assert_eq!(allowed.len(), 1);
    assert_ne!(allowed[0]["id"], reds_id);
    options["publicKey"]["allowCredentials"][0]["id"] = reds_id;
    let answer = Proof::Credential(assert(&mut red, ORIGIN, &options));
    rejected(rig.mfa.verify(&user, &challenge, &answer).await);
}

/// A passwordless sign-in answered by `authenticator`'s passkey `credential_id`, carrying
/// `user_handle` (base64url, as the passkey's creation options gave it).
async fn passwordless(
    rig: &Rig,
    authenticator: &mut Authenticator,
    credential_id: &Value,
    user_handle: &Value,
) -> (ChallengeId, Proof) {
    let started = rig.mfa.start_passkey_sign_in().await.unwrap();
    let mut options = started.request_options.clone();
    assert_eq!(options["publicKey"]["allowCredentials"], serde_json::json!([]), "any passkey");
    assert_eq!(options["publicKey"]["userVerification"], "required");
    // The software authenticator keeps no resident keys: it is told which credential to use,
    // and its answer gets the user handle a discoverable authenticator returns (not signed).
    options["publicKey"]["allowCredentials"] =
        serde_json::json!([{"type": "public-key", "id": credential_id}]);
    let mut assertion = assert(authenticator, ORIGIN, &options);
    assertion["response"]["userHandle"] = user_handle.clone();
    (started.challenge_id, Proof::Credential(assertion))
}

async fn a_passkey_signs_in_without_a_user_name(rig: Rig) {
    let user = new_user();
    let mut phone = passkey();
    let pending = rig.enroll(&user, WebauthnKind::Passkey, None).await;
    let handle = pending.options["publicKey"]["user"]["id"].clone();
    let credential = Proof::Credential(register(&mut phone, ORIGIN, &pending.options));
    rig.mfa.activate(&user, &pending.factor, &credential).await.unwrap();
    let credential_id = rig.key_of(&user, &pending.factor).await["cred_id"].clone();

    let (id, assertion) = passwordless(&rig, &mut phone, &credential_id, &handle).await;
    let Proof::Credential(json) = &assertion else { panic!() };
    let signed_in = rig.mfa.finish_passkey_sign_in(&id, json).await.unwrap();
    assert_eq!(signed_in.user, user, "the passkey names its user");
    assert_eq!(claims(&signed_in.token)["amr"], serde_json::json!(["hwk", "user", "pin"]));
    assert_eq!(claims(&signed_in.token)["fid"], pending.factor.as_str());
    let again = rig.mfa.finish_passkey_sign_in(&id, json).await;
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");

    // The login decision takes the passkey's token as a whole sign-in, and nothing less.
    let token = Some(signed_in.token.token.as_str());
    let decision = rig.mfa.login(&user, AuthMethod::Passkey, token).await.unwrap();
    assert_eq!(decision.decision, mfa_service::model::Decision::Allow);
    let bare = rig.mfa.login(&user, AuthMethod::Passkey, None).await;
    assert!(matches!(bare, Err(Error::StepUpRequired(_))), "{bare:?}");
    let mut key = security_key();
    let by_key = {
        let other = new_user();
        let factor = rig.key(&other, WebauthnKind::SecurityKey, &mut key, None).await;
        (other.clone(), rig.sign_in(&other, &factor, &mut key).await.unwrap())
    };
    let not_a_passkey = rig.mfa.login(&by_key.0, AuthMethod::Passkey, Some(&by_key.1.token)).await;
    assert!(matches!(not_a_passkey, Err(Error::StepUpRequired(_))), "{not_a_passkey:?}");
}

async fn a_passwordless_answer_that_names_nobody_known_changes_nothing(rig: Rig) {
    let user = new_user();
    let mut phone = passkey();
    let pending = rig.enroll(&user, WebauthnKind::Passkey, None).await;
    let credential = Proof::Credential(register(&mut phone, ORIGIN, &pending.options));
    rig.mfa.activate(&user, &pending.factor, &credential).await.unwrap();
    let credential_id = rig.key_of(&user, &pending.factor).await["cred_id"].clone();
    let stranger = serde_json::json!(URL_SAFE_NO_PAD.encode([7u8; 16]));
    let (id, assertion) = passwordless(&rig, &mut phone, &credential_id, &stranger).await;
    let Proof::Credential(json) = &assertion else { panic!() };
    let why = rejected(rig.mfa.finish_passkey_sign_in(&id, json).await);
    assert!(why.contains("not enrolled"), "{why}");
    let junk = rig.mfa.finish_passkey_sign_in(&id, &serde_json::json!({"id": 1})).await;
    assert!(matches!(junk, Err(Error::BadRequest(_))), "{junk:?}");
    let open = rig.store.get_passkey_sign_in(&id).await.unwrap().unwrap();
    assert_eq!(open.consumed_at, None, "still open");
    rig.advance(TTL);
    let late = rig.mfa.finish_passkey_sign_in(&id, json).await;
    assert!(matches!(late, Err(Error::Expired(_))), "{late:?}");
}

macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        mod embedded_store {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(embedded().await).await;
                }
            )*
        }
        mod dynamodb_store {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[ignore = "needs a DynamoDB-compatible server: scripts/test-all.sh starts moto"]
                async fn $case() {
                    super::$case(dynamodb().await).await;
                }
            )*
        }
    };
}

cases!(
    a_security_key_enrolls_and_signs_in,
    a_passkey_verifies_the_user_and_says_so,
    one_challenge_allows_every_key_of_the_user,
    a_second_key_needs_a_step_up_and_the_first_is_excluded,
    a_key_made_on_another_origin_or_rp_changes_nothing,
    an_answer_without_presence_or_verification_is_refused,
    an_assertion_counts_once,
    concurrent_finishes_win_once,
    stale_states_are_refused,
    another_users_key_is_refused,
    a_counter_that_goes_backwards_is_refused_and_audited,
    malformed_credentials_are_bad_requests_that_change_nothing,
    deleting_a_key_needs_its_own_token,
    a_passkey_signs_in_without_a_user_name,
    a_passwordless_answer_that_names_nobody_known_changes_nothing,
);
