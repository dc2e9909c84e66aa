//! The client side of the end-to-end tests: a stack under test, reached over HTTP through the
//! typed client (`mfa-client`), one per function. A failed request panics: this crate only serves
//! tests.
//!
//! `MFA_E2E_BASE_URL` names the stack and `MFA_E2E_API_KEY` its admin-scoped API key
//! (`MFA_E2E_SERVICE_KEY`: one of the `service` scopes, if it has one);
//! `MFA_E2E_WEBAUTHN_ORIGIN` is the origin the stack's relying party allows (default: the base
//! URL's, on `localhost`).
//! `MFA_E2E_MODE=lambda` means the functions run under `cargo lambda watch`, where each function
//! answers under `/lambda-url/<function>/`; otherwise every route is at the base URL (mfa-local).
//!
//! Texts and emails are read the way a phone or a mailbox would: from moto's record of what SNS
//! and SES sent (`MFA_E2E_MOTO_URL`, `/moto-api/data.json`), or from mfa-local's outbox file
//! (`MFA_E2E_OUTBOX`).
//!
//! Tokens are checked twice: as an app would, with `mfa-client`'s `TokenVerifier`, and by an
//! independent oracle, `tests/token_oracle.py` (PyJWT, not the `jsonwebtoken` crate the service
//! signs with), claim by claim against the README ([`Stack::check_token`],
//! [`Stack::check_step_up_token`]).
//!
//! Every secret value the tests see (codes, TOTP secrets, recovery codes, API keys, tokens,
//! WebAuthn challenges) is appended to the file `MFA_E2E_SECRETS_FILE` names, a line
//! `kind<TAB>value` each ([`seen`]), for `tests/no_secret_logged.py` to look for in the stack's
//! logs.

#![allow(clippy::panic)]

pub mod browser;
pub mod sns;

use std::collections::{BTreeSet, HashSet};
use std::fmt::Debug;
use std::fs::File;
use std::future::Future;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use mfa_client::api::{AuthMethod, LoginRequest, MfaClaims, Operation, ProofRequest};
use mfa_client::{Client, Error, Problem, TokenError, TokenVerifier};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// How many times a GET is sent when `cargo lambda watch` loses its answer.
const EMULATOR_TRIES: usize = 3;
/// The problem type of `cargo lambda watch`'s own failures.
const EMULATOR_FAILURE: &str = "https://httpstatuses.com/500";
/// The issuer of MFA tokens: the service's default `MFA_TOKEN_ISSUER`, which the stacks of
/// `scripts/test.d/40-e2e.sh` keep.
pub const TOKEN_ISSUER: &str = "mfa-service";
/// The audience tokens are checked for: the service's default `MFA_TOKEN_AUDIENCE`.
pub const TOKEN_AUDIENCE: &str = "mfa-service";
/// How long an MFA token lives: the default `MFA_TOKEN_TTL_SECONDS` (README, Configuration).
pub const TOKEN_TTL: u64 = 600;
/// The `typ` header of an MFA token: RFC 7519's `JWT` (5.1), not a step-up token's (README: "each
/// has its own `typ` and audience").
pub const TOKEN_TYP: &str = "JWT";
/// What an MFA token says, and nothing more (README: "`sub`, `amr`, `auth_time`, `fid`, `exp`",
/// `iss` and `aud` from the configuration table; and RFC 7519's `iat` and `jti`).
const TOKEN_CLAIMS: [&str; 9] =
    ["amr", "aud", "auth_time", "exp", "fid", "iat", "iss", "jti", "sub"];
