//! Bad input gets a clear 4xx problem document and changes nothing.
//!
//! Raw HTTP on purpose where a test is about what the typed client (`mfa-client`) can't send:
//! missing or wrong API keys, malformed JSON, values and fields the API's types don't have,
//! oversized bodies and unknown routes (`Stack::send`). Everything else goes through the client.

use mfa_client::api::{
    ChallengeRequest, Decision, EnrollRequest, Operation, PolicyBody, RecoveryVerifyRequest,
    StepUpRequest,
};
use mfa_e2e::{code, password, refused, unique_phone, unique_user, Function::*, Stack};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::stack;

const PROBLEM: &str = "application/problem+json";

/// A raw POST with the admin-scoped key.
async fn post(s: &Stack, function: mfa_e2e::Function, path: &str, body: Value) -> mfa_e2e::Answer {
    s.send(Method::POST, function, path, Some(&body), None, &[]).await
}

/// Asserts a raw answer is a problem document of `status` with a detail.
#[track_caller]
fn assert_problem(answer: &mfa_e2e::Answer, status: StatusCode, what: &str) {
    assert_eq!(answer.status, status, "{what}: {:?}", answer.body);
    assert_eq!(answer.content_type, PROBLEM, "{what}");
    assert_eq!(answer.body["status"], status.as_u16(), "{what}");
    assert!(answer.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{what}");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn missing_or_wrong_api_keys_are_refused() {
    let s = stack();
    let user = unique_user("auth");
    let path = format!("/v1/users/{user}/factors");
    for key in ["", "mfa_wrong"] {
        let answer = s
            .send(Method::POST, Enroll, &path, Some(&json!({"type":"totp"})), Some(key), &[])
            .await;
        // An empty key sends no Authorization header at all.
        assert_problem(&answer, StatusCode::UNAUTHORIZED, key);
        assert_eq!(answer.body["type"], "urn:mfa:problem:unauthorized");
    }
    let listed = s.get(|| s.manage().factors(&user)).await.unwrap();
    assert!(listed.factors.is_empty(), "refused requests changed nothing: {listed:?}");

    // Only the JWKS and the OpenAPI document (and the SMS webhook, signed by SNS) answer
    // without a key.
    let doc = s.send(Method::GET, Verify, "/v1/openapi.json", None, Some(""), &[]).await;
    assert_eq!(doc.status, StatusCode::OK, "{:?}", doc.body);
    assert_eq!(doc.body["openapi"], "3.1.0");
    assert!(doc.body["paths"]["/v1/users/{user}/factors"]["post"].is_object(), "{:?}", doc.body);
    let jwks = s.send(Method::GET, Verify, "/.well-known/jwks.json", None, Some(""), &[]).await;
    assert_eq!(jwks.status, StatusCode::OK, "{:?}", jwks.body);
    assert_eq!(jwks.body["keys"][0]["crv"], "Ed25519", "{:?}", jwks.body);
    // The same document through the client, with a key.
    let typed = s.get(|| s.verify().openapi()).await.unwrap();
    assert_eq!(typed, doc.body);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn malformed_requests_get_problem_documents_and_change_nothing() {
    let s = stack();
    let user = unique_user("bad");
    let factors = format!("/v1/users/{user}/factors");
    // Bodies the API's types can't hold: raw.
    let cases = [
        (json!({"type":"carrier-pigeon"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"type":"totp","label": 7}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"type":"totp","extra": true}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!([1, 2]), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"type":"totp","label": "x".repeat(20_000)}), StatusCode::PAYLOAD_TOO_LARGE),
    ];
    for (body, status) in cases {
        let answer = post(&s, Enroll, &factors, body.clone()).await;
        assert_problem(&answer, status, &body.to_string());
    }
    // Well-formed, but not valid.
    for odd in [
        EnrollRequest::Totp { label: Some(String::new()), account_name: None },
        EnrollRequest::Totp { label: None, account_name: Some("a:b".into()) },
    ] {
        refused(s.enroll().enroll(&user, &odd, None).await, 400, "invalid-request");
    }
    let listed = s.get(|| s.manage().factors(&user)).await.unwrap();
    assert!(listed.factors.is_empty(), "{listed:?}");

    // The client sends `has space` as `has%20space`.
    let totp = EnrollRequest::Totp { label: None, account_name: None };
    refused(s.enroll().enroll("has space", &totp, None).await, 400, "invalid-request");

    let unknown = s.verify().verify(&user, "chl_nope", &code("123456")).await;
    refused(unknown, 404, "not-found");
    let shape = s.verify().verify(&user, "chl_nope", &code("12ab")).await;
    refused(shape, 400, "invalid-request");
    let ask = |login: &str, factor: &str| ChallengeRequest {
        login_id: login.to_owned(),
        factor_id: factor.to_owned(),
        delivery: None,
    };
    let login = s.verify().challenge(&user, &ask("lgn_nope", "fac_nope")).await;
    refused(login, 404, "not-found");
    let recover = |code: &str, login: Option<&str>| RecoveryVerifyRequest {
        code: code.to_owned(),
        login_id: login.map(str::to_owned),
        step_up: None,
    };
    let recovery = s.verify().verify_recovery(&user, &recover("short", None)).await;
    refused(recovery, 400, "invalid-request");

    // Ids in a body are checked as ids in a path are: never a storage error.
    let long = "x".repeat(3000);
    let challenges = [ask(&long, "fac_1"), ask("lgn_1", "a b")];
    for asked in challenges {
        let answer = s.verify().challenge(&user, &asked).await;
        refused(answer, 400, "invalid-request");
    }
    let step_up = StepUpRequest {
        operation: Operation::AddFactor,
        factor_id: None,
        with_factor_id: long.clone(),
        delivery: None,
    };
    refused(s.verify().start_step_up(&user, &step_up).await, 400, "invalid-request");
    let slash = recover("ABCD-EFGH-JKMN-PQRS", Some("lgn/1"));
    refused(s.verify().verify_recovery(&user, &slash).await, 400, "invalid-request");

    // A field the policy doesn't have (a typo of one it does) is refused, and nothing is set.
    let org = unique_user("org");
    let policy = format!("/v1/admin/orgs/{org}/policy");
    let extra = json!({"require_mfa": true, "requireMfa": false});
    let answer = s.send(Method::PUT, Admin, &policy, Some(&extra), None, &[]).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "requireMfa");
    let kept = s.get(|| s.admin().admin_policy(&org)).await.unwrap();
    assert!(!kept.require_mfa, "nothing was set: {kept:?}");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn values_and_fields_the_api_does_not_have_are_refused_and_change_nothing() {
    let s = stack();
    // A delivery other than `sms` or `voice`: when enrolling a phone, and when challenging a
    // factor; nothing is sent.
    let phone = unique_phone();
    let body = json!({"type": "sms", "phone": phone, "delivery": "carrier-pigeon"});
    let enrolled = post(&s, Enroll, &format!("/v1/users/{}/factors", unique_user("p")), body).await;
    assert_problem(&enrolled, StatusCode::UNPROCESSABLE_ENTITY, "carrier-pigeon");
    assert!(s.messages_to(&phone).await.is_empty() && s.calls_to(&phone).await.is_empty());

    let (user, address) = (unique_user("fax"), format!("{}@example.com", unique_user("f")));
    let email = EnrollRequest::Email { email: address.clone(), label: None };
    let factor = s.enroll().enroll(&user, &email, None).await.unwrap().factor.id;
    let sent = s.last_code_to(&address).await;
    s.enroll().activate(&user, &factor, &code(&sent)).await.unwrap();
    let sent = s.messages_to(&address).await.len();
    let login = s.verify().login(&user, &password()).await.unwrap();
    let body = json!({"login_id": login.login_id, "factor_id": factor, "delivery": "fax"});
    let fax = post(&s, Verify, &format!("/v1/users/{user}/challenges"), body).await;
    assert_problem(&fax, StatusCode::UNPROCESSABLE_ENTITY, "fax");
    assert_eq!(s.messages_to(&address).await.len(), sent, "nothing sent");
    // The same challenge as the API has it goes through.
    let ask = ChallengeRequest { login_id: login.login_id, factor_id: factor, delivery: None };
    let challenge = s.verify().challenge(&user, &ask).await.unwrap();
    assert_eq!(challenge.delivery, "email");
    assert_eq!(s.messages_to(&address).await.len(), sent + 1);

    // Nothing the caller sends names an org: a login naming one is refused.
    let (outsider, org) = (unique_user("outsider"), unique_user("acme"));
    let strict = PolicyBody { require_mfa: true, ..PolicyBody::default() };
    s.admin().admin_set_policy(&org, &strict).await.unwrap();
    let with_org = json!({"auth_method": "password", "org_id": org});
    let named = post(&s, Verify, &format!("/v1/users/{outsider}/login"), with_org).await;
    assert_problem(&named, StatusCode::UNPROCESSABLE_ENTITY, "org_id");
    let decided = s.verify().login(&outsider, &password()).await.unwrap();
    assert_eq!(decided.decision, Decision::EnrollSuggested, "still no org's member");

    // A factor kind that doesn't exist, in a policy: refused, and nothing is stored.
    let odd = unique_user("odd");
    let path = format!("/v1/admin/orgs/{odd}/policy");
    let pigeon = json!({"require_mfa": true, "allowed_factors": ["carrier_pigeon"]});
    let answer = s.send(Method::PUT, Admin, &path, Some(&pigeon), None, &[]).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "carrier_pigeon");
    let stored = s.get(|| s.admin().admin_policy(&odd)).await.unwrap();
    assert!(!stored.require_mfa, "nothing was stored: {stored:?}");

    // A scope that doesn't exist, for an API key: refused, and no key is made.
    let app = unique_user("root-app");
    let root = json!({"app": app, "scopes": ["root"]});
    let answer = post(&s, Admin, "/v1/admin/api-keys", root).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "root");
    let keys = s.get(|| s.admin().admin_keys()).await.unwrap();
    assert!(keys.keys.iter().all(|k| k.app != app), "no key was made");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn someone_elses_challenge_is_not_found() {
    let s = stack();
    let (ada, eve) = (unique_user("ada"), unique_user("eve"));
    let totp = EnrollRequest::Totp { label: None, account_name: None };
    let enrolled = s.enroll().enroll(&ada, &totp, None).await.unwrap();
    let factor = &enrolled.factor.id;
    // Eve can't activate Ada's factor, even knowing its id.
    let answer = s.enroll().activate(&eve, factor, &code("123456")).await;
    refused(answer, 404, "not-found");
    let route = s.send(Method::GET, Verify, "/v1/nothing-here", None, None, &[]).await;
    assert_problem(&route, StatusCode::NOT_FOUND, "/v1/nothing-here");
}
