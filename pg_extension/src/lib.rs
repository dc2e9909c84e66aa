//! # mfa_pg
//!
//! A PostgreSQL 15 extension (pgrx) that checks TOTP codes and one-time recovery codes inside SQL,
//! for apps whose users live in Postgres. Every function is a thin wrapper over `mfa-core`, so a
//! code, secret or recovery-code hash means the same thing here as in the MFA service.
//!
//! The functions live in the SQL schema `mfa`: the control file fixes the extension's schema
//! (`schema = mfa`), and `CREATE EXTENSION mfa_pg;` creates it unless it exists:
//!
//! | function | returns |
//! |---|---|
//! | `mfa.totp_new_secret()` | a new 160-bit secret, base32, from the OS CSPRNG |
//! | `mfa.totp_uri(secret, account, issuer, digits, period, algorithm)` | the `otpauth://` Key Uri |
//! | `mfa.totp_code(secret, at, digits, period, algorithm)` | the code at `at` |
//! | `mfa.totp_verify(secret, code, at, window, digits, period, algorithm)` | whether `code` is valid within `window` steps of `at` |
//! | `mfa.totp_match_step(secret, code, after_step, at, window, ...)` | the matched time step after `after_step`, or NULL |
//! | `mfa.hotp_code(secret, counter, digits, algorithm)` | the RFC 4226 code for `counter` |
//! | `mfa.recovery_codes_new(count)` | a set of `(code, hash)` rows |
//! | `mfa.recovery_code_verify(code, hash)` | whether `code` is the code behind `hash` |
//! | `mfa.recovery_code_match(code, hashes)` | the 1-based position of the matching hash, or NULL |
//!
//! Defaults are 6 digits, 30 seconds, `SHA1`, window 1 and `at = now()`. NULL in gives NULL out
//! (except `after_step`, where NULL means "no step accepted yet"). Bad input is an ERROR with
//! mfa-core's message and a fitting SQLSTATE ([`error`]), never a silent `false`.

// pgrx turns a Rust panic into a PostgreSQL ERROR by unwinding; with `panic = "abort"` (the
// workspace's `release` profile, sized for Lambda) a panic would end the server process.
#[cfg(panic = "abort")]
compile_error!(
    "mfa_pg must unwind on panic: build it with `--profile pg` (cargo pgrx install --profile pg), not `--release`"
);

mod args;
mod error;
#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;

::pgrx::pg_module_magic!(name, version);

/// The SQL functions: one `#[pg_extern]` each, a few lines over mfa-core.
///
/// The generated script names no schema: PostgreSQL runs it with the control file's schema `mfa`
/// as the search path, so the functions land there. (`#[pg_schema]` would add a
/// `CREATE SCHEMA IF NOT EXISTS mfa`, which fails once PostgreSQL has created the schema for the
/// control file: an extension's script may only skip creating an object the extension owns.)
///
/// Functions of their arguments only are `immutable` (a default of `now()` is evaluated by the
/// caller, so `at` is still an argument); the ones that draw randomness are `volatile`. All are
/// `parallel_safe`: they keep no state and the OS CSPRNG is safe to read from any process.
mod mfa {
    use mfa_core::recovery::{self, HashCost};
    use mfa_core::secret::TotpSecret;
    use mfa_core::{otpauth, totp};
    use pgrx::prelude::*;
    use rand_core::OsRng;

    use crate::args;
    use crate::error::OrRaise;

    /// A new random TOTP secret: 160 bits from the operating system's CSPRNG, as base32.
    #[pg_extern(volatile, parallel_safe)]
    fn totp_new_secret() -> String {
        TotpSecret::generate(&mut OsRng).to_base32()
    }

    /// The `otpauth://totp/` Key Uri that authenticator apps read (as text or a QR code).
    #[pg_extern(immutable, parallel_safe)]
    fn totp_uri(
        secret: &str,
        account: &str,
        issuer: &str,
        digits: default!(i32, 6),
        period: default!(i32, 30),
        algorithm: default!(&str, "'SHA1'"),
    ) -> String {
        let params = args::params(digits, period, algorithm);
        otpauth::otpauth_uri(&args::secret(secret), account, issuer, &params).or_raise()
    }

    /// The TOTP code (RFC 6238) at `at`.
    #[pg_extern(immutable, parallel_safe)]
    fn totp_code(
        secret: &str,
        at: default!(TimestampWithTimeZone, "now()"),
        digits: default!(i32, 6),
        period: default!(i32, 30),
        algorithm: default!(&str, "'SHA1'"),
    ) -> String {
        let params = args::params(digits, period, algorithm);
        totp::totp_code(&args::secret(secret), args::unix_time(at), &params)
    }