/// The `typ` header of a step-up token (README: "header `typ` `step-up+jwt`").
pub const STEP_UP_TYP: &str = "step-up+jwt";
/// The audience of a step-up token (README: "`aud` `mfa-step-up`").
pub const STEP_UP_AUDIENCE: &str = "mfa-step-up";
/// How long a step-up token lives (README: "good for 5 minutes").
pub const STEP_UP_TTL: u64 = 5 * 60;
/// Longest a check may come after the token was issued, in seconds (a bound on `iat`).
const ISSUED_WITHIN: u64 = 60;

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
    /// A configured key (`MFA_API_KEYS`) of the `service` scopes (`verify+enroll+manage`), when
    /// the stack has one (`MFA_E2E_SERVICE_KEY`).
    pub service_key: Option<String>,
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
        let service_key = std::env::var("MFA_E2E_SERVICE_KEY").ok().filter(|k| !k.is_empty());
        for key in std::iter::once(&api_key).chain(&service_key).filter(|k| !k.is_empty()) {
            seen(Secret::ApiKey, key);
        }
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
            service_key,
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

    /// Whether `e` is `cargo lambda watch` losing a function's answer on its way back (its own
    /// 500; never against mfa-local): what the function did is then unknown.
    pub fn lost(&self, e: &Error) -> bool {
        self.lambda && is_emulator_failure(e)
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

    /// Checks the MFA token `token` the way an app would ([`Self::verify_token`]), and by the
    /// independent oracle ([`Self::oracle`]) claim by claim: it is `user`'s (`sub`), from the
    /// factor `fid` (`recovery_code` for a recovery code) by the methods `amr`, from this
    /// service for its audience, issued just now to live [`TOKEN_TTL`], with a `jti` no other
    /// token had, and says nothing more. Changed, it is refused: with one byte of its signature
    /// changed (by both), naming another user (by the oracle), or taken for a step-up token (by
    /// the oracle). Its claims.
    pub async fn check_token(&self, token: &str, user: &str, fid: &str, amr: &[&str]) -> MfaClaims {
        self.check_token_lasting(token, user, fid, amr, TOKEN_TTL).await
    }

    /// [`Self::check_token`] of a token that lives `ttl` seconds (an org's `token_ttl_seconds`).
    pub async fn check_token_lasting(
        &self,
        token: &str,
        user: &str,
        fid: &str,
        amr: &[&str],
        ttl: u64,
    ) -> MfaClaims {
        seen(Secret::MfaToken, token);
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
        match self.verify_token(&tampered(token)).await {
            Err(TokenError::Invalid(_)) => {}
            other => panic!("a token with a changed signature: {other:?}"),
        }

        let oracle = self
            .oracle(token, TOKEN_TYP, TOKEN_AUDIENCE)
            .unwrap_or_else(|why| panic!("the oracle refused an MFA token: {why}"));
        let names: BTreeSet<&str> =
            oracle.as_object().into_iter().flatten().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, BTreeSet::from(TOKEN_CLAIMS), "nothing more: {oracle}");
        assert_eq!(oracle["sub"], user, "{oracle}");
        assert_eq!(oracle["fid"], fid, "{oracle}");
        assert_eq!(oracle["amr"], json!(amr), "{oracle}");
        assert_eq!(oracle["iss"], TOKEN_ISSUER, "{oracle}");
        let aud = &oracle["aud"];
        assert!(
            aud == TOKEN_AUDIENCE
                || aud.as_array().is_some_and(|a| a.contains(&json!(TOKEN_AUDIENCE))),
            "{oracle}"
        );
        let (iat, exp) = check_lifetime(&oracle, ttl);
        let auth_time = number(&oracle, "auth_time");
        assert!(
            auth_time <= iat && iat - auth_time < ISSUED_WITHIN,
            "signed in just before: {oracle}"
        );
        // What the app's verifier read is what the oracle read.
        assert_eq!((claims.iat, claims.exp, claims.auth_time), (iat, exp, auth_time), "{oracle}");
        assert_eq!(claims.jti, oracle["jti"].as_str().unwrap_or_default(), "{oracle}");

        self.oracle_refuses(&tampered(token), TOKEN_TYP, TOKEN_AUDIENCE, "a changed signature");
        let anothers = with_claim(token, "sub", &format!("{user}-x"));
        self.oracle_refuses(&anothers, TOKEN_TYP, TOKEN_AUDIENCE, "another user named");
        self.oracle_refuses(
            token,
            STEP_UP_TYP,
            STEP_UP_AUDIENCE,
            "an MFA token as a step-up token",
        );
        claims
    }

    /// Checks the step-up token `token` by the independent oracle ([`Self::oracle`]), claim by
    /// claim as the README states them: header `typ` `step-up+jwt`, `aud` `mfa-step-up`, from
    /// this service; `user`'s (`sub`), for the change `op` to the factor `tfid` (none for a
    /// change to no factor), proved by the factor `fid` (`recovery_code`) by the methods `amr`;
    /// issued just now, good for 5 minutes; with a `jti` no other token had. Changed, or taken
    /// for an MFA token, it is refused. Its claims.
    pub fn check_step_up_token(
        &self,
        token: &str,
        user: &str,
        (op, tfid): (Operation, Option<&str>),
        fid: &str,
        amr: &[&str],
    ) -> Value {
        seen(Secret::StepUpToken, token);
        let oracle = self
            .oracle(token, STEP_UP_TYP, STEP_UP_AUDIENCE)
            .unwrap_or_else(|why| panic!("the oracle refused a step-up token: {why}"));
        assert_eq!(oracle["sub"], user, "{oracle}");
        assert_eq!(oracle["op"], json!(op), "{oracle}");
        assert_eq!(oracle.get("tfid").and_then(Value::as_str), tfid, "{oracle}");
        assert_eq!(oracle["fid"], fid, "{oracle}");
        assert_eq!(oracle["amr"], json!(amr), "{oracle}");
        assert_eq!(oracle["aud"], STEP_UP_AUDIENCE, "{oracle}");
        assert_eq!(oracle["iss"], TOKEN_ISSUER, "{oracle}");
        check_lifetime(&oracle, STEP_UP_TTL);

        self.oracle_refuses(&tampered(token), STEP_UP_TYP, STEP_UP_AUDIENCE, "a changed signature");
        let anothers = with_claim(token, "sub", &format!("{user}-x"));
        self.oracle_refuses(&anothers, STEP_UP_TYP, STEP_UP_AUDIENCE, "another user named");
        self.oracle_refuses(token, TOKEN_TYP, TOKEN_AUDIENCE, "a step-up token as an MFA token");
        oracle
    }

    /// The claims of `token` as an independent oracle finds them: `tests/token_oracle.py`
    /// (PyJWT, not the `jsonwebtoken` crate the service signs with) checks its signature against
    /// the JWKS it fetches over HTTP from mfa-verify with the key its `kid` names, its `alg`
    /// (EdDSA), `typ` header, audience, issuer ([`TOKEN_ISSUER`]) and expiry. `Err` with the
    /// oracle's reason when it refuses the token.
    pub fn oracle(&self, token: &str, typ: &str, audience: &str) -> Result<Value, String> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/token_oracle.py");
        let jwks = self.url(Function::Verify, "/.well-known/jwks.json");
        let mut child = Command::new("python3")
            .args([script, &jwks, typ, audience, TOKEN_ISSUER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("python3 {script}: {e}"));
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(token.as_bytes()).unwrap_or_else(|e| panic!("{script}: {e}"));
        }
        let output = child.wait_with_output().unwrap_or_else(|e| panic!("{script}: {e}"));
        let said: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        match output.status.code() {
            Some(0) => {
                assert_eq!(said["header"]["alg"], "EdDSA", "{said}");
                assert_eq!(said["header"]["typ"], typ, "{said}");
                assert!(said["header"]["kid"].as_str().is_some_and(|k| !k.is_empty()), "{said}");
                Ok(said["claims"].clone())
            }
            Some(3) => Err(said["refused"].as_str().unwrap_or_default().to_owned()),
            _ => panic!(
                "{script} failed ({}; the e2e run installs PyJWT: scripts/test.d/40-e2e.sh): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }

    /// Panics unless the oracle refuses `token` as a token of `typ` for `audience`.
    fn oracle_refuses(&self, token: &str, typ: &str, audience: &str, what: &str) {
        if let Ok(claims) = self.oracle(token, typ, audience) {
            panic!("the oracle took a token with {what}: {claims}");
        }
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
        seen_in(&body);
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

/// A kind of secret value the tests see, recorded by [`seen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// A code sent by text, call or email.
    SentCode,
    /// An authenticator app's code.
    TotpCode,
    /// A TOTP secret (base32), as in an otpauth URI.
    TotpSecret,
    /// A recovery code.
    RecoveryCode,
    /// An API key, or the secret part of an app's.
    ApiKey,
    /// An MFA token.
    MfaToken,
    /// A step-up token.
    StepUpToken,
    /// A WebAuthn challenge.
    WebauthnChallenge,
}

impl Secret {
    /// Its name in the secrets file, which the log check names when it finds one.
    pub fn name(self) -> &'static str {
        match self {
            Self::SentCode => "sent-code",
            Self::TotpCode => "totp-code",
            Self::TotpSecret => "totp-secret",
            Self::RecoveryCode => "recovery-code",
            Self::ApiKey => "api-key",
            Self::MfaToken => "mfa-token",
            Self::StepUpToken => "step-up-token",
            Self::WebauthnChallenge => "webauthn-challenge",
        }
    }
}

/// Records `value`, a secret the tests saw, as a line `kind<TAB>value` appended to the file that
/// `MFA_E2E_SECRETS_FILE` names (nothing when it is unset), for the log check of
/// `scripts/test.d/40-e2e.sh`. A recovery code is also recorded as the service may read it:
/// without its dashes. A token's signature, an app key's secret part and a WebAuthn challenge
/// are long enough alone to be recognised in a log, so each is recorded alone too.
pub fn seen(kind: Secret, value: &str) {
    static FILE: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let path = std::env::var_os("MFA_E2E_SECRETS_FILE")?;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&path);
        Some(Mutex::new(file.unwrap_or_else(|e| panic!("{}: {e}", path.to_string_lossy()))))
    });
    let Some(file) = file else { return };
    let mut values = vec![value.to_owned()];
    match kind {
        Secret::RecoveryCode => values.push(value.replace('-', "")),
        Secret::MfaToken | Secret::StepUpToken | Secret::ApiKey => {
            values.extend(value.rsplit_once('.').map(|(_, last)| last.to_owned()));
        }
        _ => {}
    }
    let lines: String = values.iter().map(|v| format!("{}\t{v}\n", kind.name())).collect();
    let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
    file.write_all(lines.as_bytes()).unwrap_or_else(|e| panic!("MFA_E2E_SECRETS_FILE: {e}"));
}

