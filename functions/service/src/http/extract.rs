//! Extractors whose rejections are problem documents, and the ids of paths, parsed into
//! [`crate::ids`] types (a bad one is a 400).

use axum::extract::{FromRequest, FromRequestParts};
use serde::Deserialize;

use super::problem::ApiError;
use crate::ids::{ChallengeId, FactorId, KeyId, OrgId, UserId};

/// JSON body; a malformed, mistyped or oversize body becomes a problem document.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Path parameters; a bad one becomes a problem document.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `{user}`.
#[derive(Debug, Deserialize)]
pub struct UserPath {
    /// The user id.
    pub user: String,
}

/// `{user}` and `{id}` (a factor's or a challenge's).
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

/// `{id}` of a passwordless sign-in.
#[derive(Debug, Deserialize)]
pub struct SignInPath {
    /// The sign-in's id.
    pub id: String,
}

impl SignInPath {
    /// The parsed id.
    pub fn id(&self) -> Result<ChallengeId, ApiError> {
        Ok(ChallengeId::parse(&self.id)?)
    }
}

/// `{id}` of an API key.
#[derive(Debug, Deserialize)]
pub struct KeyPath {
    /// The key's id.
    pub id: String,
}

impl KeyPath {
    /// The parsed id.
    pub fn id(&self) -> Result<KeyId, ApiError> {
        Ok(KeyId::parse(&self.id)?)
    }
}

/// `{org}`.
#[derive(Debug, Deserialize)]
pub struct OrgPath {
    /// The organisation id.
    pub org: String,
}

impl UserPath {
    /// The parsed user id.
    pub fn user(&self) -> Result<UserId, ApiError> {
        Ok(UserId::parse(&self.user)?)
    }
}

impl UserItemPath {
    /// The parsed user and factor ids.
    pub fn factor(&self) -> Result<(UserId, FactorId), ApiError> {
        Ok((UserId::parse(&self.user)?, FactorId::parse(&self.id)?))
    }

    /// The parsed user and challenge ids.
    pub fn challenge(&self) -> Result<(UserId, ChallengeId), ApiError> {
        Ok((UserId::parse(&self.user)?, ChallengeId::parse(&self.id)?))
    }
}

impl PhoneChangePath {
    /// The parsed user, factor and challenge ids.
    pub fn ids(&self) -> Result<(UserId, FactorId, ChallengeId), ApiError> {
        Ok((
            UserId::parse(&self.user)?,
            FactorId::parse(&self.id)?,
            ChallengeId::parse(&self.challenge)?,
        ))
    }
}

impl OrgPath {
    /// The parsed org id.
    pub fn org(&self) -> Result<OrgId, ApiError> {
        Ok(OrgId::parse(&self.org)?)
    }
}
