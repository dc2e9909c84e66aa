//! HOTP (RFC 4226) and TOTP (RFC 6238) over the RustCrypto `hmac`, `sha1` and `sha2` crates.
//!
//! This module adds what an MFA service needs on top of the HMAC: 6 to 10 digits, time as a
//! parameter, and verification within a window that returns the time step it matched, so that
//! the caller can refuse a step it has already accepted (the replay guard lives in the store, not
//! here). The key is set up once per verification (the HMAC's inner and outer pads hashed once)
//! and each step of the window costs two hash blocks, with nothing allocated: a window-1 verify is
//! 3 HMACs of 8 bytes.
//!
//! ```
//! use mfa_core::{secret::TotpSecret, totp::{match_step, totp_code, Algorithm, TotpParams}};
//!
//! let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
//! let params = TotpParams::new(Algorithm::Sha1, 8, 30).unwrap();
//! assert_eq!(totp_code(&secret, 59, &params), "94287082"); // RFC 6238, appendix B
//!
//! // A code from the previous step still matches with window 1 ...
//! let code = totp_code(&secret, 1_000_000_000 - 30, &params);
//! let step = match_step(&secret, &code, 1_000_000_000, 1, &params, None).unwrap();
//! // ... but not once that step has been used.
//! assert_eq!(match_step(&secret, &code, 1_000_000_000, 1, &params, Some(step)), None);
//! ```

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::secret::TotpSecret;

/// The fewest digits a code may have (RFC 4226 section 5.3).
pub const MIN_DIGITS: u32 = 6;
/// The most digits a code may have: a 31-bit truncated HMAC has at most 10 decimal digits.
pub const MAX_DIGITS: u32 = 10;
/// The widest verification window accepted: this many steps either side of now.
pub const MAX_WINDOW: u32 = 10;

/// Why TOTP parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// The algorithm name is not one of SHA1, SHA256, SHA512.
    #[error("unknown TOTP algorithm {0:?}: use SHA1, SHA256 or SHA512")]
    UnknownAlgorithm(String),
    /// The number of digits is outside 6 to 10.
    #[error("a code must have 6 to 10 digits, not {0}")]
    Digits(i64),
    /// The period is zero or negative.
    #[error("the TOTP period must be at least 1 second, not {0}")]
    Period(i64),
    /// The window is negative or wider than [`MAX_WINDOW`].
    #[error("the verification window must be 0 to 10 steps, not {0}")]
    Window(i64),
    /// The time is before the Unix epoch.
    #[error("the time must not be before 1970-01-01T00:00:00Z")]
    BeforeEpoch,
}

/// The HMAC hash function of a HOTP/TOTP key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// HMAC-SHA1, what nearly every authenticator app uses.
    #[default]
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl Algorithm {
    /// The name used in otpauth URIs and the SQL API: `SHA1`, `SHA256` or `SHA512`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    pub(crate) fn to_totp_rs(self) -> totp_rs::Algorithm {
        match self {
            Self::Sha1 => totp_rs::Algorithm::SHA1,
            Self::Sha256 => totp_rs::Algorithm::SHA256,
            Self::Sha512 => totp_rs::Algorithm::SHA512,
        }
    }
}

impl FromStr for Algorithm {
    type Err = TotpError;

