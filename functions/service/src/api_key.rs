//! Caller authentication: API keys, stored only as SHA-256 hashes, each with a scope.
//!
//! Keys are long random strings (`mfa_` and 52 base32 characters, 256 bits), so a fast hash is
//! the right tool: there is nothing to brute-force. The `admin` scope includes `service`.

use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::Key;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Enrollment, login, challenges, verification, self-service management.
    Service,
    /// Everything, plus administration (resetting a user's factors, org policies).
    Admin,
}

impl Scope {
    /// Parses `service` or `admin`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "service" => Some(Self::Service),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    /// Whether a key of this scope may call what needs `needed`.
    pub fn allows(self, needed: Scope) -> bool {
        self >= needed
    }
}

/// The configured key hashes; `Debug` shows only their scopes.
#[derive(Debug, Clone, Default)]
pub struct ApiKeys {
    entries: Vec<(Scope, Key)>,
}

impl ApiKeys {
    /// Keys as (scope, SHA-256 of the key).
    pub fn new(entries: Vec<(Scope, Key)>) -> Self {
        Self { entries }
    }

    /// The scope of `presented`, if it is a configured key. Every entry is compared, in
    /// constant time.
    pub fn check(&self, presented: &str) -> Option<Scope> {
        let hash = hash_key(presented);
        let mut found = None;
        for (scope, stored) in &self.entries {
            if bool::from(stored.expose().ct_eq(&hash)) {
                found = found.max(Some(*scope));
            }
        }
        found
    }
}

/// The SHA-256 of a key, as configuration stores it.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Makes a new random API key.
pub fn generate_key(rng: &mut dyn CryptoRngCore) -> String {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    format!("mfa_{}", data_encoding::BASE32_NOPAD.encode(&bytes).to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn keys_are_checked_by_hash_and_scoped() {
        let hashed = |key| Secret::new(hash_key(key));
        let keys =
            ApiKeys::new(vec![(Scope::Service, hashed("svc")), (Scope::Admin, hashed("adm"))]);
        assert_eq!(keys.check("svc"), Some(Scope::Service));
        assert_eq!(keys.check("adm"), Some(Scope::Admin));
        assert_eq!(keys.check("other"), None);
        assert!(Scope::Admin.allows(Scope::Service));
        assert!(!Scope::Service.allows(Scope::Admin));
        let generated = generate_key(&mut rand_core::OsRng);
        assert_eq!(generated.len(), 56);
    }
}
