//! Secrets at rest: AES-256-GCM with the key id stored beside the ciphertext.
//!
//! A sealed value reads `v1.<key id>.<nonce>.<ciphertext>` (base64url). The associated data binds
//! it to its record (the user and factor ids), so a ciphertext copied to another record does not
//! open. Several keys can be configured: the first seals, all open, which is how keys rotate.

use std::collections::HashMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rand_core::CryptoRngCore;

use crate::secret::Key;

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The sealed text is not of the `v1.kid.nonce.ciphertext` form.
    #[error("sealed value is malformed")]
    Malformed,
    /// The key it was sealed with is not configured.
    #[error("data key {0:?} is not configured")]
    UnknownKey(String),
    /// Wrong key, wrong record, or tampered ciphertext.
    #[error("sealed value does not open with its key and record")]
    Open,
}

/// The configured data keys. `Debug` shows only the sealing key's id; the AES key schedules are
/// zeroed when dropped (the `aes` and `polyval` crates' `zeroize` features).
pub struct DataKeys {
    active_id: String,
    active: Aes256Gcm,
    keys: HashMap<String, Aes256Gcm>,
}

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKeys").field("active", &self.active_id).finish_non_exhaustive()
    }
}

impl DataKeys {
    /// Keys as (id, 32 key bytes), the first one sealing. Needs at least one.
    pub fn new(keys: &[(String, Key)]) -> Option<Self> {
        let (active_id, first) = keys.first()?;
        let (active_id, active) = (active_id.clone(), Aes256Gcm::new(first.expose().into()));
        let keys = keys
            .iter()
            .map(|(id, key)| (id.clone(), Aes256Gcm::new(key.expose().into())))
            .collect();
        Some(Self { active_id, active, keys })
    }

    /// Seals `plaintext` for the record named by `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &str, rng: &mut dyn CryptoRngCore) -> String {
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        // Encryption with a valid key and a 12-byte nonce only fails for plaintexts over 64 GiB.
        let ciphertext = self
            .active
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: aad.as_bytes() })
            .unwrap_or_default();
        format!("v1.{}.{}.{}", self.active_id, B64.encode(nonce), B64.encode(ciphertext))
    }

    /// Opens a sealed value for the record named by `aad`.
    pub fn open(&self, sealed: &str, aad: &str) -> Result<Vec<u8>, SealError> {
        let mut parts = sealed.split('.');
        let (Some("v1"), Some(kid), Some(nonce), Some(ciphertext), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SealError::Malformed);
        };
        let cipher = self.keys.get(kid).ok_or_else(|| SealError::UnknownKey(kid.to_owned()))?;
        let nonce = B64.decode(nonce).map_err(|_| SealError::Malformed)?;
        let ciphertext = B64.decode(ciphertext).map_err(|_| SealError::Malformed)?;
        if nonce.len() != 12 {
            return Err(SealError::Malformed);
        }
        cipher
            .decrypt(Nonce::from_slice(&nonce), Payload { msg: &ciphertext, aad: aad.as_bytes() })
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> (String, Key) {
        (id.to_owned(), Key::from_slice(&[byte; 32]).unwrap())
    }

    fn keys() -> DataKeys {
        DataKeys::new(&[key("k2", 2), key("k1", 1)]).unwrap()
    }

    #[test]
    fn seals_with_the_first_key_and_opens_with_any() {
        let mut rng = rand_core::OsRng;
        let sealed = keys().seal(b"secret", "user/fac", &mut rng);
        assert!(sealed.starts_with("v1.k2."));
        assert!(!sealed.contains("secret"));
        assert_eq!(keys().open(&sealed, "user/fac").unwrap(), b"secret");
        let old = DataKeys::new(&[key("k1", 1)]).unwrap().seal(b"s", "a", &mut rng);
        assert_eq!(keys().open(&old, "a").unwrap(), b"s");
    }

    #[test]
    fn refuses_other_records_unknown_keys_and_tampering() {
        let mut rng = rand_core::OsRng;
        let sealed = keys().seal(b"secret", "user/fac", &mut rng);
        assert!(matches!(keys().open(&sealed, "user/other"), Err(SealError::Open)));
        let only_k1 = DataKeys::new(&[key("k1", 1)]).unwrap();
        assert!(matches!(only_k1.open(&sealed, "user/fac"), Err(SealError::UnknownKey(_))));
        // A character in the middle of the base64 carries 6 bits of ciphertext (the last one
        // may carry only padding bits), so changing it always changes the sealed bytes.
        let middle = sealed.len() - 8;
        let changed = if &sealed[middle..=middle] == "A" { "B" } else { "A" };
        let tampered = format!("{}{changed}{}", &sealed[..middle], &sealed[middle + 1..]);
        assert!(matches!(keys().open(&tampered, "user/fac"), Err(SealError::Open)));
        assert!(matches!(keys().open("v1.k2.x", "user/fac"), Err(SealError::Malformed)));
    }
}