    /// Parses `SHA1`, `SHA256` or `SHA512`, ignoring case, dashes (`sha-256`) and surrounding
    /// space. Allocates nothing: the SQL functions parse it on every call.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut name = [0u8; 6];
        let mut len = 0;
        for byte in s.trim().bytes().filter(|b| *b != b'-') {
            match name.get_mut(len) {
                Some(slot) => *slot = byte.to_ascii_uppercase(),
                None => return Err(TotpError::UnknownAlgorithm(s.to_owned())),
            }
            len += 1;
        }
        match &name[..len] {
            b"SHA1" => Ok(Self::Sha1),
            b"SHA256" => Ok(Self::Sha256),
            b"SHA512" => Ok(Self::Sha512),
            _ => Err(TotpError::UnknownAlgorithm(s.to_owned())),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Validated TOTP parameters: algorithm, 6 to 10 digits, and a period of at least one second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TotpParams {
    algorithm: Algorithm,
    digits: u32,
    period: u64,
}

impl Default for TotpParams {
    /// SHA1, 6 digits, 30 seconds: what every authenticator app assumes.
    fn default() -> Self {
        Self { algorithm: Algorithm::Sha1, digits: 6, period: 30 }
    }
}

impl TotpParams {
    /// Checks and builds parameters. `digits` must be 6 to 10 and `period` at least 1.
    pub fn new(algorithm: Algorithm, digits: i64, period: i64) -> Result<Self, TotpError> {
        Ok(Self { algorithm, digits: check_digits(digits)?, period: check_period(period)? })
    }

    /// The HMAC algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The number of digits in a code.
    pub fn digits(&self) -> u32 {
        self.digits
    }

    /// The length of one time step, in seconds.
    pub fn period(&self) -> u64 {
        self.period
    }

    /// The time step that `unix_time` falls in.
    pub fn step_at(&self, unix_time: u64) -> u64 {
        unix_time / self.period
    }
}

/// Checks a digit count: 6 to 10.
pub fn check_digits(digits: i64) -> Result<u32, TotpError> {
    match u32::try_from(digits) {
        Ok(d) if (MIN_DIGITS..=MAX_DIGITS).contains(&d) => Ok(d),
        _ => Err(TotpError::Digits(digits)),
    }
}

fn check_period(period: i64) -> Result<u64, TotpError> {
    match u64::try_from(period) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(TotpError::Period(period)),
    }
}

/// Checks a verification window: 0 to [`MAX_WINDOW`] steps.
pub fn check_window(window: i64) -> Result<u32, TotpError> {
    match u32::try_from(window) {
        Ok(w) if w <= MAX_WINDOW => Ok(w),
        _ => Err(TotpError::Window(window)),
    }
}

/// Converts signed Unix seconds (as SQL and JSON carry them) to the unsigned form used here.
pub fn check_unix_time(seconds: i64) -> Result<u64, TotpError> {
    u64::try_from(seconds).map_err(|_| TotpError::BeforeEpoch)
}

/// HMAC-SHA1 (RFC 2104) of an 8-byte counter, straight over the SHA-1 compression function: the
/// key's inner and outer pads are hashed once, and each counter then costs exactly two blocks,
/// its padding written out, nothing buffered or allocated. SHA-1 is what nearly every app uses,
/// so it gets this path; SHA-256 and SHA-512 go through `hmac`. RFC 4226's and RFC 6238's
/// vectors check both (`tests/it/rfc_vectors.rs`).
struct Sha1Pads {
    inner: [u32; 5],
    outer: [u32; 5],
}

/// SHA-1's initial state (FIPS 180-4, 5.3.1).
const SHA1_INIT: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];

impl Sha1Pads {
    fn new(key: &[u8]) -> Self {
        let mut block = zeroize::Zeroizing::new([0u8; 64]);
        if key.len() > block.len() {
            // A key longer than a block is hashed first (RFC 2104, section 2).
            block[..20].copy_from_slice(&<Sha1 as sha1::Digest>::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let pad = |byte: u8| {
            let mut padded = zeroize::Zeroizing::new(*block);
            padded.iter_mut().for_each(|b| *b ^= byte);
            let mut state = SHA1_INIT;
            sha1::compress(&mut state, &[(*padded).into()]);
            state
        };
        Self { inner: pad(0x36), outer: pad(0x5c) }
    }

    /// The 20-byte HMAC of `counter` (8 bytes, big-endian).
    fn mac(&self, counter: u64) -> [u8; 20] {
        // One block: the message after the 64-byte pad, 0x80, zeros, and the bit length.
        let block = |message: &[u8]| {
            let mut block = [0u8; 64];
            block[..message.len()].copy_from_slice(message);
            block[message.len()] = 0x80;
            let bits = (64 + message.len() as u64) * 8;
            block[56..].copy_from_slice(&bits.to_be_bytes());
            block
        };
        let digest = |state: [u32; 5]| {
            let mut bytes = [0u8; 20];
            for (chunk, word) in bytes.chunks_exact_mut(4).zip(state) {
                chunk.copy_from_slice(&word.to_be_bytes());
            }
            bytes
        };
        let mut inner = self.inner;
        sha1::compress(&mut inner, &[block(&counter.to_be_bytes()).into()]);
        let mut outer = self.outer;
        sha1::compress(&mut outer, &[block(&digest(inner)).into()]);
        digest(outer)
    }
}

impl Drop for Sha1Pads {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.inner);
        zeroize::Zeroize::zeroize(&mut self.outer);
    }
}

/// One HMAC key bound to its algorithm, its pads hashed once: computes the truncated value of
/// any counter.
enum Hotp {
    Sha1(Sha1Pads),
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

impl Hotp {
    /// `None` only if `hmac` refused the key, which it never does (HMAC takes keys of any
    /// length): callers then match nothing.
    fn new(secret: &TotpSecret, algorithm: Algorithm) -> Option<Self> {
        let key = secret.as_bytes();
        Some(match algorithm {
            Algorithm::Sha1 => Self::Sha1(Sha1Pads::new(key)),
            Algorithm::Sha256 => Self::Sha256(Mac::new_from_slice(key).ok()?),
            Algorithm::Sha512 => Self::Sha512(Mac::new_from_slice(key).ok()?),
        })
    }

