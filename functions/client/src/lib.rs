//! # mfa-client
//!
//! A typed client of the MFA service's HTTP API v1, for login backends and tools: one method per
//! route ([`Client`]), with the request and response bodies of `mfa-api`; every error answer as a
//! typed [`Problem`] ([`Error::Problem`]); and the check of an MFA token against the service's
//! JWKS, fetched once and fetched again when a token names a key it does not hold (a rotated
//! signing key) ([`TokenVerifier`]).
//!
//! ```no_run
//! # async fn second_factor() -> Result<(), Box<dyn std::error::Error>> {
//! use mfa_client::api::{AuthMethod, ChallengeRequest, Decision, LoginRequest, ProofRequest};
//! use mfa_client::{Client, TokenVerifier};
//!
//! let mfa = Client::new("https://mfa.example.com", "mfa.key_...")?;
//! // The password was right: what next?
//! let login = LoginRequest { auth_method: AuthMethod::Password, mfa_token: None };
//! let decision = mfa.login("user-42", &login).await?;
//! if decision.decision == Decision::Challenge {
//!     let factor = &decision.factors[0];
//!     let ask = ChallengeRequest {
//!         login_id: decision.login_id.clone(),
//!         factor_id: factor.id.clone(),
//!         delivery: None,
//!     };
//!     let challenge = mfa.challenge("user-42", &ask).await?;
//!     let code = ProofRequest { code: Some("123456".into()), credential: None };
//!     let token = mfa.verify("user-42", &challenge.challenge_id, &code).await?;
//!     // Any app of the SaaS checks the token against the JWKS.
//!     let tokens = TokenVerifier::new(mfa.clone(), "mfa-service", "my-app");
//!     let claims = tokens.verify(&token.mfa_token).await?;
//!     assert_eq!(claims.sub, "user-42");
//! }
//! # Ok(()) }
//! ```

mod jwks;
mod routes;

pub use jwks::{TokenError, TokenVerifier};
pub use mfa_api as api;
pub use mfa_api::Problem;

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The header that carries a step-up token.
pub const STEP_UP_HEADER: &str = "Step-Up-Token";

/// What went wrong with a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The service answered with a problem document (RFC 9457).
    #[error("{} ({}): {}", .0.title, .0.status, .0.detail)]
    Problem(Box<Problem>),
    /// The request did not get an answer (connection, TLS, timeout).
    #[error("no answer from the service: {0}")]
    Transport(#[from] reqwest::Error),
    /// The answer was not what the API documents.
    #[error("unexpected answer ({status}): {body}")]
    Unexpected {
        /// Its HTTP status.
        status: u16,
        /// Its body, or why it could not be read.
        body: String,
    },
    /// The base URL or API key can't be used.
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// The problem document, when the service answered with one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Problem(problem) => Some(problem),
            _ => None,
        }
    }

    /// The problem's kind without its `urn:mfa:problem:` prefix (`code-rejected`, `locked`, ...),
    /// when the service answered with one.
    pub fn kind(&self) -> Option<&str> {
        self.problem().map(|p| p.kind.strip_prefix("urn:mfa:problem:").unwrap_or(&p.kind))
    }
}

/// A client of one deployment of the service, with one API key. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: HeaderValue,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).field("key", &"[redacted]").finish()
    }
}

impl Client {
    /// A client of the service at `base_url` (`https://...`, no trailing path) with `api_key`.
    pub fn new(base_url: &str, api_key: &str) -> Result<Self, Error> {
        Self::with_http(http_client()?, base_url, api_key)
    }

    /// The same, over an HTTP client of the caller's (timeouts, proxies).
    pub fn with_http(http: reqwest::Client, base_url: &str, api_key: &str) -> Result<Self, Error> {
        let mut key = HeaderValue::from_str(&format!("Bearer {api_key}"))
            .map_err(|_| Error::Config("the API key is not a valid header value".into()))?;
        key.set_sensitive(true);
        let base = base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(Error::Config(format!("not an http(s) URL: {base_url:?}")));
        }
        Ok(Self { http, base, key })
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends one request and reads its answer: `T` from a 2xx JSON body, a [`Problem`] from an
    /// error answer.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
        step_up: Option<&str>,
    ) -> Result<T, Error> {
        let answer = self.send(method, path, body, step_up).await?;
        let status = answer.status().as_u16();
        answer.json::<T>().await.map_err(|e| Error::Unexpected {
            status,
            body: format!("not the documented JSON: {e}"),
        })
    }

    /// [`Client::call`] for an answer without a body (204).
    async fn call_empty(
        &self,
        method: Method,
        path: &str,
        step_up: Option<&str>,
    ) -> Result<(), Error> {
        self.send(method, path, None::<&()>, step_up).await.map(drop)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
        step_up: Option<&str>,
    ) -> Result<reqwest::Response, Error> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(AUTHORIZATION, &self.key);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(token) = step_up {
            request = request.header(STEP_UP_HEADER, token);
        }
        let answer = request.send().await?;
        let status = answer.status();
        if status.is_success() {
            return Ok(answer);
        }
        Err(problem_of(status, answer).await)
    }
}

/// The error of a non-2xx answer: its problem document, or what came instead.
async fn problem_of(status: StatusCode, answer: reqwest::Response) -> Error {
    let is_problem = answer
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    let body = answer.text().await.unwrap_or_default();
    match serde_json::from_str::<Problem>(&body) {
        // A problem document names the status it came with (RFC 9457).
        Ok(problem) if is_problem && problem.status == status.as_u16() => {
            Error::Problem(Box::new(problem))
        }
        _ => Error::Unexpected { status: status.as_u16(), body },
    }
}

/// An HTTP client over rustls with the aws-lc-rs provider and the web PKI roots.
pub fn http_client() -> Result<reqwest::Client, Error> {
    // Only the first install in a process takes effect; later ones return the error ignored here.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| Error::Config(format!("the HTTP client: {e}")))
}

/// One path segment, percent-encoded.
fn seg(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>().replace('+', "%20")
}
