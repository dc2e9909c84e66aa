//! Security keys and passkeys over HTTP, answered by software authenticators at the origin the
//! stack's relying party allows.

use mfa_e2e::browser::{assert, passkey, register, security_key, Authenticator};
use mfa_e2e::{jwt_claims, unique_user, Function::*, Stack};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::stack;

/// Enrolls a key of `kind` and activates it with `authenticator`; the factor id and the answer.
async fn enroll_key(
    s: &Stack,
    user: &str,
    kind: &str,
    authenticator: &mut Authenticator,
    token: Option<&str>,
) -> (String, Value) {
    let path = format!("/v1/users/{user}/factors");
    let body = json!({"type": "webauthn", "kind": kind, "label": "Blue key"});
    let headers: Vec<(&str, &str)> = token.map(|t| ("step-up-token", t)).into_iter().collect();
    let enrolled = s.send(reqwest::Method::POST, Enroll, &path, Some(&body), None, &headers).await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{:?}", enrolled.body);
    assert_eq!(enrolled.body["factor"]["type"], "webauthn");
    assert_eq!(enrolled.body["factor"]["webauthn_kind"], kind);
    let factor = enrolled.body["factor"]["id"].as_str().unwrap().to_owned();
    let options = &enrolled.body["creation_options"];
    let credential = register(authenticator, &s.webauthn_origin, options);
    let activate = format!("/v1/users/{user}/factors/{factor}/activate");
    let activated = s.post(Enroll, &activate, json!({"credential": credential})).await;
    assert_eq!(activated.status, StatusCode::OK, "{:?}", activated.body);
    assert_eq!(activated.body["factor"]["status"], "active");
    (factor, activated.body)
}

/// A sign-in challenge of `factor`: its id and request options.
async fn challenge(s: &Stack, user: &str, factor: &str) -> (String, Value) {
    let login = s.login(user).await;
    assert_eq!(login.body["decision"], "challenge", "{:?}", login.body);
    let login_id = login.body["login_id"].as_str().unwrap();
    let challenged = s.challenge(user, login_id, factor).await;
    assert_eq!(challenged.status, StatusCode::CREATED, "{:?}", challenged.body);
    assert_eq!(challenged.body["delivery"], "webauthn");
    let id = challenged.body["challenge_id"].as_str().unwrap().to_owned();
    (id, challenged.body["request_options"].clone())
}

/// The `amr` claim of an MFA token.
fn amr(token: &str) -> Value {
    jwt_claims(token)["amr"].clone()
}

