//! Security keys and passkeys over HTTP, answered by software authenticators at the origin the
//! stack's relying party allows.

use mfa_client::api::{
    ActivateResponse, AuthMethod, ChallengeRequest, CredentialRequest, Decision, EnrollRequest,
    FactorKind, FactorStatus, LoginRequest, Operation, ProofRequest, StepUpRequest, WebauthnKind,
};
use mfa_e2e::browser::{assert, passkey, register, security_key, Authenticator};
use mfa_e2e::{credential, password, refused, unique_user, Stack};
use serde_json::{json, Value};

use crate::stack;

/// Enrolls a key of `kind` and activates it with `authenticator`; the factor id and the answer.
async fn enroll_key(
    s: &Stack,
    user: &str,
    kind: WebauthnKind,
    authenticator: &mut Authenticator,
    token: Option<&str>,
) -> (String, ActivateResponse) {
    let key = EnrollRequest::Webauthn { kind, label: Some("Blue key".into()) };
    // 201 Created.
    let enrolled = s.enroll().enroll(user, &key, token).await.unwrap();
    assert_eq!(enrolled.factor.kind, FactorKind::Webauthn);
    assert_eq!(enrolled.factor.webauthn_kind, Some(kind));
    assert_eq!(enrolled.factor.status, FactorStatus::Pending);
    let factor = enrolled.factor.id;
    let options = enrolled.creation_options.unwrap();
    let made = register(authenticator, &s.webauthn_origin, &options);
    let activated = s.enroll().activate(user, &factor, &credential(made)).await.unwrap();
    assert_eq!(activated.factor.status, FactorStatus::Active);
    (factor, activated)
}

