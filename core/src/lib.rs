//! # mfa-core
//!
//! The pure algorithms and rules of the MFA service: no I/O, no async, no clock and no global
//! random number generator. Time comes in as Unix seconds and randomness as a
//! [`rand_core::CryptoRngCore`] the caller owns, so every function here is deterministic for its
//! inputs and can be used both by the Lambda functions and inside PostgreSQL (`mfa_pg`).
//!
//! | module | what it does |
//! |---|---|
//! | [`totp`] | HOTP (RFC 4226) and TOTP (RFC 6238) codes and window verification that returns the matched step |
//! | [`secret`] | TOTP shared secrets: generation and RFC 4648 base32 |
//! | [`otpauth`] | the `otpauth://` Key Uri that authenticator apps read, and its QR code as SVG |
//! | [`recovery`] | one-time recovery codes and their Argon2id PHC hashes |
//! | [`oob_code`] | 6-digit codes sent by SMS or email, stored only as a keyed hash bound to a challenge |
//! | [`phone`] | phone numbers to E.164 under a calling-code policy, refusing numbers that can't take an SMS |
//! | [`sms_keyword`] | inbound SMS keywords: opt-out, help, opt-in |
//! | [`throttle`] | the lockout schedule after consecutive failed attempts |
//! | [`keys`] | the text formats of API keys and of the keys of a deployment's secret |
//!
//! ```
//! use mfa_core::{secret::TotpSecret, totp::{TotpParams, totp_code, verify}};
//!
//! let secret = TotpSecret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
//! let params = TotpParams::default();
//! let code = totp_code(&secret, 1_700_000_000, &params);
//! // The code verifies at the same time, and the step it matched comes back.
//! assert_eq!(verify(&secret, &code, 1_700_000_000, 1, &params), Some(1_700_000_000 / 30));
//! ```

pub mod keys;
pub mod oob_code;
pub mod otpauth;
pub mod phone;
pub mod recovery;
pub mod secret;
pub mod sms_keyword;
pub mod throttle;
pub mod totp;

/// An RNG for tests that hands out the bytes it was given, in order, and panics when they run
/// out: the test decides exactly what "random" is, so it can check what a function makes of it.
#[cfg(test)]
pub(crate) struct ScriptedRng(std::collections::VecDeque<u8>);

#[cfg(test)]
impl ScriptedRng {
    /// Hands out `bytes`.
    pub(crate) fn bytes(bytes: impl IntoIterator<Item = u8>) -> Self {
        Self(bytes.into_iter().collect())
    }

    /// Hands out `values` from `next_u32`, one each (little-endian, as `rand_core` reads them).
    pub(crate) fn u32s(values: &[u32]) -> Self {
        Self::bytes(values.iter().flat_map(|v| v.to_le_bytes()))
    }
}

#[cfg(test)]
impl rand_core::RngCore for ScriptedRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            *byte = self.0.pop_front().expect("the scripted RNG ran out");
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

#[cfg(test)]
impl rand_core::CryptoRng for ScriptedRng {}
