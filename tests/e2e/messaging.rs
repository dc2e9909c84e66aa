//! Calls, notices and what must not be sent, end to end: calls read from mfa-local's outbox or
//! from the recording endpoint of the voice API, notices from the outbox or from moto's SES.

use mfa_e2e::{code_in, jwt_claims, unique_phone, unique_user, Function::*, Stack};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::stack;

/// Enrolls and activates a factor with the code sent to `to`; its id.
async fn activated(s: &Stack, user: &str, body: Value, to: &str) -> String {
    let enrolled = s.post(Enroll, &format!("/v1/users/{user}/factors"), body).await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{:?}", enrolled.body);
    let factor = enrolled.body["factor"]["id"].as_str().unwrap().to_owned();
    let code = s.last_code_to(to).await;
    let path = format!("/v1/users/{user}/factors/{factor}/activate");
    let answer = s.post(Enroll, &path, json!({"code": code})).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    factor
}

async fn login_id(s: &Stack, user: &str) -> String {
    s.login(user).await.body["login_id"].as_str().unwrap().to_owned()
}

async fn challenge(s: &Stack, user: &str, login: &str, factor: &str, delivery: &str) -> Value {
    let body = json!({"login_id": login, "factor_id": factor, "delivery": delivery});
    let answer = s.post(Verify, &format!("/v1/users/{user}/challenges"), body).await;
    json!({"status": answer.status.as_u16(), "body": answer.body})
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_sign_in_whose_text_did_not_arrive_gets_a_call_instead() {
    let s = stack();
    let (user, phone) = (unique_user("call"), unique_phone());
    let factor = activated(&s, &user, json!({"type": "sms", "phone": phone}), &phone).await;
    let login = login_id(&s, &user).await;
    let text = challenge(&s, &user, &login, &factor, "sms").await;
    assert_eq!(text["status"], 201, "{text}");
    let again = challenge(&s, &user, &login, &factor, "sms").await;
    assert_eq!(again["status"], 409, "{again}");
    assert!(again["body"]["detail"].as_str().unwrap().contains("ask for a call"), "{again}");

    let called = challenge(&s, &user, &login, &factor, "voice").await;
    assert_eq!(called["status"], 201, "{called}");
    assert_eq!(called["body"]["delivery"], "voice");
    let calls = s.calls_to(&phone).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].starts_with("Acme: your verification code is "), "{calls:?}");
    let code = code_in(&calls[0]).unwrap();
    assert_eq!(calls[0].matches("code is").count(), 2, "read twice: {calls:?}");
    let one_call = challenge(&s, &user, &login, &factor, "voice").await;
    assert_eq!(one_call["status"], 409, "one call a sign-in: {one_call}");

    let challenge_id = called["body"]["challenge_id"].as_str().unwrap();
    let token = s.verify(&user, challenge_id, &code).await;
    assert_eq!(token.status, StatusCode::OK, "{:?}", token.body);
    assert_eq!(jwt_claims(token.body["mfa_token"].as_str().unwrap())["amr"], json!(["tel"]));
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_bad_delivery_choice_is_refused_and_nothing_is_sent() {
    let s = stack();
    let (user, address) =
        (unique_user("bad-delivery"), format!("{}@example.com", unique_user("a")));
    let factor = activated(&s, &user, json!({"type": "email", "email": address}), &address).await;
    let sent = s.messages_to(&address).await.len();
    let login = login_id(&s, &user).await;
    let unknown = challenge(&s, &user, &login, &factor, "fax").await;
    assert_eq!(unknown["status"], 422, "{unknown}");
    let voice = challenge(&s, &user, &login, &factor, "voice").await;
    assert_eq!(voice["status"], 400, "{voice}");
    assert_eq!(voice["body"]["type"], "urn:mfa:problem:invalid-request");
    assert_eq!(s.messages_to(&address).await.len(), sent, "nothing sent");

    let phone = unique_phone();
    let body = json!({"type": "sms", "phone": phone, "delivery": "carrier-pigeon"});
    let refused = s.post(Enroll, &format!("/v1/users/{}/factors", unique_user("p")), body).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", refused.body);
    assert!(s.messages_to(&phone).await.is_empty() && s.calls_to(&phone).await.is_empty());
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn the_user_is_told_by_email_when_a_factor_is_added_or_a_recovery_code_used() {
    let s = stack();
    let (user, address) = (unique_user("notice"), format!("{}@example.com", unique_user("n")));
    let body = json!({"type": "email", "email": address});
    let enrolled = s.post(Enroll, &format!("/v1/users/{user}/factors"), body).await;
    let factor = enrolled.body["factor"]["id"].as_str().unwrap().to_owned();
    let code = s.last_code_to(&address).await;
    let path = format!("/v1/users/{user}/factors/{factor}/activate");
    let activated = s.post(Enroll, &path, json!({"code": code})).await;
    let recovery = activated.body["recovery_codes"][0].as_str().unwrap().to_owned();
    let messages = s.messages_to(&address).await;
    let added =
        format!("Acme: the email address {address} was added to your account's sign-in methods");
    assert_eq!(messages.last(), Some(&added), "{messages:?}");

    let used = s
        .post(Verify, &format!("/v1/users/{user}/recovery-codes/verify"), json!({"code": recovery}))
        .await;
    assert_eq!(used.status, StatusCode::OK, "{:?}", used.body);
    let messages = s.messages_to(&address).await;
    let last = messages.last().unwrap();
    assert!(last.starts_with("Acme: a recovery code was used to sign in"), "{messages:?}");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_users_hourly_messages_run_out_with_a_429() {
    let s = stack();
    let user = unique_user("budget");
    // A number's 5 texts and 3 calls an hour, then an email factor added with a recovery code's
    // step-up: its code and its notice are the user's 9th and 10th messages of the hour.
    let phone = unique_phone();
    let body = json!({"type": "sms", "phone": phone});
    let enrolled = s.post(Enroll, &format!("/v1/users/{user}/factors"), body).await;
    let factor = enrolled.body["factor"]["id"].as_str().unwrap().to_owned();
    let code = s.last_code_to(&phone).await;
    let path = format!("/v1/users/{user}/factors/{factor}/activate");
    let recovery = s.post(Enroll, &path, json!({"code": code})).await.body["recovery_codes"][0]
        .as_str()
        .unwrap()
        .to_owned();
    for delivery in ["sms", "sms", "sms", "sms", "voice", "voice", "voice"] {
        let login = login_id(&s, &user).await;
        let answer = challenge(&s, &user, &login, &factor, delivery).await;
        assert_eq!(answer["status"], 201, "{delivery}: {answer}");
    }
    let login = login_id(&s, &user).await;
    let refused = challenge(&s, &user, &login, &factor, "voice").await;
    assert_eq!(refused["status"], 409, "the number's 3 calls an hour: {refused}");
    assert_eq!(refused["body"]["type"], "urn:mfa:problem:use-another-factor");

    let asked = json!({"code": recovery, "step_up": "add_factor"});
    let used = s.post(Verify, &format!("/v1/users/{user}/recovery-codes/verify"), asked).await;
    let step_up = used.body["step_up_token"].as_str().unwrap().to_owned();
    let address = format!("{}@example.com", unique_user("b"));
    let body = json!({"type": "email", "email": address});
    let path = format!("/v1/users/{user}/factors");
    let enrolled = s
        .send(
            reqwest::Method::POST,
            Enroll,
            &path,
            Some(&body),
            None,
            &[("Step-Up-Token", &step_up)],
        )
        .await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{:?}", enrolled.body);
    let email = enrolled.body["factor"]["id"].as_str().unwrap().to_owned();
    let code = s.last_code_to(&address).await;
    let path = format!("/v1/users/{user}/factors/{email}/activate");
    assert_eq!(s.post(Enroll, &path, json!({"code": code})).await.status, StatusCode::OK);

    let sent = s.messages_to(&address).await.len();
    let login = login_id(&s, &user).await;
    let refused = challenge(&s, &user, &login, &email, "sms").await;
    assert_eq!(refused["status"], 400, "delivery is for phones only: {refused}");
    let body = json!({"login_id": login, "factor_id": email});
    let refused = s.post(Verify, &format!("/v1/users/{user}/challenges"), body).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", refused.body);
    assert_eq!(refused.body["type"], "urn:mfa:problem:too-many-messages");
    assert!(refused.body["retry_at"].as_u64().is_some(), "{:?}", refused.body);
    assert_eq!(s.messages_to(&address).await.len(), sent, "nothing sent");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_voip_number_is_refused_for_texts_and_calls() {
    let s = stack();
    if !s.looks_up_numbers() {
        eprintln!("this stack looks no number up (mfa-local): skipped");
        return;
    }
    let voip = "+12065550142";
    for delivery in ["sms", "voice"] {
        let body = json!({"type": "sms", "phone": voip, "delivery": delivery});
        let refused =
            s.post(Enroll, &format!("/v1/users/{}/factors", unique_user("v")), body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{:?}", refused.body);
        let detail = refused.body["detail"].as_str().unwrap();
        assert!(detail.contains("VoIP") && detail.contains("800-63B"), "{detail}");
    }
    assert!(s.messages_to(voip).await.is_empty() && s.calls_to(voip).await.is_empty());
}
