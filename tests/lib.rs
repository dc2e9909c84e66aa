//! The client side of the end-to-end tests: a stack under test, reached over HTTP. A failed
//! request panics: this crate only serves tests.
//!
//! `MFA_E2E_BASE_URL` names the stack and `MFA_E2E_API_KEY` its admin-scoped API key;
//! `MFA_E2E_WEBAUTHN_ORIGIN` is the origin the stack's relying party allows (default: the base
//! URL's, on `localhost`).
//! `MFA_E2E_MODE=lambda` means the functions run under `cargo lambda watch`, where each function
//! answers under `/lambda-url/<function>/`; otherwise every route is at the base URL (mfa-local).
//!
//! Texts and emails are read the way a phone or a mailbox would: from moto's record of what SNS
//! and SES sent (`MFA_E2E_MOTO_URL`, `/moto-api/data.json`), or from mfa-local's outbox file
//! (`MFA_E2E_OUTBOX`).

#![allow(clippy::panic)]

pub mod browser;

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// How many times a GET is sent when `cargo lambda watch` loses its answer.
const EMULATOR_TRIES: usize = 3;
/// The problem type of `cargo lambda watch`'s own failures.
const EMULATOR_FAILURE: &str = "https://httpstatuses.com/500";

/// Which function serves a route (used in lambda mode).
#[derive(Debug, Clone, Copy)]
pub enum Function {
    /// mfa-enroll
    Enroll,
    /// mfa-verify
    Verify,
    /// mfa-manage
    Manage,
    /// mfa-admin
    Admin,
}

impl Function {
    fn name(self) -> &'static str {
        match self {
            Self::Enroll => "mfa-enroll",
            Self::Verify => "mfa-verify",
            Self::Manage => "mfa-manage",
            Self::Admin => "mfa-admin",
        }
    }
}

/// The stack under test.
#[derive(Debug, Clone)]
pub struct Stack {
    base: String,
    lambda: bool,
    /// The admin-scoped API key.
    pub api_key: String,
    /// The web origin that security keys and passkeys sign for.
    pub webauthn_origin: String,
    http: reqwest::Client,
    inbox: Inbox,
    /// The recording endpoint of the voice API, when calls go there.
    voice: Option<String>,
}

/// Where sent messages can be read.
#[derive(Debug, Clone)]
enum Inbox {
    /// moto's record of SNS and SES sends.
    Moto(String),
    /// mfa-local's outbox file.
    Outbox(String),
    /// Nowhere.
    None,
}

/// An answer: status, headers and JSON body (`Value::Null` when empty).
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// The `content-type` header.
    pub content_type: String,
    /// The body as JSON.
    pub body: Value,
}

impl Stack {
    /// The stack named by the environment, or `None` when `MFA_E2E_BASE_URL` is unset.
    pub fn from_env() -> Option<Self> {
        let base = std::env::var("MFA_E2E_BASE_URL").ok()?;
        let base = base.trim_end_matches('/').to_owned();
        Some(Self {
            webauthn_origin: std::env::var("MFA_E2E_WEBAUTHN_ORIGIN")
                .unwrap_or_else(|_| base.replace("127.0.0.1", "localhost")),
            base,
            lambda: std::env::var("MFA_E2E_MODE").is_ok_and(|m| m == "lambda"),
            api_key: std::env::var("MFA_E2E_API_KEY").unwrap_or_default(),
            http: http_client(),
            voice: std::env::var("MFA_E2E_VOICE_URL").ok(),
            inbox: match (std::env::var("MFA_E2E_MOTO_URL"), std::env::var("MFA_E2E_OUTBOX")) {
                (Ok(url), _) => Inbox::Moto(url),
                (_, Ok(path)) => Inbox::Outbox(path),
                _ => Inbox::None,
            },
        })
    }

