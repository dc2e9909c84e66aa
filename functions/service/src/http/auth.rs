//! Caller authentication: `Authorization: Bearer <api key>`, checked against the configured
//! hashes, and the scope each router needs.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::problem::ApiError;
use super::AppState;
use crate::api_key::Scope;

fn scope_of(state: &AppState, request: &Request) -> Option<Scope> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let key = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?;
    state.api_keys.check(key.trim())
}

async fn require(
    state: &AppState,
    needed: Scope,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    match scope_of(state, &request) {
        None => Err(ApiError::Unauthorized),
        Some(scope) if !scope.allows(needed) => Err(ApiError::Forbidden),
        Some(_) => Ok(next.run(request).await),
    }
}

/// Middleware: a key with the `service` (or `admin`) scope.
pub async fn require_service(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    require(&state, Scope::Service, request, next).await
}

/// Middleware: a key with the `admin` scope.
pub async fn require_admin(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    require(&state, Scope::Admin, request, next).await
}
