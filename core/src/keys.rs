//! The text formats of the service's keys, in one place for the service, mfa-local and the `mfa`
//! CLI that fills a deployment's secret:
//!
//! - an API key is `mfa_` and 52 lowercase base32 letters (256 random bits); configuration holds
//!   only its SHA-256 hash, as `scope:hex` ([`api_key_entry`]);
//! - a data, signing or code key is 32 random bytes, written `kid:base64` ([`key_entry`]); a list
//!   of them is comma-separated, the first one in use and all of them accepted;
//! - a new deployment's secret ([`new_secret`]) holds the four variables of [`SECRET_VARIABLES`],
//!   with a `service` and an `admin` API key.
//!
//! ```
//! use mfa_core::keys::{api_key, api_key_entry, api_key_hash};
//! use rand::{rngs::StdRng, SeedableRng};
//!
//! let key = api_key(&mut StdRng::from_entropy());
//! assert!(key.starts_with("mfa_") && key.len() == 56);
//! let entry = api_key_entry("admin", &key);
//! assert_eq!(entry.len(), "admin:".len() + 64);
//! assert_eq!(api_key_hash(&key).len(), 32);
//! ```

use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};

/// The variables of a deployment's secret, in the order it lists them.
pub const SECRET_VARIABLES: [&str; 4] =
    ["MFA_API_KEYS", "MFA_DATA_KEYS", "MFA_SIGNING_KEYS", "MFA_CODE_KEY"];

/// A new random API key: `mfa_` and 52 lowercase base32 letters.
pub fn api_key(rng: &mut dyn CryptoRngCore) -> String {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    format!("mfa_{}", data_encoding::BASE32_NOPAD.encode(&bytes).to_ascii_lowercase())
}

/// The SHA-256 hash of an API key's text.
pub fn api_key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The configuration entry of `key` with `scope`: `scope:<sha256 hex>`.
pub fn api_key_entry(scope: &str, key: &str) -> String {
    format!("{scope}:{}", data_encoding::HEXLOWER.encode(&api_key_hash(key)))
}

/// A new random 32-byte key with id `kid`: `kid:<base64>`.
pub fn key_entry(kid: &str, rng: &mut dyn CryptoRngCore) -> String {
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    format!("{kid}:{}", data_encoding::BASE64.encode(&key))
}

/// A new deployment's secret and the two API keys whose hashes it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSecret {
    /// The secret's variables ([`SECRET_VARIABLES`], in order) and their values.
    pub variables: Vec<(&'static str, String)>,
    /// The key of the `service` scope (verify, enroll, manage): shown once.
    pub service_key: String,
    /// The key of the `admin` scope (everything): shown once.
    pub admin_key: String,
}

/// New keys for a deployment's secret; each key id is what it is for and `date` (`YYYYMMDD`),
/// e.g. `data-20261203`.
pub fn new_secret(date: &str, rng: &mut dyn CryptoRngCore) -> NewSecret {
    let (service_key, admin_key) = (api_key(rng), api_key(rng));
    let api_keys = format!(
        "{},{}",
        api_key_entry("service", &service_key),
        api_key_entry("admin", &admin_key)
    );
    let variables = vec![
        (SECRET_VARIABLES[0], api_keys),
        (SECRET_VARIABLES[1], key_entry(&format!("data-{date}"), rng)),
        (SECRET_VARIABLES[2], key_entry(&format!("sig-{date}"), rng)),
        (SECRET_VARIABLES[3], key_entry(&format!("code-{date}"), rng)),
    ];
    NewSecret { variables, service_key, admin_key }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn rng() -> StdRng {
        StdRng::from_entropy()
    }

    #[test]
    fn an_api_key_is_256_bits_of_base32() {
        let key = api_key(&mut rng());
        let letters = key.strip_prefix("mfa_").unwrap();
        assert_eq!(letters.len(), 52);
        let bytes = data_encoding::BASE32_NOPAD.decode(letters.to_ascii_uppercase().as_bytes());
        assert_eq!(bytes.unwrap().len(), 32);
        assert_ne!(api_key(&mut rng()), key);
    }

    #[test]
    fn an_api_key_entry_is_its_sha256_in_hex() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            api_key_entry("admin", "abc"),
            "admin:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_key_entry_is_its_id_and_32_bytes_of_base64() {
        let entry = key_entry("data-20261203", &mut rng());
        let (kid, key) = entry.split_once(':').unwrap();
        assert_eq!(kid, "data-20261203");
        assert_eq!(data_encoding::BASE64.decode(key.as_bytes()).unwrap().len(), 32);
    }

    #[test]
    fn a_new_secret_holds_the_hashes_of_its_two_keys() {
        let secret = new_secret("20261203", &mut rng());
        let names: Vec<&str> = secret.variables.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, SECRET_VARIABLES);
        let api_keys = &secret.variables[0].1;
        assert!(api_keys.contains(&api_key_entry("service", &secret.service_key)));
        assert!(api_keys.contains(&api_key_entry("admin", &secret.admin_key)));
        assert!(secret.variables[1].1.starts_with("data-20261203:"));
        assert!(secret.variables[2].1.starts_with("sig-20261203:"));
        assert!(secret.variables[3].1.starts_with("code-20261203:"));
    }
}
