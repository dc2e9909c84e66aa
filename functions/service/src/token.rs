//! MFA tokens: short-lived EdDSA (Ed25519) JWTs that prove a second factor, and the JWKS that
//! lets every app of the same SaaS check them.
//!
//! Claims: `iss`, `sub` (the user), `aud` (the configured audiences), `amr` (RFC 8176 values,
//! e.g. `otp`), `auth_time`, `iat`, `exp`, `fid` (the factor that was used) and `jti`. Signing
//! keys come from configuration, each with a key id (`kid` in the header and the JWKS): the first
//! key signs, all of them verify, which is how keys rotate.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};

/// The claims of an MFA token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaClaims {
    /// Issuer.
    pub iss: String,
    /// The user.
    pub sub: String,
    /// Audiences.
    pub aud: Vec<String>,
    /// Authentication methods (RFC 8176).
    pub amr: Vec<String>,
    /// When the factor was verified (Unix seconds).
    pub auth_time: u64,
    /// Issued at.
    pub iat: u64,
    /// Expires at.
    pub exp: u64,
    /// The factor id that was verified (`recovery_code` for a recovery code).
    pub fid: String,
    /// Token id.
    pub jti: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT of ours: bad format, unknown key, bad signature, wrong issuer or audience.
    #[error("the MFA token is not valid: {0}")]
    Invalid(String),
    /// Valid once, expired now.
    #[error("the MFA token has expired")]
    Expired,
}

/// One signing key pair.
struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    public_x: String,
}

/// The configured token keys and claims policy.
pub struct TokenKeys {
    keys: Vec<SigningKey>,
    issuer: String,
    audience: Vec<String>,
    ttl: u64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("TokenKeys").field("kids", &kids).field("issuer", &self.issuer).finish()
    }
}

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410), followed by the 32-byte seed.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

impl TokenKeys {
    /// Keys as (key id, 32-byte Ed25519 seed), the first signing. `None` without keys or with a
    /// seed that is not an Ed25519 key.
    pub fn new(
        seeds: &[(String, [u8; 32])],
        issuer: String,
        audience: Vec<String>,
        ttl: u64,
    ) -> Option<Self> {
        let keys = seeds
            .iter()
            .map(|(kid, seed)| {
                let pair = Ed25519KeyPair::from_seed_unchecked(seed).ok()?;
                let public_x = B64.encode(pair.public_key().as_ref());
                let mut der = PKCS8_ED25519_PREFIX.to_vec();
                der.extend_from_slice(seed);
                Some(SigningKey {
                    kid: kid.clone(),
                    encoding: EncodingKey::from_ed_der(&der),
                    decoding: DecodingKey::from_ed_components(&public_x).ok()?,
                    public_x,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        (!keys.is_empty()).then_some(Self { keys, issuer, audience, ttl })
    }

    /// Signs a token for `user` who just verified `factor_id` with methods `amr` at `now`.
    pub fn issue(
        &self,
        user: &str,
        factor_id: &str,
        amr: &[&str],
        now: u64,
        jti: String,
    ) -> Result<(String, MfaClaims), TokenError> {
        let key = self.keys.first().ok_or_else(|| TokenError::Invalid("no signing key".into()))?;
        let claims = MfaClaims {
            iss: self.issuer.clone(),
            sub: user.to_owned(),
            aud: self.audience.clone(),
            amr: amr.iter().map(|s| (*s).to_owned()).collect(),
            auth_time: now,
            iat: now,
            exp: now + self.ttl,
            fid: factor_id.to_owned(),
            jti,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        Ok((token, claims))
    }

    /// Checks signature, issuer, audience and expiry at `now`, and returns the claims.
    pub fn verify(&self, token: &str, now: u64) -> Result<MfaClaims, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        let kid = header.kid.ok_or_else(|| TokenError::Invalid("no key id".into()))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| TokenError::Invalid(format!("unknown key id {kid:?}")))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audience);
        // Expiry is checked below against the injected clock, not the system's.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<MfaClaims>(token, &key.decoding, &validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        if data.claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
    }

    /// The public keys as a JWKS document (RFC 7517, OKP keys per RFC 8037).
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                    "kid": k.kid, "x": k.public_x,
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(seeds: &[(&str, u8)]) -> TokenKeys {
        let seeds: Vec<(String, [u8; 32])> =
            seeds.iter().map(|(k, b)| ((*k).to_owned(), [*b; 32])).collect();
        TokenKeys::new(&seeds, "mfa".into(), vec!["app".into()], 600).unwrap()
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let k = keys(&[("k1", 1)]);
        let (token, claims) = k.issue("ada", "fac_1", &["otp"], 1000, "j".into()).unwrap();
        assert_eq!(claims.exp, 1600);
        assert_eq!(k.verify(&token, 1599).unwrap(), claims);
        assert_eq!(k.verify(&token, 1600), Err(TokenError::Expired));
    }

    #[test]
    fn rotation_other_keys_and_tampering() {
        let old = keys(&[("k1", 1)]);
        let (token, _) = old.issue("ada", "fac_1", &["otp"], 1000, "j".into()).unwrap();
        let rotated = keys(&[("k2", 2), ("k1", 1)]);
        assert!(rotated.verify(&token, 1001).is_ok());
        let stranger = keys(&[("k1", 9)]);
        assert!(matches!(stranger.verify(&token, 1001), Err(TokenError::Invalid(_))));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = B64.encode(br#"{"sub":"eve"}"#);
        parts[1] = &forged;
        assert!(matches!(old.verify(&parts.join("."), 1001), Err(TokenError::Invalid(_))));
    }

    #[test]
    fn jwks_lists_every_public_key() {
        let jwks = keys(&[("k2", 2), ("k1", 1)]).jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert_eq!(jwks["keys"][0]["kid"], "k2");
        assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
        assert_eq!(B64.decode(jwks["keys"][1]["x"].as_str().unwrap()).unwrap().len(), 32);
    }
}
