//! TOTP shared secrets: 160 random bits from the caller's RNG, and RFC 4648 base32 in and out.
//!
//! Input is forgiving the way people paste secrets: case-insensitive, `=` padding optional, and
//! spaces or dashes between groups ignored. Output is upper-case base32 without padding, the form
//! authenticator apps expect in an `otpauth://` URI.

use std::fmt;
use std::sync::OnceLock;

use data_encoding::{Encoding, Specification, BASE32_NOPAD};
use rand_core::CryptoRngCore;

/// Length in bytes of a generated secret: 160 bits, as RFC 4226 section 4 recommends.
pub const GENERATED_SECRET_LEN: usize = 20;

/// Why a base32 secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The text is empty (after removing spaces, dashes and padding).
    #[error("the TOTP secret is empty")]
    Empty,
    /// The text is not RFC 4648 base32.
    #[error("the TOTP secret is not valid base32 (RFC 4648: letters A-Z and digits 2-7)")]
    InvalidBase32,
}

/// A TOTP/HOTP shared secret. Its `Debug` output never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// Makes a new 160-bit secret from `rng`, which must be a cryptographically secure generator.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = vec![0u8; GENERATED_SECRET_LEN];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Wraps raw key bytes. Returns [`SecretError::Empty`] for an empty key.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SecretError> {
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self(bytes))
    }

    /// Parses RFC 4648 base32: case-insensitive, padding optional, spaces and dashes ignored.
    ///
    /// ```
    /// use mfa_core::secret::TotpSecret;
    /// let a = TotpSecret::from_base32("JBSW Y3DP EHPK 3PXP").unwrap();
    /// let b = TotpSecret::from_base32("jbswy3dpehpk3pxp====").unwrap();
    /// assert_eq!(a, b);
    /// assert!(TotpSecret::from_base32("not base32!").is_err());
    /// ```
    pub fn from_base32(text: &str) -> Result<Self, SecretError> {
        let trimmed = text.trim().trim_end_matches('=');
        let bytes = forgiving_base32()
            .decode(trimmed.as_bytes())
            .map_err(|_| SecretError::InvalidBase32)?;
        Self::from_bytes(bytes)
    }

    /// The secret as upper-case RFC 4648 base32 without padding.
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TotpSecret({} bytes, redacted)", self.0.len())
    }
}

/// RFC 4648 base32 that maps lower case to upper case, ignores spaces and dashes, and accepts
/// non-zero trailing bits (some issuers emit them).
fn forgiving_base32() -> &'static Encoding {
    static ENCODING: OnceLock<Encoding> = OnceLock::new();
    ENCODING.get_or_init(|| {
        let mut spec: Specification = BASE32_NOPAD.specification();
        spec.translate.from = "abcdefghijklmnopqrstuvwxyz".to_owned();
        spec.translate.to = "ABCDEFGHIJKLMNOPQRSTUVWXYZ".to_owned();
        spec.ignore = " -\t".to_owned();
        spec.check_trailing_bits = false;
        // The specification above is a constant that data-encoding accepts; fall back to the strict
        // encoding rather than panic if a future version ever disagreed.
        spec.encoding().unwrap_or_else(|_| BASE32_NOPAD.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn generated_secret_is_160_bits_and_round_trips() {
        let mut rng = StdRng::seed_from_u64(7);
        let secret = TotpSecret::generate(&mut rng);
        assert_eq!(secret.as_bytes().len(), 20);
        let text = secret.to_base32();
        assert_eq!(text.len(), 32);
        assert_eq!(TotpSecret::from_base32(&text).unwrap(), secret);
        assert_ne!(TotpSecret::generate(&mut rng), secret);
    }

    #[test]
    fn refuses_empty_and_invalid_text() {
        assert_eq!(TotpSecret::from_base32(""), Err(SecretError::Empty));
        assert_eq!(TotpSecret::from_base32("===="), Err(SecretError::Empty));
        assert_eq!(TotpSecret::from_base32("ABC1"), Err(SecretError::InvalidBase32));
        assert_eq!(TotpSecret::from_base32("A"), Err(SecretError::InvalidBase32));
    }

    #[test]
    fn debug_hides_the_key() {
        let secret = TotpSecret::from_base32("JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(format!("{secret:?}"), "TotpSecret(10 bytes, redacted)");
    }
}
