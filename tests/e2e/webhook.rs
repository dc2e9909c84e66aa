//! The SMS program's inbound webhook as deployed: SNS notifications signed in the test with the
//! fixture signer (`mfa_e2e::sns`) are posted to `mfa-sms-webhook` under `cargo lambda watch`
//! (and to mfa-local's webhook), which `scripts/test.d/40-e2e.sh` configures with the fixture
//! trust anchor (`MFA_SNS_TRUST_ANCHOR_PEM`) and reads the signing certificate from the fixture
//! directory (`MFA_SNS_CERTIFICATE_DIR`: this machine can't reach SNS). A STOP from an enrolled
//! user's number opts it out (its next sign-in text is refused, 409 `use-another-factor`) and
//! gets the README's STOP reply, as moto's record of SNS sends (or mfa-local's outbox) shows;
//! START lifts the opt-out.

use mfa_client::api::{ChallengeRequest, EnrollRequest};
use mfa_e2e::sns::{signed_sms, STOP_REPLY};
use mfa_e2e::{code, now, password, refused, unique_phone, unique_user, Stack};
use reqwest::StatusCode;
use serde_json::json;

use crate::stack;

/// Posts a text from `phone` saying `text` to the webhook, and checks it answered `outcome`.
async fn text(s: &Stack, phone: &str, text: &str, outcome: &str) {
    let answer = s.post_to_sms_webhook(signed_sms(phone, text, now())).await;
    let expected = (StatusCode::OK, json!({ "outcome": outcome }));
    assert_eq!((answer.status, answer.body), expected, "{text} to {}", s.sms_webhook_url());
}

/// A new sign-in of `user` asking for a text of `factor`.
async fn sign_in_text(s: &Stack, user: &str, factor: &str) -> Result<String, mfa_client::Error> {
    let login = s.verify().login(user, &password()).await.unwrap();
    let ask =
        ChallengeRequest { login_id: login.login_id, factor_id: factor.to_owned(), delivery: None };
    s.verify().challenge(user, &ask).await.map(|c| c.challenge_id)
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn stop_opts_the_number_out_with_the_readme_reply_and_start_lifts_it() {
    let s = stack();
    let (user, phone) = (unique_user("webhook"), unique_phone());
    let sms = EnrollRequest::Sms { phone: phone.clone(), label: None, delivery: None };
    let factor = s.enroll().enroll(&user, &sms, None).await.unwrap().factor.id;
    let sent = s.last_code_to(&phone).await;
    s.enroll().activate(&user, &factor, &code(&sent)).await.unwrap();

    text(&s, &phone, "STOP", "opted_out").await;
    let texts = s.messages_to(&phone).await;
    assert_eq!(texts.last().map(String::as_str), Some(STOP_REPLY), "{texts:?}");
    refused(sign_in_text(&s, &user, &factor).await, 409, "use-another-factor");
    assert_eq!(s.messages_to(&phone).await.len(), texts.len(), "no code went");

    text(&s, &phone, "START", "opted_in").await;
    let challenge = sign_in_text(&s, &user, &factor).await.unwrap();
    let sent = s.last_code_to(&phone).await;
    let ok = s.verify().verify(&user, &challenge, &code(&sent)).await.unwrap();
    s.check_token(&ok.mfa_token, &user, &factor, &["sms"]).await;
}
