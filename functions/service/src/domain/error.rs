//! The domain's errors. Each is a sentence a caller can act on; `crate::http::problem` is the one
//! place that turns them into HTTP answers.

use crate::ports::StoreError;

/// What went wrong, in domain terms.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or a value is out of range.
    #[error("{0}")]
    BadRequest(String),
    /// No such user, factor, login or challenge (or not this user's).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The code is wrong, was already used, or doesn't fit the factor.
    #[error("the code is not valid")]
    CodeRejected,
    /// A WebAuthn credential or assertion was refused; the sentence says why.
    #[error("{0}")]
    CredentialRejected(String),
    /// The login or challenge has expired.
    #[error("the {0} has expired")]
    Expired(&'static str),
    /// The state does not allow this (already active, already answered, ...).
    #[error("{0}")]
    Conflict(&'static str),
    /// A change needs a step-up token for it (or a passkey sign-in its token); the sentence says
    /// what was missing or wrong.
    #[error("{0}")]
    StepUpRequired(&'static str),
    /// The policy of one of the user's orgs does not allow this; the sentence says which rule.
    #[error("{0}")]
    PolicyForbids(String),
    /// Too many consecutive failures: try again at `until` (Unix seconds; `u64::MAX` = blocked).
    #[error("too many failed attempts")]
    Locked {
        /// When the lock ends.
        until: u64,
        /// Seconds from now until then.
        retry_after: u64,
    },
    /// A sending budget of the user, one of the user's orgs or the deployment is used up; the
    /// sentence says which.
    #[error("{reason}")]
    TooManyMessages {
        /// Why, as a sentence for the user.
        reason: &'static str,
        /// When the budget's window ends (Unix seconds).
        until: u64,
        /// Seconds from now until then.
        retry_after: u64,
    },
    /// This factor can't be used now; the user should pick another.
    #[error("{reason}")]
    UseAnotherFactor {
        /// Why, as a sentence for the user.
        reason: &'static str,
        /// The user's other active factors.
        factors: Vec<crate::model::Factor>,
    },
    /// The SMS or email provider refused the message.
    #[error("the message could not be sent")]
    SendFailed(String),
    /// An SNS message to the SMS webhook was refused, or could not be acted on.
    #[error(transparent)]
    Webhook(#[from] crate::sns_verify::SnsError),
    /// The store failed.
    #[error("storage is unavailable")]
    Store(#[from] StoreError),
    /// Something that should not happen did; details are logged, not returned.
    #[error("internal error")]
    Internal(String),
}
