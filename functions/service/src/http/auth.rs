//! Caller authentication: `Authorization: Bearer <api key>`, checked against the configured
//! hashes and then the app keys in the store, and the scope each router needs. The request is
//! then handled as the key's app ([`crate::api_key::acting_as`]).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::problem::ApiError;
use super::AppState;
use crate::api_key::{acting_as, Caller, Scope};

/// The bearer key of `request`, if it has one.
fn bearer(request: &Request) -> Option<String> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let key = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?;
    Some(key.trim().to_owned())
}

async fn caller_of(state: &AppState, key: Option<String>) -> Result<Option<Caller>, ApiError> {
    let Some(key) = key else { return Ok(None) };
    match state.api_keys.check(&key) {
        Some(caller) => Ok(Some(caller)),
        None => Ok(state.mfa.app_key(&key).await?),
    }
}

/// Middleware: a key whose scopes allow `needed`, layered with the state and the scope a group's
/// routes need.
pub async fn require(
    State((state, needed)): State<(Arc<AppState>, Scope)>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    match caller_of(&state, bearer(&request)).await? {
        None => Err(ApiError::Unauthorized),
        Some(caller) if !caller.scopes.allows(needed) => Err(ApiError::Forbidden(needed)),
        Some(caller) => Ok(acting_as(caller.app, next.run(request)).await),
    }
}
