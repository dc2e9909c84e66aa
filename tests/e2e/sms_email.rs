//! SMS and email factors end to end, reading the codes the way a phone or a mailbox would.

use mfa_e2e::{jwt_claims, unique_phone, unique_user, Function::*, Stack};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::stack;

/// Enrolls and activates an SMS or email factor with the code that arrives; returns its id.
async fn enroll_with_code(s: &Stack, user: &str, body: Value, to: &str) -> String {
    let enrolled = s.post(Enroll, &format!("/v1/users/{user}/factors"), body).await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{:?}", enrolled.body);
    assert_eq!(enrolled.body["factor"]["status"], "pending");
    assert!(enrolled.body.get("secret").is_none(), "no secret for SMS/email factors");
    let factor = enrolled.body["factor"]["id"].as_str().unwrap().to_owned();
    let code = s.last_code_to(to).await;
    let activated = s
        .post(Enroll, &format!("/v1/users/{user}/factors/{factor}/activate"), json!({"code": code}))
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{:?}", activated.body);
    assert_eq!(activated.body["factor"]["status"], "active");
    factor
}

async fn login_id(s: &Stack, user: &str) -> String {
    let answer = s.login(user).await;
    assert_eq!(answer.body["decision"], "challenge", "{:?}", answer.body);
    answer.body["login_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn sms_codes_sign_in_and_a_login_gets_one_text() {
    let s = stack();
    let user = unique_user("sms");
    let phone = unique_phone();
    let factor = enroll_with_code(&s, &user, json!({"type":"sms","phone": phone}), &phone).await;
    let first = &s.messages_to(&phone).await[0];
    assert!(first.starts_with("Acme: your verification code is "), "{first}");

    let login = login_id(&s, &user).await;
    let challenge = s.challenge(&user, &login, &factor).await;
    assert_eq!(challenge.status, StatusCode::CREATED, "{:?}", challenge.body);
    assert_eq!(challenge.body["delivery"], "sms");
    let id = challenge.body["challenge_id"].as_str().unwrap();
    let code = s.last_code_to(&phone).await;
    let ok = s.verify(&user, id, &code).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(jwt_claims(ok.body["mfa_token"].as_str().unwrap())["amr"], json!(["sms"]));
    let again = s.verify(&user, id, &code).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "a code works once: {:?}", again.body);

    // A second text in the same login is refused, naming the user's other factors.
    let sent = s.messages_to(&phone).await.len();
    let second = s.challenge(&user, &login, &factor).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{:?}", second.body);
    assert_eq!(second.body["type"], "urn:mfa:problem:use-another-factor");
    assert!(second.body["other_factors"].is_array());
    assert_eq!(s.messages_to(&phone).await.len(), sent, "no text was sent");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn numbers_outside_the_policy_are_refused() {
    let s = stack();
    let user = unique_user("sms-bad");
    for phone in ["+44 7400 123456", "+1 900 555 0123", "call me", "+1 123 456 7890"] {
        let answer = s
            .post(
                Enroll,
                &format!("/v1/users/{user}/factors"),
                json!({"type":"sms","phone": phone}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{phone}: {:?}", answer.body);
    }
    let listed =
        s.send(Method::GET, Manage, &format!("/v1/users/{user}/factors"), None, None, &[]).await;
    assert_eq!(listed.body["factors"], json!([]));
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn email_codes_sign_in() {
    let s = stack();
    let user = unique_user("email");
    let address = format!("{user}@example.com");
    let factor =
        enroll_with_code(&s, &user, json!({"type":"email","email": address}), &address).await;
    let login = login_id(&s, &user).await;
    let challenge = s.challenge(&user, &login, &factor).await;
    assert_eq!(challenge.body["delivery"], "email", "{:?}", challenge.body);
    let id = challenge.body["challenge_id"].as_str().unwrap();
    let wrong = s.verify(&user, id, "000000").await;
    let code = s.last_code_to(&address).await;
    if code != "000000" {
        assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{:?}", wrong.body);
    }
    let ok = s.verify(&user, id, &code).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    // The token tells an emailed code from an app's or a text's.
    assert_eq!(jwt_claims(ok.body["mfa_token"].as_str().unwrap())["amr"], json!(["email"]));
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_phone_change_needs_the_old_number_then_the_new() {
    let s = stack();
    let user = unique_user("phone-change");
    let (old, new) = (unique_phone(), unique_phone());
    let factor = enroll_with_code(&s, &user, json!({"type":"sms","phone": old}), &old).await;
    let base = format!("/v1/users/{user}/factors/{factor}/phone-change");

    let refused = s.post(Manage, &base, json!({"phone": new})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert!(s.messages_to(&new).await.is_empty(), "nothing goes to the new number yet");

    // The step-up is proved by the factor itself: a code to the old number.
    let step_up = s.step_up(&user, "change_phone", Some(&factor), &factor).await;
    assert_eq!(step_up.status, StatusCode::CREATED, "{:?}", step_up.body);
    assert_eq!(step_up.body["delivery"], "sms");
    let id = step_up.body["challenge_id"].as_str().unwrap();
    let old_code = s.last_code_to(&old).await;
    let proved = s.finish_step_up(&user, id, json!({"code": old_code})).await;
    assert_eq!(proved.status, StatusCode::OK, "{:?}", proved.body);
    let token = proved.body["step_up_token"].as_str().unwrap();
    let body = json!({"phone": new});
    let headers = [("Step-Up-Token", token)];
    let middle = s.send(Method::POST, Manage, &base, Some(&body), None, &headers).await;
    assert_eq!(middle.status, StatusCode::ACCEPTED, "{:?}", middle.body);
    assert_eq!(middle.body["step"], "verify_new_number");

    // Until the new number is confirmed, the factor still texts the old one.
    let listed =
        s.send(Method::GET, Manage, &format!("/v1/users/{user}/factors"), None, None, &[]).await;
    assert_eq!(listed.body["factors"][0]["hint"], format!("••• ••{}", &old[old.len() - 2..]));

    let second = middle.body["challenge_id"].as_str().unwrap();
    let new_code = s.last_code_to(&new).await;
    let done = s.post(Manage, &format!("{base}/{second}"), json!({"code": new_code})).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.body["step"], "changed");
    assert_eq!(done.body["factor"]["hint"], format!("••• ••{}", &new[new.len() - 2..]));

    // Sign-in codes now go to the new number.
    let login = login_id(&s, &user).await;
    let before = s.messages_to(&new).await.len();
    let challenge = s.challenge(&user, &login, &factor).await;
    assert_eq!(challenge.status, StatusCode::CREATED, "{:?}", challenge.body);
    assert_eq!(s.messages_to(&new).await.len(), before + 1);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_factor_the_users_org_refuses_neither_signs_in_nor_proves_a_change() {
    let s = stack();
    let (user, org, phone) = (unique_user("no-sms"), unique_user("no-sms-org"), unique_phone());
    let factor = enroll_with_code(&s, &user, json!({"type": "sms", "phone": phone}), &phone).await;
    let policy = json!({"require_mfa": false, "allowed_factors": ["totp", "webauthn"]});
    let put = s
        .send(Method::PUT, Admin, &format!("/v1/admin/orgs/{org}/policy"), Some(&policy), None, &[])
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    let orgs = json!({"orgs": [org]});
    let joined = s
        .send(Method::PUT, Admin, &format!("/v1/admin/users/{user}/orgs"), Some(&orgs), None, &[])
        .await;
    assert_eq!(joined.status, StatusCode::OK, "{:?}", joined.body);

    // The password alone is not enough: the user must enroll a kind the org allows.
    let login = s.login(&user).await;
    assert_eq!(login.body["decision"], "enroll_required", "{:?}", login.body);
    assert_eq!(login.body["factors"], json!([]));
    // The refused factor proves no change (a text to a hijacked number adds no way in)...
    let step_up = s.step_up(&user, "add_factor", None, &factor).await;
    assert_eq!(step_up.status, StatusCode::FORBIDDEN, "{:?}", step_up.body);
    assert_eq!(step_up.body["type"], "urn:mfa:problem:policy-forbids");
    // ...but its own removal.
    let removal = s.step_up(&user, "delete_factor", Some(&factor), &factor).await;
    assert_eq!(removal.status, StatusCode::CREATED, "{:?}", removal.body);
}