/// A sign-in challenge of `factor`: its id and request options.
async fn challenge(s: &Stack, user: &str, factor: &str) -> (String, Value) {
    let login = s.verify().login(user, &password()).await.unwrap();
    assert_eq!(login.decision, Decision::Challenge, "{login:?}");
    let ask =
        ChallengeRequest { login_id: login.login_id, factor_id: factor.to_owned(), delivery: None };
    // 201 Created.
    let challenged = s.verify().challenge(user, &ask).await.unwrap();
    assert_eq!(challenged.delivery, "webauthn");
    (challenged.challenge_id, challenged.request_options.unwrap())
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn security_key_and_passkey_enroll_and_sign_in() {
    let s = stack();
    let user = unique_user("webauthn");
    let (mut key, mut phone) = (security_key(), passkey());
    let (key_factor, first) =
        enroll_key(&s, &user, WebauthnKind::SecurityKey, &mut key, None).await;
    assert_eq!(first.recovery_codes.as_ref().map(Vec::len), Some(10));

    let (challenge_id, options) = challenge(&s, &user, &key_factor).await;
    let assertion = assert(&mut key, &s.webauthn_origin, &options);
    let proof = credential(assertion);
    let verified = s.verify().verify(&user, &challenge_id, &proof).await.unwrap();
    let token = verified.mfa_token;
    s.check_token(&token, &user, &key_factor, &["hwk"]).await;
    // The same assertion again: the challenge is answered.
    refused(s.verify().verify(&user, &challenge_id, &proof).await, 409, "conflict");

    // A sign-in's token doesn't add a factor; a step-up for adding one, proved by the key, does.
    let a_passkey = EnrollRequest::Webauthn { kind: WebauthnKind::Passkey, label: None };
    let refusal = s.enroll().enroll(&user, &a_passkey, Some(&token)).await;
    refused(refusal, 403, "step-up-required");
    let asked = StepUpRequest {
        operation: Operation::AddFactor,
        factor_id: None,
        with_factor_id: key_factor.clone(),
        delivery: None,
    };
    // 201 Created.
    let started = s.verify().start_step_up(&user, &asked).await.unwrap();
    assert_eq!(started.delivery, "webauthn");
    let options = started.request_options.unwrap();
    let assertion = assert(&mut key, &s.webauthn_origin, &options);
    let proved = s
        .verify()
        .finish_step_up(&user, &started.challenge_id, &credential(assertion))
        .await
        .unwrap();
    let step_up = proved.step_up_token;
    let adding = (Operation::AddFactor, None);
    s.check_step_up_token(&step_up, &user, adding, &key_factor, &["hwk"]);
    let (passkey_factor, _) =
        enroll_key(&s, &user, WebauthnKind::Passkey, &mut phone, Some(&step_up)).await;
    let (challenge_id, options) = challenge(&s, &user, &passkey_factor).await;
    assert_eq!(options["publicKey"]["allowCredentials"].as_array().unwrap().len(), 2);
    let assertion = assert(&mut phone, &s.webauthn_origin, &options);
    let verified = s.verify().verify(&user, &challenge_id, &credential(assertion)).await.unwrap();
    s.check_token(&verified.mfa_token, &user, &passkey_factor, &["hwk", "user", "pin"]).await;
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn bad_credentials_are_problems_that_change_nothing() {
    let s = stack();
    let user = unique_user("webauthn-bad");
    let mut key = security_key();
    let (factor, _) = enroll_key(&s, &user, WebauthnKind::SecurityKey, &mut key, None).await;
    let (challenge_id, options) = challenge(&s, &user, &factor).await;
    let verify = |proof: ProofRequest| {
        let (s, user, challenge_id) = (&s, &user, &challenge_id);
        async move { s.verify().verify(user, challenge_id, &proof).await }
    };

    let malformed = verify(credential(json!({"id": 5}))).await;
    refused(malformed, 400, "invalid-request");
    let both = ProofRequest { code: Some("123456".into()), credential: Some(json!({})) };
    refused(verify(both).await, 400, "invalid-request");
    let elsewhere = assert(&mut key, "https://evil.localhost", &options);
    refused(verify(credential(elsewhere)).await, 400, "credential-rejected");

    // The challenge is still open for the right answer.
    let good = assert(&mut key, &s.webauthn_origin, &options);
    let verified = verify(credential(good)).await.unwrap();
    s.check_token(&verified.mfa_token, &user, &factor, &["hwk"]).await;
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_passkey_alone_signs_in() {
    let s = stack();
    let user = unique_user("passwordless");
    let mut phone = passkey();
    let a_passkey = EnrollRequest::Webauthn { kind: WebauthnKind::Passkey, label: None };
    // 201 Created.
    let enrolled = s.enroll().enroll(&user, &a_passkey, None).await.unwrap();
    let factor = enrolled.factor.id;
    let options = enrolled.creation_options.unwrap();
    let handle = options["publicKey"]["user"]["id"].clone();
    let made = register(&mut phone, &s.webauthn_origin, &options);
    s.enroll().activate(&user, &factor, &credential(made.clone())).await.unwrap();

    // 201 Created.
    let started = s.verify().start_passkey_sign_in().await.unwrap();
    let mut request = started.request_options;
    assert_eq!(request["publicKey"]["allowCredentials"], json!([]));
    // The software authenticator keeps no resident keys: it is told which credential to use, and
    // its answer gets the user handle a discoverable one returns.
    request["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": made["id"]}]);
    let mut assertion = assert(&mut phone, &s.webauthn_origin, &request);
    assertion["response"]["userHandle"] = handle;
    let answer = CredentialRequest { credential: assertion };
    let verify = || s.verify().verify_passkey_sign_in(&started.challenge_id, &answer);
    let signed_in = verify().await.unwrap();
    assert_eq!(signed_in.user, user);
    let token = signed_in.mfa_token;
    s.check_token(&token, &user, &factor, &["hwk", "user", "pin"]).await;
    refused(verify().await, 409, "conflict");

    let with =
        |mfa_token: Option<String>| LoginRequest { auth_method: AuthMethod::Passkey, mfa_token };
    let allowed = s.verify().login(&user, &with(Some(token))).await.unwrap();
    assert_eq!(allowed.decision, Decision::Allow, "{allowed:?}");
    refused(s.verify().login(&user, &with(None)).await, 403, "step-up-required");
}