    /// Whether `code` is the TOTP code of a step within `window` steps of `at`. Accepts a code
    /// again and again: use `totp_match_step` to accept each step once.
    #[pg_extern(immutable, parallel_safe)]
    fn totp_verify(
        secret: &str,
        code: &str,
        at: default!(TimestampWithTimeZone, "now()"),
        window: default!(i32, 1),
        digits: default!(i32, 6),
        period: default!(i32, 30),
        algorithm: default!(&str, "'SHA1'"),
    ) -> bool {
        let params = args::params(digits, period, algorithm);
        let (secret, at, window) =
            (args::secret(secret), args::unix_time(at), args::window(window));
        totp::verify(&secret, code, at, window, &params).is_some()
    }

    /// The newest time step after `after_step` whose code is `code`, within `window` steps of
    /// `at`, or NULL. Store the result and pass it back as `after_step` to refuse a replay.
    #[pg_extern(immutable, parallel_safe)]
    #[allow(clippy::too_many_arguments)] // the SQL signature: code, replay floor, time, parameters
    fn totp_match_step(
        secret: Option<&str>,
        code: Option<&str>,
        after_step: default!(Option<i64>, "NULL"),
        at: default!(Option<TimestampWithTimeZone>, "now()"),
        window: default!(Option<i32>, 1),
        digits: default!(Option<i32>, 6),
        period: default!(Option<i32>, 30),
        algorithm: default!(Option<&str>, "'SHA1'"),
    ) -> Option<i64> {
        // Not STRICT because a NULL `after_step` has a meaning; every other NULL gives NULL,
        // checked before any argument is, as PostgreSQL does for a STRICT function.
        let (secret, code, at, window) = (secret?, code?, at?, window?);
        let params = args::params(digits?, period?, algorithm?);
        let (secret, at, window) =
            (args::secret(secret), args::unix_time(at), args::window(window));
        let step =
            totp::match_step(&secret, code, at, window, &params, args::step_floor(after_step));
        step.map(args::step_to_sql)
    }

    /// The HOTP code (RFC 4226) for `counter`.
    #[pg_extern(immutable, parallel_safe)]
    fn hotp_code(
        secret: &str,
        counter: i64,
        digits: default!(i32, 6),
        algorithm: default!(&str, "'SHA1'"),
    ) -> String {
        let (digits, algorithm) = (args::digits(digits), args::algorithm(algorithm));
        totp::hotp_code(&args::secret(secret), args::counter(counter), digits, algorithm)
    }

    /// A new set of `count` recovery codes (1 to 100): show `code` to the user once, store `hash`
    /// (Argon2id, one salt per set, the service's default cost).
    #[pg_extern(volatile, parallel_safe)]
    fn recovery_codes_new(
        count: default!(i32, 10),
    ) -> TableIterator<'static, (name!(code, String), name!(hash, String))> {
        let set = recovery::generate_set(&mut OsRng, count.into(), &HashCost::default()).or_raise();
        TableIterator::new(set.into_iter().map(|issued| (issued.code, issued.hash)))
    }

    /// Whether `code` (as typed: case, spaces and dashes ignored) is the code behind `hash`.
    #[pg_extern(immutable, parallel_safe)]
    fn recovery_code_verify(code: &str, hash: &str) -> bool {
        recovery::verify(code, hash).or_raise()
    }

    /// The 1-based position in `hashes` of the hash that `code` matches, or NULL. NULL elements
    /// never match; one Argon2id computation per distinct salt, so a whole set costs one.
    #[pg_extern(immutable, parallel_safe)]
    fn recovery_code_match(code: &str, hashes: Array<&str>) -> Option<i32> {
        let (positions, present): (Vec<i32>, Vec<&str>) =
            (1..).zip(hashes.iter()).filter_map(|(at, hash)| Some((at, hash?))).unzip();
        let index = recovery::find_match(code, &present).or_raise()?;
        positions.get(index).copied()
    }
}

/// What `cargo pgrx test` needs at the crate root: no extra setup or server settings.
#[cfg(test)]
pub mod pg_test {
    /// One-off setup before the tests run: none needed.
    pub fn setup(_options: Vec<&str>) {}

    /// `postgresql.conf` settings for the test server: none needed.
    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