    /// Every message sent to `to` (a phone number or email address), oldest first: the text of
    /// an SMS, the subject of an email (calls: [`Self::calls_to`]).
    pub async fn messages_to(&self, to: &str) -> Vec<String> {
        match &self.inbox {
            Inbox::Moto(url) => {
                let data: Value = self
                    .http
                    .get(format!("{url}/moto-api/data.json"))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("moto: {e}"))
                    .json()
                    .await
                    .unwrap_or_else(|e| panic!("moto: {e}"));
                let sms = data["sns"]["SMS"].as_array().cloned().unwrap_or_default();
                let emails = data["ses"]["Message"].as_array().cloned().unwrap_or_default();
                sms.iter()
                    .filter(|m| m["phone_number"] == to)
                    .map(|m| m["message"].as_str().unwrap_or_default().to_owned())
                    .chain(
                        emails
                            .iter()
                            .filter(|m| m["destinations"]["ToAddresses"][0] == to)
                            .map(|m| m["subject"].as_str().unwrap_or_default().to_owned()),
                    )
                    .collect()
            }
            Inbox::Outbox(path) => std::fs::read_to_string(path)
                .unwrap_or_default()
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|m| m["to"] == to && m["channel"] != "voice")
                .map(|m| {
                    let text = if m["channel"] == "email" { &m["subject"] } else { &m["body"] };
                    text.as_str().unwrap_or_default().to_owned()
                })
                .collect(),
            Inbox::None => panic!("set MFA_E2E_MOTO_URL or MFA_E2E_OUTBOX to read messages"),
        }
    }

    /// Whether the stack looks numbers up (the Lambda functions, through the recording endpoint
    /// of the voice API, which names +1NPA55501XX numbers VoIP); mfa-local looks none up.
    pub fn looks_up_numbers(&self) -> bool {
        self.lambda && self.voice.is_some()
    }

    /// The words of every call to `to`, oldest first: from mfa-local's outbox, or from the
    /// recording endpoint of the voice API (`tests/voice_endpoint.py`), which checked each one.
    pub async fn calls_to(&self, to: &str) -> Vec<String> {
        let calls: Vec<Value> = match (&self.voice, &self.inbox) {
            (Some(url), _) => self
                .http
                .get(format!("{url}/calls"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("voice endpoint: {e}"))
                .json()
                .await
                .unwrap_or_else(|e| panic!("voice endpoint: {e}")),
            (None, Inbox::Outbox(path)) => std::fs::read_to_string(path)
                .unwrap_or_default()
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|m| m["channel"] == "voice")
                .collect(),
            (None, _) => panic!("set MFA_E2E_VOICE_URL or MFA_E2E_OUTBOX to read calls"),
        };
        calls
            .iter()
            .filter(|c| c["to"] == to)
            .map(|c| c["words"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The code in the newest message to `to`.
    pub async fn last_code_to(&self, to: &str) -> String {
        let messages = self.messages_to(to).await;
        let last = messages.last().unwrap_or_else(|| panic!("no message to {to}"));
        code_in(last).unwrap_or_else(|| panic!("no code in {last:?}"))
    }

    /// The URL of `path` on `function`.
    pub fn url(&self, function: Function, path: &str) -> String {
        if self.lambda {
            format!("{}/lambda-url/{}{path}", self.base, function.name())
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Sends a request with the API key (or `key`), optional JSON body and extra headers.
    pub async fn send(
        &self,
        method: Method,
        function: Function,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.http.request(method.clone(), self.url(function, path));
        if let Some(key) = key.or(Some(self.api_key.as_str())).filter(|k| !k.is_empty()) {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        // `cargo lambda watch` now and then loses a function's answer on its way back and
        // answers its own 500 instead (the service never writes that problem type). A GET
        // changes nothing, so it is asked again; any other request's answer stands.
        for _ in 1..EMULATOR_TRIES {
            let Some(again) = request.try_clone() else { break };
            let answer = Self::answer(request).await;
            let lost = self.lambda
                && method == Method::GET
                && answer.status == StatusCode::INTERNAL_SERVER_ERROR
                && answer.body["type"] == EMULATOR_FAILURE;
            if !lost {
                return answer;
            }
            eprintln!("cargo lambda watch lost the answer to GET {path}; asking again");
            request = again;
        }
        Self::answer(request).await
    }

    async fn answer(request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.unwrap_or_else(|e| panic!("request failed: {e}"));
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, content_type, body }
    }

    /// POST with the API key.
    pub async fn post(&self, function: Function, path: &str, body: Value) -> Answer {
        self.send(Method::POST, function, path, Some(&body), None, &[]).await
    }

    /// The login decision after a password.
    pub async fn login(&self, user: &str) -> Answer {
        let body = serde_json::json!({"auth_method": "password"});
        self.post(Function::Verify, &format!("/v1/users/{user}/login"), body).await
    }

    /// Starts a challenge of `factor` in `login`.
    pub async fn challenge(&self, user: &str, login: &str, factor: &str) -> Answer {
        let body = serde_json::json!({"login_id": login, "factor_id": factor});
        self.post(Function::Verify, &format!("/v1/users/{user}/challenges"), body).await
    }

    /// Answers a challenge with `code`.
    pub async fn verify(&self, user: &str, challenge: &str, code: &str) -> Answer {
        let path = format!("/v1/users/{user}/challenges/{challenge}/verify");
        self.post(Function::Verify, &path, serde_json::json!({"code": code})).await
    }

    /// Starts a step-up for `operation` (to `target`), proved by the factor `with`.
    pub async fn step_up(
        &self,
        user: &str,
        operation: &str,
        target: Option<&str>,
        with: &str,
    ) -> Answer {
        let mut body = serde_json::json!({"operation": operation, "with_factor_id": with});
        if let Some(target) = target {
            body["factor_id"] = target.into();
        }
        self.post(Function::Verify, &format!("/v1/users/{user}/step-ups"), body).await
    }

    /// Answers a step-up challenge with `proof` (`{"code": ..}` or `{"credential": ..}`).
    pub async fn finish_step_up(&self, user: &str, challenge: &str, proof: Value) -> Answer {
        let path = format!("/v1/users/{user}/step-ups/{challenge}/verify");
        self.post(Function::Verify, &path, proof).await
    }

    /// Answers a challenge with a security key's or passkey's assertion.
    pub async fn verify_credential(
        &self,
        user: &str,
        challenge: &str,
        credential: Value,
    ) -> Answer {
        let path = format!("/v1/users/{user}/challenges/{challenge}/verify");
        self.post(Function::Verify, &path, serde_json::json!({"credential": credential})).await
    }
}

/// The claims of a JWT, decoded by hand (not by the library that signed it).
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1);
    let bytes =
        payload.and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok());
    match bytes.and_then(|b| serde_json::from_slice(&b).ok()) {
        Some(claims) => claims,
        None => panic!("not a JWT: {token}"),
    }
}

/// The 6-digit code after "verification code is " in a message: a text's `123456`, or a call's
/// words `1, 2, 3, 4, 5, 6`.
pub fn code_in(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("verification code is ")?;
    let code: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == ' ')
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    (code.len() == 6).then_some(code)
}