    /// The code for `counter` as a number below `10^digits` (RFC 4226 dynamic truncation).
    fn value(&self, counter: u64, digits: u32) -> u64 {
        fn sign<M: Mac + Clone>(keyed: &M, counter: u64, out: &mut [u8; 64]) -> usize {
            let mut mac = keyed.clone();
            mac.update(&counter.to_be_bytes());
            let tag = mac.finalize().into_bytes();
            out[..tag.len()].copy_from_slice(&tag);
            tag.len()
        }
        let mut buffer = [0u8; 64];
        let len = match self {
            Self::Sha1(pads) => {
                buffer[..20].copy_from_slice(&pads.mac(counter));
                20
            }
            Self::Sha256(keyed) => sign(keyed, counter, &mut buffer),
            Self::Sha512(keyed) => sign(keyed, counter, &mut buffer),
        };
        let mac = &buffer[..len];
        let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
        let mut word = [0u8; 4];
        if let Some(bytes) = mac.get(offset..offset + 4) {
            word.copy_from_slice(bytes);
        }
        let binary = u64::from(u32::from_be_bytes(word) & 0x7fff_ffff);
        binary % 10u64.pow(digits)
    }
}

fn format_code(value: u64, digits: u32) -> String {
    format!("{value:0width$}", width = digits as usize)
}

/// The HOTP code for `counter` (RFC 4226), zero-padded to `digits`.
pub fn hotp_code(secret: &TotpSecret, counter: u64, digits: u32, algorithm: Algorithm) -> String {
    // An HMAC that refused the key (it never does) gives no code, which matches nothing.
    Hotp::new(secret, algorithm)
        .map(|hotp| format_code(hotp.value(counter, digits), digits))
        .unwrap_or_default()
}

/// The TOTP code at `unix_time` (RFC 6238), zero-padded to the parameters' digits.
pub fn totp_code(secret: &TotpSecret, unix_time: u64, params: &TotpParams) -> String {
    hotp_code(secret, params.step_at(unix_time), params.digits, params.algorithm)
}

/// Parses what a user typed as a code: exactly `digits` ASCII digits once spaces are removed
/// (apps show `123 456`). Returns `None` for anything else.
pub fn parse_code(code: &str, digits: u32) -> Option<u64> {
    let mut value: u64 = 0;
    let mut count = 0u32;
    for c in code.chars().filter(|c| !c.is_whitespace()) {
        let d = c.to_digit(10)?;
        count += 1;
        if count > digits {
            return None;
        }
        value = value * 10 + u64::from(d);
    }
    (count == digits).then_some(value)
}

/// Verifies `code` within `window` steps either side of the step of `unix_time` and returns the
/// step it matched, or `None`. The newest matching step wins.
///
/// With `after_step = Some(s)`, only steps greater than `s` count: pass the step the factor last
/// accepted and a replayed code is refused. Every step in the window is checked, and the code is
/// compared in constant time, so the answer's timing does not tell which step matched.
pub fn match_step(
    secret: &TotpSecret,
    code: &str,
    unix_time: u64,
    window: u32,
    params: &TotpParams,
    after_step: Option<u64>,
) -> Option<u64> {
    let given = parse_code(code, params.digits)?;
    let hotp = Hotp::new(secret, params.algorithm)?;
    let now = params.step_at(unix_time);
    let first = now.saturating_sub(u64::from(window));
    let last = now.saturating_add(u64::from(window));
    let floor = after_step.map_or(0, |s| s.saturating_add(1));
    let mut found = subtle::Choice::from(0);
    let mut matched: u64 = 0;
    for step in first.max(floor)..=last {
        // Steps ascend, so a later hit replaces an earlier one: the newest match wins.
        let hit = hotp.value(step, params.digits).ct_eq(&given);
        matched.conditional_assign(&step, hit);
        found |= hit;
    }
    bool::from(found).then_some(matched)
}

/// The step `code` matches within `window` steps of `unix_time`, if any; no replay floor.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    unix_time: u64,
    window: u32,
    params: &TotpParams,
) -> Option<u64> {
    match_step(secret, code, unix_time, window, params, None)
}

#[cfg(test)]
mod tests {
    //! Names, parameters, ranges and typed input, each against the README's SQL API section or
    //! RFC 6238; the codes themselves are checked against the RFC vectors in `tests/it`.
    use super::*;

