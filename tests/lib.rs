//! The client side of the end-to-end tests: a stack under test, reached over HTTP through the
//! typed client (`mfa-client`), one per function. A failed request panics: this crate only serves
//! tests.
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

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use mfa_client::api::{AuthMethod, LoginRequest, MfaClaims, ProofRequest};
use mfa_client::{Client, Error, Problem, TokenError, TokenVerifier};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// How many times a GET is sent when `cargo lambda watch` loses its answer.
const EMULATOR_TRIES: usize = 3;
/// The problem type of `cargo lambda watch`'s own failures.
const EMULATOR_FAILURE: &str = "https://httpstatuses.com/500";
/// The issuer of MFA tokens: the service's default `MFA_TOKEN_ISSUER`, which the stacks of
/// `scripts/test.d/40-e2e.sh` keep.
pub const TOKEN_ISSUER: &str = "mfa-service";
/// The audience tokens are checked for: the service's default `MFA_TOKEN_AUDIENCE`.
pub const TOKEN_AUDIENCE: &str = "mfa-service";

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
    /// The typed clients of mfa-enroll, mfa-verify, mfa-manage and mfa-admin, with the API key.
    clients: [Client; 4],
    /// Checks MFA tokens against the JWKS of mfa-verify.
    tokens: Arc<TokenVerifier>,
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

/// A raw answer ([`Stack::send`]): status, headers and JSON body (`Value::Null` when empty).
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
        let lambda = std::env::var("MFA_E2E_MODE").is_ok_and(|m| m == "lambda");
        let api_key = std::env::var("MFA_E2E_API_KEY").unwrap_or_default();
        let http = mfa_client::http_client().unwrap_or_else(|e| panic!("{e}"));
        let client = |function: Function| {
            let url = function_url(&base, lambda, function, "");
            Client::with_http(http.clone(), &url, &api_key).unwrap_or_else(|e| panic!("{e}"))
        };
        let clients = [
            client(Function::Enroll),
            client(Function::Verify),
            client(Function::Manage),
            client(Function::Admin),
        ];
        let tokens = TokenVerifier::new(
            clients[Function::Verify as usize].clone(),
            TOKEN_ISSUER,
            TOKEN_AUDIENCE,
        );
        Some(Self {
            webauthn_origin: std::env::var("MFA_E2E_WEBAUTHN_ORIGIN")
                .unwrap_or_else(|_| base.replace("127.0.0.1", "localhost")),
            base,
            lambda,
            api_key,
            http,
            voice: std::env::var("MFA_E2E_VOICE_URL").ok(),
            inbox: match (std::env::var("MFA_E2E_MOTO_URL"), std::env::var("MFA_E2E_OUTBOX")) {
                (Ok(url), _) => Inbox::Moto(url),
                (_, Ok(path)) => Inbox::Outbox(path),
                _ => Inbox::None,
            },
            clients,
            tokens: Arc::new(tokens),
        })
    }

    /// The typed client of `function`, with the admin-scoped API key.
    pub fn api(&self, function: Function) -> &Client {
        &self.clients[function as usize]
    }

    /// The typed client of mfa-enroll: enrolling and activating factors.
    pub fn enroll(&self) -> &Client {
        self.api(Function::Enroll)
    }

    /// The typed client of mfa-verify: logins, challenges, verification, step-ups, recovery
    /// codes, passkey sign-ins, the JWKS and the OpenAPI document.
    pub fn verify(&self) -> &Client {
        self.api(Function::Verify)
    }

    /// The typed client of mfa-manage: listing and deleting factors, new recovery codes, phone
    /// changes.
    pub fn manage(&self) -> &Client {
        self.api(Function::Manage)
    }

    /// The typed client of mfa-admin: resets, unlocks, audit, orgs and API keys.
    pub fn admin(&self) -> &Client {
        self.api(Function::Admin)
    }

    /// A typed client of `function` with another API key (an app's, or a forged one).
    pub fn client_with_key(&self, function: Function, key: &str) -> Client {
        let url = function_url(&self.base, self.lambda, function, "");
        Client::with_http(self.http.clone(), &url, key).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A GET call (`call` makes it anew each time), asked again when `cargo lambda watch` lost
    /// the function's answer on its way back and answered its own 500 instead (the service never
    /// writes that problem type). A GET changes nothing, so it may be asked again; never pass a
    /// call of another method here: its answer stands.
    pub async fn get<T, F, Fut>(&self, call: F) -> Result<T, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut tries = 1;
        loop {
            let answer = call().await;
            match &answer {
                Err(e) if self.lambda && tries < EMULATOR_TRIES && is_emulator_failure(e) => {
                    eprintln!("cargo lambda watch lost the answer to a GET; asking again");
                    tries += 1;
                }
                _ => return answer,
            }
        }
    }

    /// The claims of `token` if it is a valid MFA token of this stack: its signature checked
    /// against the JWKS, fetched over HTTP from mfa-verify (again, when `cargo lambda watch` lost
    /// that GET's answer), its issuer, audience and expiry.
    pub async fn verify_token(&self, token: &str) -> Result<MfaClaims, TokenError> {
        let mut tries = 1;
        loop {
            let checked = self.tokens.verify(token).await;
            match &checked {
                Err(TokenError::Jwks(e))
                    if self.lambda && tries < EMULATOR_TRIES && is_emulator_failure(e) =>
                {
                    eprintln!("cargo lambda watch lost the answer to GET the JWKS; asking again");
                    tries += 1;
                }
                _ => return checked,
            }
        }
    }

    /// Checks `token` the way an app would ([`Self::verify_token`]), then claim by claim: it is
    /// `user`'s (`sub`), from the factor `fid` (`recovery_code` for a recovery code) by the
    /// methods `amr`, and expires after it was issued; and the same token with one byte of its
    /// signature changed is refused. Its claims.
    pub async fn check_token(&self, token: &str, user: &str, fid: &str, amr: &[&str]) -> MfaClaims {
        let claims = self
            .verify_token(token)
            .await
            .unwrap_or_else(|e| panic!("{e}: {:?}", jwt_claims(token)));
        assert_eq!(claims.sub, user, "{claims:?}");
        assert_eq!(claims.fid, fid, "{claims:?}");
        assert_eq!(claims.amr, amr, "{claims:?}");
        assert!(claims.exp > claims.iat, "{claims:?}");
        assert_eq!(claims.iss, TOKEN_ISSUER, "{claims:?}");
        assert!(claims.aud.iter().any(|a| a == TOKEN_AUDIENCE), "{claims:?}");
        let forged = tampered(token);
        match self.verify_token(&forged).await {
            Err(TokenError::Invalid(_)) => {}
            other => panic!("a token with a changed signature: {other:?}"),
        }
        claims
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
        function_url(&self.base, self.lambda, function, path)
    }

    /// Sends a raw request with the API key (or `key`), optional JSON body and extra headers:
    /// only for what the typed client can't send or can't see (`tests/e2e/bad_input.rs`,
    /// `tests/e2e/wire.rs`). A GET is asked again when `cargo lambda watch` lost its answer, as
    /// in [`Self::get`].
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
}