/// A random, valid NANP mobile-style number in E.164, unlikely to repeat between runs (each
/// number may get only a few texts an hour).
pub fn unique_phone() -> String {
    let n = u64::from(
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0),
    ) ^ now().wrapping_mul(2_654_435_761);
    let exchange = 220 + n % 680;
    let exchange = if exchange % 100 == 11 { exchange + 1 } else { exchange };
    format!("+1415{exchange}{:04}", (n / 1000) % 10_000)
}

/// Now, in Unix seconds.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The TOTP code an authenticator app shows at `at` for the `secret` of an otpauth URI.
pub fn code_from_uri(uri: &str, at: u64) -> String {
    let secret = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap_or_else(|| panic!("no secret in {uri}"));
    let secret = mfa_core::secret::TotpSecret::from_base32(secret)
        .unwrap_or_else(|e| panic!("bad secret in {uri}: {e}"));
    mfa_core::totp::totp_code(&secret, at, &mfa_core::totp::TotpParams::default())
}

/// A user id no other test uses.
pub fn unique_user(tag: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{tag}-{}-{nanos}", now())
}

/// A reqwest client. The workspace builds reqwest without a rustls provider of its own (the
/// service links aws-lc-rs only, see `mfa_service::http_client`): aws-lc-rs is installed first.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::new()
}
