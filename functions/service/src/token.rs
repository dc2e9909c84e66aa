//! Tokens: short-lived EdDSA (Ed25519) JWTs, and the JWKS that lets every app of the same SaaS
//! check them. Two kinds, which can't stand in for each other (each has its own `typ` header and
//! audience, and each is checked for both):
//!
//! - **MFA tokens** (`typ` `JWT`) say who signed in, how and when. Claims: `iss`, `sub` (the
//!   user), `aud` (the configured audiences), `amr` (RFC 8176 values, e.g. `otp`), `auth_time`,
//!   `iat`, `exp`, `fid` (the factor that was used) and `jti`.
//! - **Step-up tokens** (`typ` `step-up+jwt`, `aud` [`STEP_UP_AUDIENCE`]) allow one change: the
//!   same claims plus `op` (the [`Operation`]) and `tfid` (the factor the change is to, if any).
//!   The service takes each one once, by its `jti` ([`crate::ports::StepUpStore`]).
//!
//! Signing keys come from configuration, each with a key id (`kid` in the header and the JWKS):
//! the first key signs, all of them verify, which is how keys rotate.

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::model::Operation;
use crate::secret::Key;

/// The `typ` header of an MFA token.
const MFA_TYP: &str = "JWT";
/// The `typ` header of a step-up token.
const STEP_UP_TYP: &str = "step-up+jwt";
/// The audience of every step-up token: this service only.
pub const STEP_UP_AUDIENCE: &str = "mfa-step-up";
/// How long a step-up token lives, in seconds.
pub const STEP_UP_TTL: u64 = 300;

pub use mfa_api::MfaClaims;

/// The claims of a step-up token: one change, by one user, proved by one factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepUpClaims {
    /// Issuer.
    pub iss: String,
    /// The user.
    pub sub: String,
    /// Always [`STEP_UP_AUDIENCE`].
    pub aud: String,
    /// Authentication methods of the proof (RFC 8176).
    pub amr: Vec<String>,
    /// When the factor was verified (Unix seconds).
    pub auth_time: u64,
    /// Issued at.
    pub iat: u64,
    /// Expires at ([`STEP_UP_TTL`] after `iat`).
    pub exp: u64,
    /// The factor that proved it (`recovery_code` for a recovery code).
    pub fid: String,
    /// The change it allows.
    pub op: Operation,
    /// The factor the change is to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tfid: Option<String>,
    /// Token id: the service takes each step-up token once.
    pub jti: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT of ours: bad format, unknown key, bad signature, wrong issuer or audience.
    #[error("the token is not valid: {0}")]
    Invalid(String),
    /// Valid once, expired now.
    #[error("the token has expired")]
    Expired,
}