/// Records the secrets in an answer's JSON `body` ([`seen`]), by the names the API gives them:
/// `mfa_token`, `step_up_token`, `recovery_codes`, `secret` (TOTP), `key` (an app's API key) and
/// `challenge` (WebAuthn), at any depth.
pub fn seen_in(body: &Value) {
    match body {
        Value::Object(fields) => {
            for (name, value) in fields {
                let kind = match name.as_str() {
                    "mfa_token" => Some(Secret::MfaToken),
                    "step_up_token" => Some(Secret::StepUpToken),
                    "recovery_codes" => Some(Secret::RecoveryCode),
                    "secret" => Some(Secret::TotpSecret),
                    "key" => Some(Secret::ApiKey),
                    "challenge" => Some(Secret::WebauthnChallenge),
                    _ => None,
                };
                let strings = value.as_array().map_or_else(|| vec![value], |a| a.iter().collect());
                for text in strings.iter().filter_map(|v| v.as_str()) {
                    kind.into_iter().for_each(|kind| seen(kind, text));
                }
                seen_in(value);
            }
        }
        Value::Array(items) => items.iter().for_each(seen_in),
        _ => {}
    }
}

/// Records each of `codes`, recovery codes the tests got ([`seen`]); `codes`.
pub fn seen_recovery_codes(codes: &[String]) -> &[String] {
    for code in codes {
        seen(Secret::RecoveryCode, code);
    }
    codes
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

/// `token` with its claim `name` set to `value` and its signature kept.
pub fn with_claim(token: &str, name: &str, value: &str) -> String {
    let mut claims = jwt_claims(token);
    claims[name] = value.into();
    let parts: Vec<&str> = token.split('.').collect();
    let [header, _, signature] = parts[..] else { panic!("not a JWT: {token}") };
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.{signature}")
}

/// The claim `name` of `claims`, a number of seconds.
#[track_caller]
fn number(claims: &Value, name: &str) -> u64 {
    claims[name].as_u64().unwrap_or_else(|| panic!("no {name}: {claims}"))
}

/// Checks that a token's claims (as the oracle read them) were issued just now (`iat`, at most
/// [`ISSUED_WITHIN`] ago), live `ttl` seconds (`exp - iat`), and have a `jti` no token seen
/// before had; `(iat, exp)`.
#[track_caller]
fn check_lifetime(claims: &Value, ttl: u64) -> (u64, u64) {
    static JTIS: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let (iat, exp) = (number(claims, "iat"), number(claims, "exp"));
    let at = now();
    assert!(iat <= at && at - iat < ISSUED_WITHIN, "issued just now ({at}): {claims}");
    assert_eq!(exp.checked_sub(iat), Some(ttl), "lives {ttl} s: {claims}");
    let jti = claims["jti"].as_str().filter(|j| !j.is_empty());
    let jti = jti.unwrap_or_else(|| panic!("no jti: {claims}"));
    let mut jtis = JTIS.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
    assert!(jtis.insert(jti.to_owned()), "a jti seen before: {claims}");
    (iat, exp)
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
    (code.len() == 6).then(|| {
        seen(Secret::SentCode, &code);
        code
    })
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
    seen(Secret::TotpSecret, secret);
    let secret = mfa_core::secret::TotpSecret::from_base32(secret)
        .unwrap_or_else(|e| panic!("bad secret in {uri}: {e}"));
    let code = mfa_core::totp::totp_code(&secret, at, &mfa_core::totp::TotpParams::default());
    seen(Secret::TotpCode, &code);
    code
}

/// A user id no other test uses.
pub fn unique_user(tag: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{tag}-{}-{nanos}", now())
}
