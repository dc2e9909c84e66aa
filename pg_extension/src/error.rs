//! The one place that turns errors into PostgreSQL ERRORs.
//!
//! Every error keeps mfa-core's own message (its `Display` text) and gets the SQLSTATE a SQL caller
//! can act on: `22023 invalid_parameter_value` for a bad secret, algorithm or parameter,
//! `22P02 invalid_text_representation` for a stored hash that is not a PHC string, and
//! `22008 datetime_field_overflow` for a time TOTP can't use. The functions in [`crate::mfa`] call
//! [`OrRaise::or_raise`] and never build an error themselves.

use std::fmt::Display;

use mfa_core::otpauth::OtpauthError;
use mfa_core::recovery::RecoveryError;
use mfa_core::secret::SecretError;
use mfa_core::totp::TotpError;
use pgrx::prelude::*;

/// An error with the SQLSTATE it is raised under; its `Display` text is the ERROR's message.
pub(crate) trait SqlError: Display {
    /// The SQLSTATE of the ERROR.
    fn sqlstate(&self) -> PgSqlErrorCode;
}

/// Arguments that only the SQL layer can get wrong, because mfa-core's types rule them out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ArgError {
    /// `at` is `infinity` or `-infinity`.
    #[error("the time must be finite, not infinity")]
    InfiniteTime,
    /// A HOTP counter below zero: RFC 4226 counters are unsigned.
    #[error("the HOTP counter must not be negative, not {0}")]
    NegativeCounter(i64),
}

use PgSqlErrorCode::{
    ERRCODE_DATETIME_FIELD_OVERFLOW as TIME_OUT_OF_RANGE,
    ERRCODE_INVALID_PARAMETER_VALUE as INVALID_PARAMETER,
    ERRCODE_INVALID_TEXT_REPRESENTATION as MALFORMED_TEXT,
};

impl SqlError for SecretError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        INVALID_PARAMETER
    }
}

impl SqlError for TotpError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        match self {
            Self::BeforeEpoch => TIME_OUT_OF_RANGE,
            Self::UnknownAlgorithm(_) | Self::Digits(_) | Self::Period(_) | Self::Window(_) => {
                INVALID_PARAMETER
            }
        }
    }
}

impl SqlError for OtpauthError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        INVALID_PARAMETER
    }
}

impl SqlError for RecoveryError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        match self {
            Self::MalformedHash(_) => MALFORMED_TEXT,
            Self::Count(_) | Self::UnsupportedAlgorithm(_) | Self::Cost(_) => INVALID_PARAMETER,
        }
    }
}

impl SqlError for ArgError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        match self {
            Self::InfiniteTime => TIME_OUT_OF_RANGE,
            Self::NegativeCounter(_) => INVALID_PARAMETER,
        }
    }
}

/// Unwraps a result or raises its error as a PostgreSQL ERROR (which does not return).
pub(crate) trait OrRaise<T> {
    /// The `Ok` value, or an ERROR with the error's message and SQLSTATE.
    fn or_raise(self) -> T;
}

impl<T, E: SqlError> OrRaise<T> for Result<T, E> {
    // The ERROR's LOCATION names the caller's line, not this one.
    #[track_caller]
    fn or_raise(self) -> T {
        match self {
            Ok(value) => value,
            Err(error) => {
                // `ereport!(ERROR, ..)` unwinds into PostgreSQL's error handling; it never returns.
                ereport!(ERROR, error.sqlstate(), error.to_string());
            }
        }
    }
}
