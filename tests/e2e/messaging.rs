//! Calls, notices and what must not be sent, end to end: calls read from mfa-local's outbox or
//! from the recording endpoint of the voice API, notices from the outbox or from moto's SES.

use mfa_client::api::{
    ActivateResponse, ChallengeRequest, ChallengeResponse, Delivery, EnrollRequest, Operation,
    RecoveryVerifyRequest,
};
use mfa_client::Error;
use mfa_e2e::{
    code, code_in, password, refused, seen_recovery_codes, unique_phone, unique_user, Stack,
};

use crate::stack;

/// Enrolls and activates a factor with the code sent to `to`; its id and the activation.
async fn activated(
    s: &Stack,
    user: &str,
    factor: &EnrollRequest,
    to: &str,
) -> (String, ActivateResponse) {
    // 201 Created.
    let enrolled = s.enroll().enroll(user, factor, None).await.unwrap();
    let id = enrolled.factor.id;
    let sent = s.last_code_to(to).await;
    let answer = s.enroll().activate(user, &id, &code(&sent)).await.unwrap();
    (id, answer)
}

fn sms(phone: &str, delivery: Option<Delivery>) -> EnrollRequest {
    EnrollRequest::Sms { phone: phone.to_owned(), label: None, delivery }
}

fn email(address: &str) -> EnrollRequest {
    EnrollRequest::Email { email: address.to_owned(), label: None }
}

async fn login_id(s: &Stack, user: &str) -> String {
    s.verify().login(user, &password()).await.unwrap().login_id
}

async fn challenge(
    s: &Stack,
    user: &str,
    login: &str,
    factor: &str,
    delivery: Option<Delivery>,
) -> Result<ChallengeResponse, Error> {
    let ask =
        ChallengeRequest { login_id: login.to_owned(), factor_id: factor.to_owned(), delivery };
    s.verify().challenge(user, &ask).await
}

/// Signs in with a recovery code, asking for a step-up token for `step_up` too.
async fn recover(
    s: &Stack,
    user: &str,
    code: &str,
    step_up: Option<Operation>,
) -> mfa_client::api::RecoveryVerifyResponse {
    let asked = RecoveryVerifyRequest { code: code.to_owned(), login_id: None, step_up };
    s.verify().verify_recovery(user, &asked).await.unwrap()
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_sign_in_whose_text_did_not_arrive_gets_a_call_instead() {
    let s = stack();
    let (user, phone) = (unique_user("call"), unique_phone());
    let (factor, _) = activated(&s, &user, &sms(&phone, None), &phone).await;
    let login = login_id(&s, &user).await;
    // 201 Created.
    let text = challenge(&s, &user, &login, &factor, Some(Delivery::Sms)).await.unwrap();
    assert_eq!(text.delivery, "sms");
    let again = challenge(&s, &user, &login, &factor, Some(Delivery::Sms)).await;
    let problem = refused(again, 409, "use-another-factor");
    assert!(problem.detail.contains("ask for a call"), "{problem:?}");

    let called = challenge(&s, &user, &login, &factor, Some(Delivery::Voice)).await.unwrap();
    assert_eq!(called.delivery, "voice");
    let calls = s.calls_to(&phone).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].starts_with("Acme: your verification code is "), "{calls:?}");
    let sent = code_in(&calls[0]).unwrap();
    assert_eq!(calls[0].matches("code is").count(), 2, "read twice: {calls:?}");
    let one_call = challenge(&s, &user, &login, &factor, Some(Delivery::Voice)).await;
    refused(one_call, 409, "use-another-factor"); // one call a sign-in

    let token = s.verify().verify(&user, &called.challenge_id, &code(&sent)).await.unwrap();
    s.check_token(&token.mfa_token, &user, &factor, &["tel"]).await;
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_bad_delivery_choice_is_refused_and_nothing_is_sent() {
    let s = stack();
    let (user, address) =
        (unique_user("bad-delivery"), format!("{}@example.com", unique_user("a")));
    let (factor, _) = activated(&s, &user, &email(&address), &address).await;
    let sent = s.messages_to(&address).await.len();
    let login = login_id(&s, &user).await;
    // (A delivery the API doesn't have, `fax`: tests/e2e/bad_input.rs.)
    let voice = challenge(&s, &user, &login, &factor, Some(Delivery::Voice)).await;
    refused(voice, 400, "invalid-request");
    assert_eq!(s.messages_to(&address).await.len(), sent, "nothing sent");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn the_user_is_told_by_email_when_a_factor_is_added_or_a_recovery_code_used() {
    let s = stack();
    let (user, address) = (unique_user("notice"), format!("{}@example.com", unique_user("n")));
    let (_, activation) = activated(&s, &user, &email(&address), &address).await;
    let recovery = seen_recovery_codes(&activation.recovery_codes.unwrap())[0].clone();
    let messages = s.messages_to(&address).await;
    let added =
        format!("Acme: the email address {address} was added to your account's sign-in methods");
    assert_eq!(messages.last(), Some(&added), "{messages:?}");

    let used = recover(&s, &user, &recovery, None).await;
    s.check_token(&used.mfa_token, &user, "recovery_code", &["otp"]).await;
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
    let (factor, activation) = activated(&s, &user, &sms(&phone, None), &phone).await;
    let recovery = seen_recovery_codes(&activation.recovery_codes.unwrap())[0].clone();
    let (text, call) = (Some(Delivery::Sms), Some(Delivery::Voice));
    for delivery in [text, text, text, text, call, call, call] {
        let login = login_id(&s, &user).await;
        let answer = challenge(&s, &user, &login, &factor, delivery).await;
        answer.unwrap_or_else(|e| panic!("{delivery:?}: {e}"));
    }
    let login = login_id(&s, &user).await;
    let refusal = challenge(&s, &user, &login, &factor, call).await;
    refused(refusal, 409, "use-another-factor"); // the number's 3 calls an hour

    let used = recover(&s, &user, &recovery, Some(Operation::AddFactor)).await;
    let step_up = used.step_up_token.unwrap();
    let adding = (Operation::AddFactor, None);
    s.check_step_up_token(&step_up, &user, adding, "recovery_code", &["otp"]);
    let address = format!("{}@example.com", unique_user("b"));
    // 201 Created.
    let enrolled = s.enroll().enroll(&user, &email(&address), Some(&step_up)).await.unwrap();
    let email = enrolled.factor.id;
    let sent = s.last_code_to(&address).await;
    s.enroll().activate(&user, &email, &code(&sent)).await.unwrap();

    let sent = s.messages_to(&address).await.len();
    let login = login_id(&s, &user).await;
    let refusal = challenge(&s, &user, &login, &email, text).await;
    refused(refusal, 400, "invalid-request"); // delivery is for phones only
    let refusal = challenge(&s, &user, &login, &email, None).await;
    let problem = refused(refusal, 429, "too-many-messages");
    assert!(problem.retry_at.is_some(), "{problem:?}");
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
    for delivery in [Delivery::Sms, Delivery::Voice] {
        let refusal = s.enroll().enroll(&unique_user("v"), &sms(voip, Some(delivery)), None).await;
        let problem = refused(refusal, 400, "invalid-request");
        let detail = &problem.detail;
        assert!(detail.contains("VoIP") && detail.contains("800-63B"), "{detail}");
    }
    assert!(s.messages_to(voip).await.is_empty() && s.calls_to(voip).await.is_empty());
}
