//! Extractors whose rejections are problem documents, and the checks on ids in paths.

use axum::extract::{FromRequest, FromRequestParts};
use serde::Deserialize;

use super::problem::ApiError;
use crate::domain::Error;

/// JSON body; a malformed, mistyped or oversize body becomes a problem document.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Path parameters; a bad one becomes a problem document.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// The most characters of a user, org or record id in a path.
const MAX_ID: usize = 128;

/// Checks an id from a path: 1 to 128 characters of letters, digits and `. _ @ + - : |`.
pub fn check_id(value: &str, what: &str) -> Result<(), ApiError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_ID
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "._@+-:|".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "{what} must be 1 to {MAX_ID} characters of letters, digits and . _ @ + - : |"
        ))
        .into())
    }
}

/// `{user}`.
#[derive(Debug, Deserialize)]
pub struct UserPath {
    /// The user id.
    pub user: String,
}

/// `{user}` and `{id}`.
#[derive(Debug, Deserialize)]
pub struct UserItemPath {
    /// The user id.
    pub user: String,
    /// The factor or challenge id.
    pub id: String,
}

/// `{user}`, `{id}` and `{challenge}`.
#[derive(Debug, Deserialize)]
pub struct PhoneChangePath {
    /// The user id.
    pub user: String,
    /// The factor id.
    pub id: String,
    /// The challenge id.
    pub challenge: String,
}

impl PhoneChangePath {
    /// The checked ids.
    pub fn ids(&self) -> Result<(&str, &str, &str), ApiError> {
        check_id(&self.user, "the user id")?;
        check_id(&self.id, "the factor id")?;
        check_id(&self.challenge, "the challenge id")?;
        Ok((&self.user, &self.id, &self.challenge))
    }
}

/// `{org}`.
#[derive(Debug, Deserialize)]
pub struct OrgPath {
    /// The organisation id.
    pub org: String,
}

impl UserPath {
    /// The checked user id.
    pub fn user(&self) -> Result<&str, ApiError> {
        check_id(&self.user, "the user id").map(|()| self.user.as_str())
    }
}

impl UserItemPath {
    /// The checked user and item ids.
    pub fn ids(&self) -> Result<(&str, &str), ApiError> {
        check_id(&self.user, "the user id")?;
        check_id(&self.id, "the id")?;
        Ok((&self.user, &self.id))
    }
}

impl OrgPath {
    /// The checked org id.
    pub fn org(&self) -> Result<&str, ApiError> {
        check_id(&self.org, "the org id").map(|()| self.org.as_str())
    }
}