fn assert_problem(answer: &mfa_e2e::Answer, status: StatusCode, kind: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert_eq!(answer.content_type, "application/problem+json");
    assert_eq!(answer.body["type"], format!("urn:mfa:problem:{kind}"), "{:?}", answer.body);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn security_key_and_passkey_enroll_and_sign_in() {
    let s = stack();
    let user = unique_user("webauthn");
    let (mut key, mut phone) = (security_key(), passkey());
    let (key_factor, first) = enroll_key(&s, &user, "security_key", &mut key, None).await;
    assert_eq!(first["recovery_codes"].as_array().map(Vec::len), Some(10));

    let (challenge_id, options) = challenge(&s, &user, &key_factor).await;
    let assertion = assert(&mut key, &s.webauthn_origin, &options);
    let verified = s.verify_credential(&user, &challenge_id, assertion.clone()).await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);
    let token = verified.body["mfa_token"].as_str().unwrap().to_owned();
    assert_eq!(amr(&token), json!(["hwk"]));
    // The same assertion again: the challenge is answered.
    let replayed = s.verify_credential(&user, &challenge_id, assertion).await;
    assert_problem(&replayed, StatusCode::CONFLICT, "conflict");

    // A sign-in's token doesn't add a factor; a step-up for adding one, proved by the key, does.
    let path = format!("/v1/users/{user}/factors");
    let body = json!({"type": "webauthn", "kind": "passkey"});
    let headers = [("step-up-token", token.as_str())];
    let refused = s.send(reqwest::Method::POST, Enroll, &path, Some(&body), None, &headers).await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "step-up-required");
    let started = s.step_up(&user, "add_factor", None, &key_factor).await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    let assertion = assert(&mut key, &s.webauthn_origin, &started.body["request_options"]);
    let id = started.body["challenge_id"].as_str().unwrap();
    let proved = s.finish_step_up(&user, id, json!({"credential": assertion})).await;
    assert_eq!(proved.status, StatusCode::OK, "{:?}", proved.body);
    let step_up = proved.body["step_up_token"].as_str().unwrap();
    let (passkey_factor, _) = enroll_key(&s, &user, "passkey", &mut phone, Some(step_up)).await;
    let (challenge_id, options) = challenge(&s, &user, &passkey_factor).await;
    assert_eq!(options["publicKey"]["allowCredentials"].as_array().unwrap().len(), 2);
    let assertion = assert(&mut phone, &s.webauthn_origin, &options);
    let verified = s.verify_credential(&user, &challenge_id, assertion).await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);
    assert_eq!(amr(verified.body["mfa_token"].as_str().unwrap()), json!(["hwk", "user", "pin"]));
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn bad_credentials_are_problems_that_change_nothing() {
    let s = stack();
    let user = unique_user("webauthn-bad");
    let mut key = security_key();
    let (factor, _) = enroll_key(&s, &user, "security_key", &mut key, None).await;
    let (challenge_id, options) = challenge(&s, &user, &factor).await;
    let path = format!("/v1/users/{user}/challenges/{challenge_id}/verify");

    let malformed = s.post(Verify, &path, json!({"credential": {"id": 5}})).await;
    assert_problem(&malformed, StatusCode::BAD_REQUEST, "invalid-request");
    let both = s.post(Verify, &path, json!({"code": "123456", "credential": {}})).await;
    assert_problem(&both, StatusCode::BAD_REQUEST, "invalid-request");
    let elsewhere = assert(&mut key, "https://evil.localhost", &options);
    let refused = s.verify_credential(&user, &challenge_id, elsewhere).await;
    assert_problem(&refused, StatusCode::BAD_REQUEST, "credential-rejected");

    // The challenge is still open for the right answer.
    let good = assert(&mut key, &s.webauthn_origin, &options);
    let verified = s.verify_credential(&user, &challenge_id, good).await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_passkey_alone_signs_in() {
    let s = stack();
    let user = unique_user("passwordless");
    let mut phone = passkey();
    let path = format!("/v1/users/{user}/factors");
    let enrolled = s.post(Enroll, &path, json!({"type": "webauthn", "kind": "passkey"})).await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{:?}", enrolled.body);
    let factor = enrolled.body["factor"]["id"].as_str().unwrap().to_owned();
    let options = &enrolled.body["creation_options"];
    let handle = options["publicKey"]["user"]["id"].clone();
    let credential = register(&mut phone, &s.webauthn_origin, options);
    let activate = format!("/v1/users/{user}/factors/{factor}/activate");
    let activated = s.post(Enroll, &activate, json!({"credential": credential.clone()})).await;
    assert_eq!(activated.status, StatusCode::OK, "{:?}", activated.body);

    let started = s.post(Verify, "/v1/passkey-sign-ins", json!({})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    let id = started.body["challenge_id"].as_str().unwrap();
    let mut request = started.body["request_options"].clone();
    assert_eq!(request["publicKey"]["allowCredentials"], json!([]));
    // The software authenticator keeps no resident keys: it is told which credential to use, and
    // its answer gets the user handle a discoverable one returns.
    request["publicKey"]["allowCredentials"] =
        json!([{"type": "public-key", "id": credential["id"]}]);
    let mut assertion = assert(&mut phone, &s.webauthn_origin, &request);
    assertion["response"]["userHandle"] = handle;
    let verify = format!("/v1/passkey-sign-ins/{id}/verify");
    let signed_in = s.post(Verify, &verify, json!({"credential": assertion.clone()})).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{:?}", signed_in.body);
    assert_eq!(signed_in.body["user"], user.as_str());
    let token = signed_in.body["mfa_token"].as_str().unwrap();
    assert_eq!(amr(token), json!(["hwk", "user", "pin"]));
    let again = s.post(Verify, &verify, json!({"credential": assertion})).await;
    assert_problem(&again, StatusCode::CONFLICT, "conflict");

    let login = format!("/v1/users/{user}/login");
    let allowed =
        s.post(Verify, &login, json!({"auth_method": "passkey", "mfa_token": token})).await;
    assert_eq!(allowed.body["decision"], "allow", "{:?}", allowed.body);
    let bare = s.post(Verify, &login, json!({"auth_method": "passkey"})).await;
    assert_problem(&bare, StatusCode::FORBIDDEN, "step-up-required");
}
