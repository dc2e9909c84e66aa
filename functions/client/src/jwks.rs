//! Checking MFA tokens: an EdDSA (Ed25519) JWT with `typ` `JWT`, signed by a key of the
//! service's JWKS, for the expected issuer and audience, unexpired. The JWKS is fetched on first
//! use and kept; a token that names a key id the kept set lacks (the service's signing key was
//! rotated) fetches it again, at most once every [`REFETCH_AFTER`], so that tokens of unknown
//! keys can't make the verifier hammer the service.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use tokio::sync::Mutex;

use crate::api::MfaClaims;
use crate::{Client, Error};

/// The shortest time between two fetches of the JWKS for an unknown key id.
pub const REFETCH_AFTER: Duration = Duration::from_secs(30);
/// The `typ` header of an MFA token.
const MFA_TYP: &str = "JWT";

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not a valid MFA token: format, `typ`, algorithm, key, signature, issuer, audience or
    /// expiry.
    #[error("not a valid MFA token: {0}")]
    Invalid(String),
    /// The JWKS could not be fetched.
    #[error("the JWKS: {0}")]
    Jwks(#[from] Error),
}

/// Checks MFA tokens of one deployment for one audience.
#[derive(Debug)]
pub struct TokenVerifier {
    client: Client,
    issuer: String,
    audience: String,
    refetch_after: Duration,
    keys: Mutex<Option<(JwkSet, Instant)>>,
}

impl TokenVerifier {
    /// Checks tokens from `client`'s deployment with issuer `issuer` (`MFA_TOKEN_ISSUER`) and
    /// audience `audience` (one of `MFA_TOKEN_AUDIENCE`).
    pub fn new(client: Client, issuer: &str, audience: &str) -> Self {
        Self {
            client,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            refetch_after: REFETCH_AFTER,
            keys: Mutex::new(None),
        }
    }

    /// The shortest time between two fetches of the JWKS for an unknown key id, instead of
    /// [`REFETCH_AFTER`].
    pub fn refetch_after(mut self, after: Duration) -> Self {
        self.refetch_after = after;
        self
    }

    /// The claims of `token` if it is a valid MFA token; see the module docs.
    pub async fn verify(&self, token: &str) -> Result<MfaClaims, TokenError> {
        let invalid = |e: jsonwebtoken::errors::Error| TokenError::Invalid(e.to_string());
        let header = decode_header(token).map_err(invalid)?;
        if header.typ.as_deref() != Some(MFA_TYP) {
            return Err(TokenError::Invalid(format!("typ {:?}, not {MFA_TYP}", header.typ)));
        }
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Invalid(format!("alg {:?}, not EdDSA", header.alg)));
        }
        let kid = header.kid.ok_or_else(|| TokenError::Invalid("no kid".into()))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        Ok(decode::<MfaClaims>(token, &key, &validation).map_err(invalid)?.claims)
    }

    /// The key `kid`: from the kept JWKS, or from a new fetch when it lacks `kid` and the last
    /// fetch is [`Self::refetch_after`] old.
    async fn key(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        let mut keys = self.keys.lock().await;
        let stale = keys
            .as_ref()
            .is_none_or(|(set, at)| set.find(kid).is_none() && at.elapsed() >= self.refetch_after);
        if stale {
            *keys = Some((self.client.jwks().await?, Instant::now()));
        }
        let jwk = keys
            .as_ref()
            .and_then(|(set, _)| set.find(kid))
            .ok_or_else(|| TokenError::Invalid(format!("no key {kid:?} in the JWKS")))?;
        DecodingKey::from_jwk(jwk).map_err(|e| TokenError::Invalid(e.to_string()))
    }
}
