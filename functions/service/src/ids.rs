//! Random, prefixed identifiers: `fac_` factors, `lgn_` logins, `chl_` challenges, `rcs_`
//! recovery sets. 128 random bits each, lower-case base32, so ids are unguessable as well as unique.

use rand_core::CryptoRngCore;

/// A new id with `prefix`, e.g. `fac_2x7...`.
pub fn new_id(prefix: &str, rng: &mut dyn CryptoRngCore) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    format!("{prefix}_{}", data_encoding::BASE32_NOPAD.encode(&bytes).to_ascii_lowercase())
}