/// The URL of `path` on `function` of the stack at `base`.
fn function_url(base: &str, lambda: bool, function: Function, path: &str) -> String {
    if lambda {
        format!("{base}/lambda-url/{}{path}", function.name())
    } else {
        format!("{base}{path}")
    }
}

/// Whether `e` is `cargo lambda watch`'s own 500, answered when it lost a function's answer:
/// a problem of type [`EMULATOR_FAILURE`], or a 500 whose body names that type.
fn is_emulator_failure(e: &Error) -> bool {
    match e {
        Error::Problem(problem) => problem.kind == EMULATOR_FAILURE,
        Error::Unexpected { status: 500, body } => {
            serde_json::from_str::<Value>(body).is_ok_and(|body| body["type"] == EMULATOR_FAILURE)
        }
        _ => false,
    }
}

/// The problem document of a call that was refused: panics unless the call failed with a problem
/// document (`application/problem+json`) of `status` (the answer's, which the client checks
/// against the document's) and of kind `kind` (without its `urn:mfa:problem:` prefix).
#[track_caller]
pub fn refused<T: Debug>(answer: Result<T, Error>, status: u16, kind: &str) -> Problem {
    let e = match answer {
        Ok(answer) => panic!("expected a {status} {kind} problem, got {answer:?}"),
        Err(e) => e,
    };
    assert_eq!(e.kind(), Some(kind), "{e}");
    let Some(problem) = e.problem() else { panic!("not a problem document: {e}") };
    assert_eq!(problem.status, status, "{e}");
    assert!(!problem.detail.is_empty(), "{e}");
    problem.clone()
}

/// A proof by code.
pub fn code(code: &str) -> ProofRequest {
    ProofRequest { code: Some(code.to_owned()), credential: None }
}

/// A proof by a security key's or passkey's credential.
pub fn credential(credential: Value) -> ProofRequest {
    ProofRequest { code: None, credential: Some(credential) }
}

/// A login after a password, without an MFA token.
pub fn password() -> LoginRequest {
    LoginRequest { auth_method: AuthMethod::Password, mfa_token: None }
}

/// `token` with one byte of its signature changed.
pub fn tampered(token: &str) -> String {
    let Some((signed, signature)) = token.rsplit_once('.') else { panic!("not a JWT: {token}") };
    let mut bytes =
        URL_SAFE_NO_PAD.decode(signature).unwrap_or_else(|e| panic!("not a JWT: {token}: {e}"));
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The claims of a JWT, decoded by hand (not by the library that signed it).
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1);
    let bytes = payload.and_then(|p| URL_SAFE_NO_PAD.decode(p).ok());
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
