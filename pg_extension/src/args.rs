//! SQL arguments to mfa-core values: each function checks one argument with mfa-core's own check
//! and raises a PostgreSQL ERROR (see [`crate::error`]) when it is refused.

use mfa_core::secret::TotpSecret;
use mfa_core::totp::{self, Algorithm, TotpParams};
use pgrx::prelude::*;

use crate::error::{ArgError, OrRaise};

/// Seconds from the Unix epoch (1970-01-01) to the PostgreSQL epoch (2000-01-01).
const POSTGRES_EPOCH_UNIX_SECONDS: i64 =
    (pg_sys::POSTGRES_EPOCH_JDATE - pg_sys::UNIX_EPOCH_JDATE) as i64 * pg_sys::SECS_PER_DAY as i64;
/// PostgreSQL timestamps count microseconds.
const MICROS_PER_SECOND: i64 = 1_000_000;

/// A base32 secret (forgiving: case, padding, spaces).
pub(crate) fn secret(base32: &str) -> TotpSecret {
    TotpSecret::from_base32(base32).or_raise()
}

/// `SHA1`, `SHA256` or `SHA512`, ignoring case and a dash.
pub(crate) fn algorithm(name: &str) -> Algorithm {
    name.parse().or_raise()
}

/// A digit count of 6 to 10.
pub(crate) fn digits(digits: i32) -> u32 {
    totp::check_digits(digits.into()).or_raise()
}

/// TOTP parameters: 6 to 10 digits, a period of at least one second, a known algorithm.
pub(crate) fn params(digits: i32, period: i32, algorithm_name: &str) -> TotpParams {
    TotpParams::new(algorithm(algorithm_name), digits.into(), period.into()).or_raise()
}

/// A verification window of 0 to 10 steps.
pub(crate) fn window(window: i32) -> u32 {
    totp::check_window(window.into()).or_raise()
}

/// Whole Unix seconds of a finite time at or after 1970-01-01 (fractions of a second dropped).
pub(crate) fn unix_time(at: TimestampWithTimeZone) -> u64 {
    let micros = finite_micros(at).or_raise();
    let seconds = micros.div_euclid(MICROS_PER_SECOND) + POSTGRES_EPOCH_UNIX_SECONDS;
    totp::check_unix_time(seconds).or_raise()
}

fn finite_micros(at: TimestampWithTimeZone) -> Result<i64, ArgError> {
    if at.is_finite() {
        Ok(pg_sys::TimestampTz::from(at))
    } else {
        Err(ArgError::InfiniteTime)
    }
}

/// A HOTP counter: RFC 4226 counters are unsigned, so a negative one is refused.
pub(crate) fn counter(counter: i64) -> u64 {
    u64::try_from(counter).map_err(|_| ArgError::NegativeCounter(counter)).or_raise()
}

/// The replay floor of `totp_match_step`: only steps after it count. Steps start at 0, so a
/// negative floor (or none) lets every step count.
pub(crate) fn step_floor(after_step: Option<i64>) -> Option<u64> {
    after_step.and_then(|step| u64::try_from(step).ok())
}

/// A matched time step as `bigint`. Steps come from finite timestamps (at most about 9.2 × 10^12
/// seconds) plus a window of at most 10, so they always fit.
pub(crate) fn step_to_sql(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}
