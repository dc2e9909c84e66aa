//! The demo page at `/demo/`: a sign-in with every kind of second factor, as a SaaS would build
//! it. The page (plain HTML and JavaScript in `demo/`, no build step) talks only to this small
//! backend, which plays the SaaS's login backend: it holds the API key and calls the public HTTP
//! API, so the browser never sees a key. The password step is simulated: the page names a user.
//!
//! | route | what |
//! |---|---|
//! | `GET /demo/` | the page (on `127.0.0.1` it moves itself to `localhost`, where browsers allow WebAuthn over http) |
//! | `GET`, `POST`, `DELETE /demo/api/users/{user}/...` | forwarded to `/v1/users/{user}/...` with the API key, and the `MFA-Token` header |
//! | `POST /demo/api/passkey-sign-ins[/{id}/verify]` | forwarded to `/v1/passkey-sign-ins...`: passwordless sign-in |
//! | `GET /demo/inbox` | the latest texts, calls and emails of the outbox, newest first: the demo's phone and mailbox |

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use mfa_service::runtime::LocalApi;
use serde_json::Value;

const PAGE: &str = include_str!("../demo/index.html");
const SCRIPT: &str = include_str!("../demo/demo.js");
const STYLE: &str = include_str!("../demo/demo.css");
/// How many outbox messages the inbox shows.
const INBOX_SIZE: usize = 20;

#[derive(Clone)]
struct Backend {
    api: LocalApi,
    http: reqwest::Client,
}

/// The demo's routes, calling the API at `api` with `http`.
pub fn router(api: LocalApi, http: reqwest::Client) -> Router {
    let backend = Backend { api, http };
    Router::new()
        .route("/demo", get(|| async { Redirect::permanent("/demo/") }))
        .route("/demo/", get(|| async { asset("text/html; charset=utf-8", PAGE) }))
        .route("/demo/demo.js", get(|| async { asset("text/javascript", SCRIPT) }))
        .route("/demo/demo.css", get(|| async { asset("text/css", STYLE) }))
        .route("/demo/inbox", get(inbox))
        .route("/demo/api/users/{*rest}", any(forward_user))
        .route("/demo/api/passkey-sign-ins", post(forward_passkey))
        .route("/demo/api/passkey-sign-ins/{*rest}", post(forward_passkey))
        .with_state(backend)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-store")], body)
        .into_response()
}

/// `/demo/api/users/...` to `/v1/users/...`.
async fn forward_user(
    State(backend): State<Backend>,
    Path(rest): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    forward(&backend, &format!("/v1/users/{rest}"), method, &headers, body).await
}

/// `/demo/api/passkey-sign-ins...` to `/v1/passkey-sign-ins...`.
async fn forward_passkey(
    State(backend): State<Backend>,
    rest: Option<Path<String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = match rest {
        Some(Path(rest)) => format!("/v1/passkey-sign-ins/{rest}"),
        None => "/v1/passkey-sign-ins".to_owned(),
    };
    forward(&backend, &path, Method::POST, &headers, body).await
}

/// The login backend's call to the API: the same method, path and body, with the API key.
async fn forward(
    backend: &Backend,
    path: &str,
    method: Method,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    if !matches!(method, Method::GET | Method::POST | Method::DELETE) {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let url = format!("{}{path}", backend.api.base_url);
    let mut request = backend
        .http
        .request(method, url)
        .bearer_auth(backend.api.api_key.expose())
        .header(header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(token) = headers.get("step-up-token") {
        request = request.header("step-up-token", token);
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
            let body = answer.bytes().await.unwrap_or_default();
            let mut response = (status, body).into_response();
            if let Some(content_type) = content_type {
                response.headers_mut().insert(header::CONTENT_TYPE, content_type);
            }
            response
        }
        Err(e) => (StatusCode::BAD_GATEWAY, format!("the API did not answer: {e}")).into_response(),
    }
}

/// The latest messages of the outbox, newest first.
async fn inbox(State(backend): State<Backend>) -> Json<Vec<Value>> {
    let text = tokio::fs::read_to_string(&backend.api.outbox).await.unwrap_or_default();
    let messages = text
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| ["sms", "voice", "email"].iter().any(|c| m["channel"] == *c))
        .take(INBOX_SIZE)
        .collect();
    Json(messages)
}
