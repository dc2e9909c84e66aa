//! Amazon SNS messages made the way SNS makes them, signed with the test-only keys of
//! `functions/service/tests/fixtures/sns/` (see its README): what the webhook's domain tests
//! (`functions/service/tests/webhook.rs`) and the end-to-end run (`tests/e2e/webhook.rs`) post.
//!
//! The signature follows AWS's "Verifying the signatures of Amazon SNS messages", independently
//! of the service's verifier: RSA PKCS#1 v1.5 over the "string to sign", with SHA1 for
//! `SignatureVersion` 1 and SHA256 for 2.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{json, Value};

use crate::{Answer, Stack};

/// The key of the fixture signing certificate (`signer.pem`, issued by the trust anchor `ca.pem`).
pub const SIGNER_KEY: &str = include_str!("../functions/service/tests/fixtures/sns/signer.key");
/// The inbound topic the tests' services accept (`MFA_INBOUND_TOPIC_ARN`; `scripts/test.d/40-e2e.sh`
/// configures the same).
pub const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:mfa-inbound-sms";
/// Where SNS is said to serve the fixture signing certificate: an SNS host, and the file name it
/// has in `fixtures/sns/` (the directory `MFA_SNS_CERTIFICATE_DIR` names in the e2e run).
pub const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/signer.pem";
/// The service's own number, which the user texted.
pub const OUR_NUMBER: &str = "+12125550101";

/// The README's replies ("The SMS program") with its example configuration
/// `MFA_ISSUER_NAME=Acme` and `MFA_SUPPORT_CONTACT=support@acme.test`, written out as it states
/// them: the oracle of the webhook's tests, never the service's own texts.
pub const HELP_REPLY: &str = "Acme verification codes: at most 1 message per sign-in. Help: support@acme.test. Msg & data rates may apply. Reply STOP to opt out.";
/// The README's STOP reply (see [`HELP_REPLY`]).
pub const STOP_REPLY: &str =
    "Acme: you are unsubscribed and will get no more messages. Reply START to resubscribe.";
/// The README's START reply (see [`HELP_REPLY`]).
pub const START_REPLY: &str = "Acme: you are subscribed again to verification codes. Msg & data rates may apply. Reply HELP for help, STOP to opt out.";

/// The string to sign, from AWS's "Verifying the signatures of Amazon SNS messages".
fn string_to_sign(message: &Value) -> String {
    let keys: &[&str] = if message["Type"] == "Notification" {
        &["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    } else {
        &["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    };
    keys.iter()
        .filter_map(|k| message.get(*k).and_then(Value::as_str).map(|v| format!("{k}\n{v}\n")))
        .collect()
}

/// The DER inside a PEM document (its base64 lines between the armour lines).
fn pem_der(pem: &str) -> Vec<u8> {
    let base64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    B64.decode(base64.trim()).unwrap_or_else(|e| panic!("not a PEM document: {e}"))
}

/// Signs `message` as SNS would with `key_pem` (PKCS#8), for `SignatureVersion` `version` (1:
/// SHA1withRSA, anything else: SHA256withRSA).
pub fn sign(mut message: Value, key_pem: &str, version: u8) -> Value {
    let key = rsa::RsaPrivateKey::from_pkcs8_der(&pem_der(key_pem))
        .unwrap_or_else(|e| panic!("not an RSA PKCS#8 key: {e}"));
    let text = string_to_sign(&message);
    let signature = match version {
        1 => rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key).sign(text.as_bytes()).to_vec(),
        _ => {
            rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(key).sign(text.as_bytes()).to_vec()
        }
    };
    message["SignatureVersion"] = json!(version.to_string());
    message["Signature"] = json!(B64.encode(signature));
    message
}

/// `unix` as SNS writes times: `2100-01-01T00:00:00.000Z`.
pub fn rfc3339(unix: u64) -> String {
    let t = i64::try_from(unix)
        .ok()
        .and_then(|u| time::OffsetDateTime::from_unix_timestamp(u).ok())
        .unwrap_or_else(|| panic!("{unix} is not a time"));
    let (date, clock) = (t.date(), t.time());
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        date.year(),
        u8::from(date.month()),
        date.day(),
        clock.hour(),
        clock.minute(),
        clock.second()
    )
}

/// A fresh SNS `MessageId`: each notification made here is a new delivery, in this process (a
/// counter) and in another run (its start second and process id).
pub fn message_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!(
        "{:08x}-{:04x}-4c2c-8f9d-{n:012x}",
        crate::now() & 0xffff_ffff,
        std::process::id() & 0xffff
    )
}

/// A notification carrying a two-way SMS from `from` to [`OUR_NUMBER`] saying `text`, sent by
/// SNS at `now` (Unix seconds) on [`TOPIC`], unsigned.
pub fn sms_notification(from: &str, text: &str, now: u64) -> Value {
    let sms = json!({
        "originationNumber": from,
        "destinationNumber": OUR_NUMBER,
        "messageKeyword": "KEYWORD_123456789012",
        "messageBody": text,
        "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
        "previousPublishedMessageId": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    });
    json!({
        "Type": "Notification",
        "MessageId": message_id(),
        "TopicArn": TOPIC,
        "Message": sms.to_string(),
        "Timestamp": rfc3339(now.saturating_sub(5)),
        "SignatureVersion": "1",
        "Signature": "",
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    })
}

/// [`sms_notification`] signed with the fixture signer's key (SignatureVersion 2), as bytes.
pub fn signed_sms(from: &str, text: &str, now: u64) -> Vec<u8> {
    let message = sign(sms_notification(from, text, now), SIGNER_KEY, 2);
    serde_json::to_vec(&message).unwrap_or_else(|e| panic!("{e}"))
}

impl Stack {
    /// The URL of the inbound SMS webhook: on `mfa-sms-webhook` in lambda mode.
    pub fn sms_webhook_url(&self) -> String {
        if self.lambda {
            format!("{}/lambda-url/mfa-sms-webhook/v1/webhooks/sms", self.base)
        } else {
            format!("{}/v1/webhooks/sms", self.base)
        }
    }

    /// Posts `body` to the SMS webhook as SNS does: `text/plain`, no API key, the message type
    /// in `x-amz-sns-message-type`.
    pub async fn post_to_sms_webhook(&self, body: Vec<u8>) -> Answer {
        let request = self
            .http
            .post(self.sms_webhook_url())
            .header("content-type", "text/plain; charset=UTF-8")
            .header("x-amz-sns-message-type", "Notification")
            .body(body);
        Self::answer(request).await
    }
}
