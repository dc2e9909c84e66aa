//! Out-of-band one-time codes: the 6 digits sent by SMS or email.
//!
//! A code is drawn uniformly from the caller's RNG and stored only as an HMAC-SHA256 under a
//! server key, bound to the challenge it was sent for: a stored hash says nothing about the code
//! without the key, and a code sent for one challenge does not verify against another.
//!
//! ```
//! use mfa_core::oob_code::{generate, hash, verify, CodeKey};
//! # let mut rng = rand_core::OsRng;
//! let key = CodeKey::new(&[7u8; 32]).unwrap();
//! let code = generate(&mut rng);
//! let stored = hash(&key, "challenge-1", &code);
//! assert!(verify(&key, "challenge-1", &code, &stored));
//! assert!(!verify(&key, "challenge-2", &code, &stored));
//! ```

use hmac::digest::generic_array::GenericArray;
use hmac::{Hmac, Mac};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Digits in a code.
pub const DIGITS: usize = 6;
const MODULUS: u32 = 1_000_000;
/// Domain separation, so these hashes can't be confused with any other use of the key.
const CONTEXT: &[u8] = b"mfa-oob-code-v1";

/// A fresh code: 6 decimal digits, uniform (rejection sampling, no modulo bias).
pub fn generate(rng: &mut impl CryptoRngCore) -> String {
    // The largest multiple of 10^6 that fits in u32; values at or above it are redrawn.
    let limit = u32::MAX - (u32::MAX % MODULUS);
    loop {
        let value = rng.next_u32();
        if value < limit {
            return format!("{:06}", value % MODULUS);
        }
    }
}

/// SHA-256's block size, the length of an HMAC-SHA256 key once prepared (RFC 2104).
const BLOCK: usize = 64;

/// The server key that code hashes are made with: at least 256 bits. It holds the key as
/// HMAC-SHA256 uses it (RFC 2104: padded with zeros to a block, or hashed first when longer),
/// on the heap, zeroed when dropped; `Debug` shows none of it.
#[derive(Clone)]
pub struct CodeKey(Zeroizing<Box<[u8]>>);

/// Why a code key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the one-time-code key must be at least 32 bytes, not {0}")]
pub struct KeyLengthError(pub usize);

impl CodeKey {
    /// Takes the key bytes; fewer than 32 is an error.
    pub fn new(key: &[u8]) -> Result<Self, KeyLengthError> {
        if key.len() < 32 {
            return Err(KeyLengthError(key.len()));
        }
        let mut block = Zeroizing::new(vec![0u8; BLOCK].into_boxed_slice());
        if key.len() > BLOCK {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        Ok(Self(block))
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new(GenericArray::from_slice(&self.0))
    }
}

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey(redacted)")
    }
}

/// The keyed hash of `code` for `challenge_id`, to store instead of the code.
pub fn hash(key: &CodeKey, challenge_id: &str, code: &str) -> [u8; 32] {
    let mut mac = key.mac();
    mac.update(CONTEXT);
    mac.update(&(challenge_id.len() as u64).to_be_bytes());
    mac.update(challenge_id.as_bytes());
    mac.update(code.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Normalises typed input to the 6 digits that were sent (spaces ignored), or `None`.
pub fn normalize(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// Whether `input` is the code whose hash for `challenge_id` is `stored`, in constant time.
pub fn verify(key: &CodeKey, challenge_id: &str, input: &str, stored: &[u8]) -> bool {
    match normalize(input) {
        Some(code) => hash(key, challenge_id, &code).ct_eq(stored).into(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn codes_are_six_digits_and_vary() {
        let mut rng = StdRng::seed_from_u64(9);
        let codes: Vec<String> = (0..200).map(|_| generate(&mut rng)).collect();
        assert!(codes.iter().all(|c| normalize(c).as_deref() == Some(c.as_str())));
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert!(distinct.len() > 190);
    }

    /// Uniform, no modulo bias: a u32 below 4,294,000,000 (4294 × 10^6, the largest multiple of
    /// 10^6 that fits) gives its last 6 decimal digits, zero-padded; one at or above it is drawn
    /// again, since those 967,296 values would make codes below 967296 more likely.
    #[test]
    fn codes_are_the_last_six_digits_of_a_draw_below_4294_million() {
        let code = |draws: &[u32]| generate(&mut crate::ScriptedRng::u32s(draws));
        assert_eq!(code(&[0]), "000000");
        assert_eq!(code(&[7]), "000007");
        assert_eq!(code(&[1_234_567]), "234567");
        assert_eq!(code(&[4_293_999_999]), "999999");
        assert_eq!(code(&[4_294_000_000, 4_293_999_998]), "999998");
        assert_eq!(code(&[u32::MAX, 4_294_000_001, 42]), "000042");
    }

    #[test]
    fn typed_codes_are_six_digits_spaces_ignored() {
        assert_eq!(normalize(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalize("012345").as_deref(), Some("012345"));
        for wrong in ["12345", "1234567", "12345x", "１２３４５６", "", "      "] {
            assert_eq!(normalize(wrong), None, "{wrong:?}");
        }
    }

    #[test]
    fn hash_is_bound_to_key_challenge_and_code() {
        let (k1, k2) = (CodeKey::new(&[1; 32]).unwrap(), CodeKey::new(&[2; 32]).unwrap());
        let stored = hash(&k1, "c1", "123456");
        assert!(verify(&k1, "c1", "123 456", &stored));
        assert!(!verify(&k2, "c1", "123456", &stored));
        assert!(!verify(&k1, "c1", "123457", &stored));
        assert!(!verify(&k1, "c1", "12345", &stored));
        assert!(!verify(&k1, "c1", "12345x", &stored));
        assert!(!verify(&k1, "c1", "123456", &stored[..31]));
        // Length prefixing keeps ("c1", "1234567") apart from ("c11", "234567").
        assert_ne!(hash(&k1, "c1", "1234567"), hash(&k1, "c11", "234567"));
    }

    #[test]
    fn hashes_are_hmac_sha256_under_the_key_as_given() {
        for length in [32, 64, 65, 100] {
            let bytes: Vec<u8> = (0..length).map(|i| i as u8).collect();
            let mut reference = <Hmac<Sha256> as Mac>::new_from_slice(&bytes).unwrap();
            reference.update(CONTEXT);
            reference.update(&2u64.to_be_bytes());
            reference.update(b"c1");
            reference.update(b"123456");
            let want: [u8; 32] = reference.finalize().into_bytes().into();
            assert_eq!(hash(&CodeKey::new(&bytes).unwrap(), "c1", "123456"), want, "{length}");
        }
    }

    #[test]
    fn debug_shows_no_key() {
        assert_eq!(format!("{:?}", CodeKey::new(&[0xab; 32]).unwrap()), "CodeKey(redacted)");
    }

    #[test]
    fn short_keys_are_refused() {
        assert_eq!(CodeKey::new(&[0; 31]).unwrap_err(), KeyLengthError(31));
    }
}