/// What a step-up token grants, and to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUpGrant {
    /// The user.
    pub user: String,
    /// The factor that proved it (`recovery_code` for a recovery code).
    pub factor_id: String,
    /// Its authentication methods (RFC 8176).
    pub amr: Vec<String>,
    /// The change it allows.
    pub operation: Operation,
    /// The factor the change is to, if any.
    pub target: Option<String>,
    /// Token id.
    pub jti: String,
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
        seeds: &[(String, Key)],
        issuer: String,
        audience: Vec<String>,
        ttl: u64,
    ) -> Option<Self> {
        let keys = seeds
            .iter()
            .map(|(kid, seed)| {
                let pair = Ed25519KeyPair::from_seed_unchecked(seed.expose()).ok()?;
                let public_x = B64.encode(pair.public_key().as_ref());
                let mut der = Zeroizing::new(Vec::with_capacity(PKCS8_ED25519_PREFIX.len() + 32));
                der.extend_from_slice(&PKCS8_ED25519_PREFIX);
                der.extend_from_slice(seed.expose());
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

    /// Signs a token for `user` who just verified `factor_id` with methods `amr` at `now`,
    /// living the configured lifetime, or `ttl` when that is shorter.
    pub fn issue(
        &self,
        user: &str,
        factor_id: &str,
        amr: &[&str],
        now: u64,
        jti: String,
        ttl: Option<u64>,
    ) -> Result<(String, MfaClaims), TokenError> {
        let claims = MfaClaims {
            iss: self.issuer.clone(),
            sub: user.to_owned(),
            aud: self.audience.clone(),
            amr: amr.iter().map(|s| (*s).to_owned()).collect(),
            auth_time: now,
            iat: now,
            exp: now + ttl.map_or(self.ttl, |ttl| ttl.min(self.ttl)),
            fid: factor_id.to_owned(),
            jti,
        };
        Ok((self.sign(MFA_TYP, &claims)?, claims))
    }

    /// The configured lifetime of MFA tokens, in seconds.
    pub fn ttl(&self) -> u64 {
        self.ttl
    }

    /// Checks an MFA token's signature, `typ`, issuer, audience and expiry at `now`, and returns
    /// the claims.
    pub fn verify(&self, token: &str, now: u64) -> Result<MfaClaims, TokenError> {
        let claims: MfaClaims = self.check(token, MFA_TYP, &self.audience)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// Signs a step-up token: `claims` with this issuer, audience [`STEP_UP_AUDIENCE`], and
    /// `iat` = `auth_time` = `now`, `exp` = `now` + [`STEP_UP_TTL`].
    pub fn issue_step_up(&self, grant: StepUpGrant, now: u64) -> Result<String, TokenError> {
        let claims = StepUpClaims {
            iss: self.issuer.clone(),
            sub: grant.user,
            aud: STEP_UP_AUDIENCE.to_owned(),
            amr: grant.amr,
            auth_time: now,
            iat: now,
            exp: now + STEP_UP_TTL,
            fid: grant.factor_id,
            op: grant.operation,
            tfid: grant.target,
            jti: grant.jti,
        };
        self.sign(STEP_UP_TYP, &claims)
    }

    /// Checks a step-up token's signature, `typ`, issuer, audience and expiry at `now`, and
    /// returns its claims (what it allows is the caller's to check).
    pub fn verify_step_up(&self, token: &str, now: u64) -> Result<StepUpClaims, TokenError> {
        let claims: StepUpClaims =
            self.check(token, STEP_UP_TYP, &[STEP_UP_AUDIENCE.to_owned()])?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn sign(&self, typ: &str, claims: &impl Serialize) -> Result<String, TokenError> {
        let key = self.keys.first().ok_or_else(|| TokenError::Invalid("no signing key".into()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(typ.to_owned());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    /// Checks signature, `typ`, issuer and audience (not expiry: the caller checks it against
    /// the injected clock, not the system's).
    fn check<C: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        audience: &[String],
    ) -> Result<C, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        if header.typ.as_deref() != Some(typ) {
            return Err(TokenError::Invalid(format!("not a token of type {typ}")));
        }
        let kid = header.kid.ok_or_else(|| TokenError::Invalid("no key id".into()))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| TokenError::Invalid(format!("unknown key id {kid:?}")))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(audience);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<C>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| TokenError::Invalid(e.to_string()))
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
        let seeds: Vec<(String, Key)> = seeds
            .iter()
            .map(|(k, b)| ((*k).to_owned(), Key::from_slice(&[*b; 32]).unwrap()))
            .collect();
        TokenKeys::new(&seeds, "mfa".into(), vec!["app".into()], 600).unwrap()
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let k = keys(&[("k1", 1)]);
        let (token, claims) = k.issue("ada", "fac_1", &["otp"], 1000, "j".into(), None).unwrap();
        assert_eq!(claims.exp, 1600);
        let (_, shorter) = k.issue("ada", "fac_1", &["otp"], 1000, "j".into(), Some(60)).unwrap();
        assert_eq!(shorter.exp, 1060, "an org's shorter lifetime");
        let (_, longer) = k.issue("ada", "fac_1", &["otp"], 1000, "j".into(), Some(6000)).unwrap();
        assert_eq!(longer.exp, 1600, "never longer than the service's");
        assert_eq!(k.verify(&token, 1599).unwrap(), claims);
        assert_eq!(k.verify(&token, 1600), Err(TokenError::Expired));
    }

    #[test]
    fn rotation_other_keys_and_tampering() {
        let old = keys(&[("k1", 1)]);
        let (token, _) = old.issue("ada", "fac_1", &["otp"], 1000, "j".into(), None).unwrap();
        let rotated = keys(&[("k2", 2), ("k1", 1)]);
        assert!(rotated.verify(&token, 1001).is_ok());
        let stranger = keys(&[("k1", 9)]);
        assert!(matches!(stranger.verify(&token, 1001), Err(TokenError::Invalid(_))));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = B64.encode(br#"{"sub":"eve"}"#);
        parts[1] = &forged;
        assert!(matches!(old.verify(&parts.join("."), 1001), Err(TokenError::Invalid(_))));
    }

    fn grant(operation: Operation) -> StepUpGrant {
        StepUpGrant {
            user: "ada".into(),
            factor_id: "fac_1".into(),
            amr: vec!["otp".into()],
            operation,
            target: Some("fac_1".into()),
            jti: "j".into(),
        }
    }

    #[test]
    fn step_up_tokens_live_five_minutes_and_carry_their_change() {
        let k = keys(&[("k1", 1)]);
        let token = k.issue_step_up(grant(Operation::DeleteFactor), 1000).unwrap();
        let claims = k.verify_step_up(&token, 1299).unwrap();
        assert_eq!(
            (claims.op, claims.tfid.as_deref(), claims.exp),
            (Operation::DeleteFactor, Some("fac_1"), 1300)
        );
        assert_eq!(claims.aud, STEP_UP_AUDIENCE);
        assert_eq!(k.verify_step_up(&token, 1300), Err(TokenError::Expired));
    }

    #[test]
    fn a_sign_in_token_and_a_step_up_token_never_stand_in_for_each_other() {
        let k = keys(&[("k1", 1)]);
        let (sign_in, _) = k.issue("ada", "fac_1", &["otp"], 1000, "j".into(), None).unwrap();
        assert!(matches!(k.verify_step_up(&sign_in, 1001), Err(TokenError::Invalid(_))));
        let step_up = k.issue_step_up(grant(Operation::AddFactor), 1000).unwrap();
        assert!(matches!(k.verify(&step_up, 1001), Err(TokenError::Invalid(_))));
        // Not even an app whose configured audience names the step-up audience takes one.
        let wide = TokenKeys::new(
            &[("k1".into(), Key::from_slice(&[1; 32]).unwrap())],
            "mfa".into(),
            vec!["app".into(), STEP_UP_AUDIENCE.into()],
            600,
        )
        .unwrap();
        assert!(matches!(wide.verify(&step_up, 1001), Err(TokenError::Invalid(_))));
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
