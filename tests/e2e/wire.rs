//! What only the raw HTTP shows, and the typed client (`mfa-client`) hides: the exact success
//! status of each route (the client takes any 2xx as success), what a body left out defaults to
//! (the client sends every field), and that an answer carries no field the API's types leave out
//! (the client drops unknown fields). Raw requests on purpose (`Stack::send`), like
//! `tests/e2e/bad_input.rs`'s.

use mfa_e2e::browser::{assert, passkey, register};
use mfa_e2e::{code_from_uri, now, unique_phone, unique_user, Function, Function::*, Stack};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::stack;

/// Sends a raw request with the admin-scoped key and asserts its status; the body.
async fn expect(
    s: &Stack,
    (method, function, path): (Method, Function, &str),
    body: Option<Value>,
    step_up: Option<&str>,
    status: StatusCode,
) -> Value {
    let headers: Vec<(&str, &str)> = step_up.map(|t| ("Step-Up-Token", t)).into_iter().collect();
    let answer = s.send(method.clone(), function, path, body.as_ref(), None, &headers).await;
    assert_eq!(answer.status, status, "{method} {path}: {:?}", answer.body);
    answer.body
}

fn post(function: Function, path: &str) -> (Method, Function, &str) {
    (Method::POST, function, path)
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn each_route_answers_its_documented_success_status() {
    let s = stack();
    let (created, ok, no_content) = (StatusCode::CREATED, StatusCode::OK, StatusCode::NO_CONTENT);

    // An app: enroll 201, activate 200, login 200, challenge 201, verify 200, a recovery code
    // 200 (with a step-up token), another factor enrolled with it 201, reset 204, unlock 204.
    let user = unique_user("statuses");
    let factors = format!("/v1/users/{user}/factors");
    let enrolled =
        expect(&s, post(Enroll, &factors), Some(json!({"type": "totp"})), None, created).await;
    let (factor, uri) =
        (enrolled["factor"]["id"].as_str().unwrap(), enrolled["otpauth_uri"].as_str().unwrap());
    let activate = format!("{factors}/{factor}/activate");
    let code = json!({"code": code_from_uri(uri, now())});
    let activated = expect(&s, post(Enroll, &activate), Some(code), None, ok).await;
    let recovery = activated["recovery_codes"][0].as_str().unwrap();
    let login = format!("/v1/users/{user}/login");
    let login =
        expect(&s, post(Verify, &login), Some(json!({"auth_method": "password"})), None, ok).await;
    let challenges = format!("/v1/users/{user}/challenges");
    let ask = json!({"login_id": login["login_id"], "factor_id": factor});
    let challenge = expect(&s, post(Verify, &challenges), Some(ask), None, created).await;
    let verify = format!("{challenges}/{}/verify", challenge["challenge_id"].as_str().unwrap());
    let code = json!({"code": code_from_uri(uri, now() + 30)});
    expect(&s, post(Verify, &verify), Some(code), None, ok).await;
    let recover = format!("/v1/users/{user}/recovery-codes/verify");
    let asked = json!({"code": recovery, "step_up": "add_factor"});
    let recovered = expect(&s, post(Verify, &recover), Some(asked), None, ok).await;
    let token = recovered["step_up_token"].as_str().unwrap();
    let tablet = Some(json!({"type": "totp", "label": "Tablet"}));
    let added = expect(&s, post(Enroll, &factors), tablet, Some(token), created).await;
    let reset =
        format!("/v1/admin/users/{user}/factors/{}", added["factor"]["id"].as_str().unwrap());
    let body = expect(&s, (Method::DELETE, Admin, &reset), None, None, no_content).await;
    assert_eq!(body, Value::Null, "no body");
    let unlock = format!("/v1/admin/users/{user}/unlock");
    expect(&s, post(Admin, &unlock), None, None, no_content).await;
    let listed = expect(&s, (Method::GET, Manage, &factors), None, None, ok).await;
    assert_eq!(listed["factors"].as_array().unwrap().len(), 1, "{listed}");
    let audit = format!("/v1/admin/users/{user}/audit");
    expect(&s, (Method::GET, Admin, &audit), None, None, ok).await;

    // Emailed codes: a step-up 201, proved 200; new recovery codes 201; a delete 204.
    let user = unique_user("statuses-email");
    let address = format!("{user}@example.com");
    let factors = format!("/v1/users/{user}/factors");
    let email = Some(json!({"type": "email", "email": address}));
    let enrolled = expect(&s, post(Enroll, &factors), email, None, created).await;
    let factor = enrolled["factor"]["id"].as_str().unwrap();
    let activate = format!("{factors}/{factor}/activate");
    let code = json!({"code": s.last_code_to(&address).await});
    expect(&s, post(Enroll, &activate), Some(code), None, ok).await;
    let step_ups = format!("/v1/users/{user}/step-ups");
    for (operation, target) in [("new_recovery_codes", None), ("delete_factor", Some(factor))] {
        let mut asked = json!({"operation": operation, "with_factor_id": factor});
        if let Some(target) = target {
            asked["factor_id"] = target.into();
        }
        let started = expect(&s, post(Verify, &step_ups), Some(asked), None, created).await;
        let finish = format!("{step_ups}/{}/verify", started["challenge_id"].as_str().unwrap());
        let code = json!({"code": s.last_code_to(&address).await});
        let proved = expect(&s, post(Verify, &finish), Some(code), None, ok).await;
        let token = proved["step_up_token"].as_str().unwrap();
        if target.is_none() {
            let new_set = format!("/v1/users/{user}/recovery-codes");
            let codes = expect(&s, post(Manage, &new_set), None, Some(token), created).await;
            assert_eq!(codes["recovery_codes"].as_array().unwrap().len(), 10, "{codes}");
        } else {
            let path = format!("{factors}/{factor}");
            let body =
                expect(&s, (Method::DELETE, Manage, &path), None, Some(token), no_content).await;
            assert_eq!(body, Value::Null, "no body");
        }
    }

    // A phone change: 202 while the new number is unconfirmed, 200 once changed.
    let user = unique_user("statuses-phone");
    let (old, new) = (unique_phone(), unique_phone());
    let factors = format!("/v1/users/{user}/factors");
    let sms = Some(json!({"type": "sms", "phone": old}));
    let enrolled = expect(&s, post(Enroll, &factors), sms, None, created).await;
    let factor = enrolled["factor"]["id"].as_str().unwrap();
    let activate = format!("{factors}/{factor}/activate");
    let code = json!({"code": s.last_code_to(&old).await});
    expect(&s, post(Enroll, &activate), Some(code), None, ok).await;
    let step_ups = format!("/v1/users/{user}/step-ups");
    let asked = json!({"operation": "change_phone", "factor_id": factor, "with_factor_id": factor});
    let started = expect(&s, post(Verify, &step_ups), Some(asked), None, created).await;
    let finish = format!("{step_ups}/{}/verify", started["challenge_id"].as_str().unwrap());
    let code = json!({"code": s.last_code_to(&old).await});
    let proved = expect(&s, post(Verify, &finish), Some(code), None, ok).await;
    let token = proved["step_up_token"].as_str().unwrap();
    let change = format!("{factors}/{factor}/phone-change");
    let accepted = StatusCode::ACCEPTED;
    let phone = Some(json!({"phone": new}));
    let middle = expect(&s, post(Manage, &change), phone, Some(token), accepted).await;
    let next = format!("{change}/{}", middle["challenge_id"].as_str().unwrap());
    let code = json!({"code": s.last_code_to(&new).await});
    let done = expect(&s, post(Manage, &next), Some(code), None, ok).await;
    assert_eq!(done["step"], "changed", "{done}");

    // A passkey: enroll 201, activate 200; a passwordless sign-in 201 (without a body), 200.
    let user = unique_user("statuses-passkey");
    let mut phone = passkey();
    let factors = format!("/v1/users/{user}/factors");
    let kind = Some(json!({"type": "webauthn", "kind": "passkey"}));
    let enrolled = expect(&s, post(Enroll, &factors), kind, None, created).await;
    let factor = enrolled["factor"]["id"].as_str().unwrap();
    let options = &enrolled["creation_options"];
    let credential = register(&mut phone, &s.webauthn_origin, options);
    let activate = format!("{factors}/{factor}/activate");
    let made = Some(json!({"credential": credential}));
    expect(&s, post(Enroll, &activate), made, None, ok).await;
    let started = expect(&s, post(Verify, "/v1/passkey-sign-ins"), None, None, created).await;
    let mut request = started["request_options"].clone();
    request["publicKey"]["allowCredentials"] =
        json!([{"type": "public-key", "id": credential["id"]}]);
    let mut assertion = assert(&mut phone, &s.webauthn_origin, &request);
    assertion["response"]["userHandle"] = options["publicKey"]["user"]["id"].clone();
    let verify =
        format!("/v1/passkey-sign-ins/{}/verify", started["challenge_id"].as_str().unwrap());
    let signed_in =
        expect(&s, post(Verify, &verify), Some(json!({"credential": assertion})), None, ok).await;
    assert_eq!(signed_in["user"], user.as_str());

    // Administration: an API key 201, listed 200, revoked 204; a policy and memberships 200.
    let app = unique_user("statuses-app");
    let asked = Some(json!({"app": app, "scopes": ["verify"]}));
    let made = expect(&s, post(Admin, "/v1/admin/api-keys"), asked, None, created).await;
    let (key, id) = (made["key"].as_str().unwrap(), made["id"].as_str().unwrap());
    let listed = expect(&s, (Method::GET, Admin, "/v1/admin/api-keys"), None, None, ok).await;
    let ours = listed["keys"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap();
    assert!(ours.get("key").is_none() && !listed.to_string().contains(key), "never the key");
    let revoke = format!("/v1/admin/api-keys/{id}");
    expect(&s, (Method::DELETE, Admin, &revoke), None, None, no_content).await;
    let org = unique_user("statuses-org");
    let policy = format!("/v1/admin/orgs/{org}/policy");
    let strict = Some(json!({"require_mfa": true}));
    expect(&s, (Method::PUT, Admin, &policy), strict, None, ok).await;
    expect(&s, (Method::GET, Admin, &policy), None, None, ok).await;
    let orgs = format!("/v1/admin/users/{user}/orgs");
    let joined = Some(json!({"orgs": [org]}));
    expect(&s, (Method::PUT, Admin, &orgs), joined, None, ok).await;
    expect(&s, (Method::GET, Admin, &orgs), None, None, ok).await;
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_policy_left_out_fields_gets_the_defaults() {
    let s = stack();
    let org = unique_user("defaults");
    let path = format!("/v1/admin/orgs/{org}/policy");
    let body = Some(json!({"require_mfa": true}));
    let stored = expect(&s, (Method::PUT, Admin, &path), body, None, StatusCode::OK).await;
    assert_eq!(stored["sso_exempt"], true, "SSO is exempt unless the org says otherwise");
    assert_eq!(stored["notices"], true, "members are told of changes unless the org says not");
    assert_eq!(stored["grace_logins"], 0, "{stored}");
    assert!(stored.get("allowed_factors").is_none() && stored.get("max_factors").is_none());
    let read = expect(&s, (Method::GET, Admin, &path), None, None, StatusCode::OK).await;
    assert_eq!(read, stored);
}