    /// `SHA1`, `SHA256` or `SHA512`, ignoring case, dashes and surrounding space; nothing else.
    #[test]
    fn algorithm_names_parse_and_print() {
        for (algorithm, name, typed) in [
            (Algorithm::Sha1, "SHA1", ["SHA1", "sha1", "sha-1", " Sha-1\n"]),
            (Algorithm::Sha256, "SHA256", ["SHA256", "sha256", "SHA-256", "-sha-256-"]),
            (Algorithm::Sha512, "SHA512", ["SHA512", "sha512", "SHA-512", " sha512 "]),
        ] {
            assert_eq!((algorithm.as_str(), algorithm.to_string()), (name, name.to_owned()));
            for text in typed {
                assert_eq!(text.parse::<Algorithm>(), Ok(algorithm), "{text:?}");
            }
        }
        for wrong in
            ["", "SHA", "SHA3", "SHA-3", "SHA224", "MD5", "SHA1024", "SHA-512/256", "SHA 1"]
        {
            let want = Err(TotpError::UnknownAlgorithm(wrong.to_owned()));
            assert_eq!(wrong.parse::<Algorithm>(), want, "{wrong:?}");
        }
    }

    /// The defaults: 6 digits, a 30-second period, SHA1.
    #[test]
    fn params_keep_what_they_were_given() {
        let params = TotpParams::new(Algorithm::Sha512, 8, 60).unwrap();
        assert_eq!(
            (params.algorithm(), params.digits(), params.period()),
            (Algorithm::Sha512, 8, 60)
        );
        let default = TotpParams::default();
        assert_eq!(
            (default.algorithm(), default.digits(), default.period()),
            (Algorithm::Sha1, 6, 30)
        );
    }

    /// RFC 6238 section 4: T = floor(time / X); its appendix B gives T for each test time.
    #[test]
    fn the_step_is_the_time_over_the_period_rounded_down() {
        let params = TotpParams::default();
        for (time, step) in [
            (0, 0),
            (29, 0),
            (59, 0x1),
            (1_111_111_109, 0x0235_23EC),
            (1_111_111_111, 0x0235_23ED),
            (1_234_567_890, 0x0273_EF07),
            (2_000_000_000, 0x03F9_40AA),
            (20_000_000_000, 0x27BC_86AA),
        ] {
            assert_eq!(params.step_at(time), step, "{time}");
        }
        assert_eq!(TotpParams::new(Algorithm::Sha1, 6, 1).unwrap().step_at(59), 59);
    }

    /// 6 to 10 digits, a period of at least 1 second, a window of 0 to 10 steps, no time
    /// before 1970.
    #[test]
    fn digits_periods_windows_and_times_outside_their_ranges_are_refused() {
        for digits in [6, 8, 10] {
            assert_eq!(check_digits(digits).map(i64::from), Ok(digits));
        }
        for digits in [-6, 0, 5, 11, 1 << 32 | 6] {
            assert_eq!(check_digits(digits), Err(TotpError::Digits(digits)));
        }
        for period in [1, 30, i64::MAX] {
            let params = TotpParams::new(Algorithm::Sha1, 6, period).unwrap();
            assert_eq!(i64::try_from(params.period()), Ok(period));
        }
        for period in [0, -30] {
            assert_eq!(TotpParams::new(Algorithm::Sha1, 6, period), Err(TotpError::Period(period)));
        }
        for window in [0, 1, 10] {
            assert_eq!(check_window(window).map(i64::from), Ok(window));
        }
        for window in [-1, 11, 1 << 32] {
            assert_eq!(check_window(window), Err(TotpError::Window(window)));
        }
        assert_eq!(check_unix_time(0), Ok(0));
        assert_eq!(check_unix_time(1_700_000_000), Ok(1_700_000_000));
        assert_eq!(check_unix_time(-1), Err(TotpError::BeforeEpoch));
    }

    /// A typed code is its digits, with the spaces apps show (`123 456`) ignored.
    #[test]
    fn typed_codes_are_their_digits_with_spaces_ignored() {
        assert_eq!(parse_code("123456", 6), Some(123_456));
        assert_eq!(parse_code(" 123 456\t", 6), Some(123_456));
        assert_eq!(parse_code("000042", 6), Some(42));
        assert_eq!(parse_code("9876 5432", 8), Some(98_765_432));
        for (code, digits) in [
            ("12345", 6),
            ("1234567", 6),
            ("12345a", 6),
            ("123-456", 6),
            ("", 6),
            ("\u{ff11}23456", 6),
            ("123456", 8),
        ] {
            assert_eq!(parse_code(code, digits), None, "{code:?}");
        }
    }
}
