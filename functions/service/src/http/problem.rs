//! The one place that turns errors into HTTP answers: RFC 9457 problem details
//! (`application/problem+json`). Handlers return `Result<_, ApiError>` and never build an
//! error response themselves. Internal details are logged here, never sent.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::domain::Error;
use crate::ids::BadId;
use crate::sns_verify::SnsError;

pub use mfa_api::Problem;

/// An error on its way to becoming an HTTP answer.
#[derive(Debug)]
pub enum ApiError {
    /// A domain error.
    Domain(Error),
    /// No API key, or not a known one.
    Unauthorized,
    /// The API key's scopes do not hold the one this route needs.
    Forbidden(crate::api_key::Scope),
    /// The request could not be read (JSON syntax, types, size, path).
    Unreadable(StatusCode, String),
    /// No such route, or not with this method.
    Route(StatusCode),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self::Domain(e)
    }
}

impl From<BadId> for ApiError {
    fn from(e: BadId) -> Self {
        Self::Domain(Error::BadRequest(e.to_string()))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        Self::Unreadable(r.status(), r.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        Self::Unreadable(r.status(), r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::Unreadable(StatusCode::BAD_REQUEST, r.body_text())
    }
}

fn problem(status: StatusCode, slug: &str, title: &str, detail: String) -> Problem {
    Problem {
        kind: format!("urn:mfa:problem:{slug}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        retry_at: None,
        other_factors: None,
    }
}

impl ApiError {
    fn to_problem(&self) -> Problem {
        use StatusCode as S;
        match self {
            Self::Unauthorized => problem(
                S::UNAUTHORIZED,
                "unauthorized",
                "Missing or unknown API key",
                "send an API key as `Authorization: Bearer <key>`".into(),
            ),
            Self::Forbidden(needed) => problem(
                S::FORBIDDEN,
                "forbidden",
                "API key scope too narrow",
                format!("this route needs an API key with the {} scope", needed.as_str()),
            ),
            Self::Unreadable(status, detail) => problem(
                *status,
                "unreadable-request",
                "The request could not be read",
                detail.clone(),
            ),
            Self::Route(status) => problem(
                *status,
                "no-such-route",
                "No such route",
                "see /v1/openapi.json for the routes and their methods".into(),
            ),
            Self::Domain(e) => domain_problem(e),
        }
    }
}

fn domain_problem(e: &Error) -> Problem {
    use StatusCode as S;
    let detail = e.to_string();
    match e {
        Error::BadRequest(_) => {
            problem(S::BAD_REQUEST, "invalid-request", "Invalid request", detail)
        }
        Error::NotFound(_) => problem(S::NOT_FOUND, "not-found", "Not found", detail),
        Error::CredentialRejected(_) => {
            problem(S::BAD_REQUEST, "credential-rejected", "Credential rejected", detail)
        }
        Error::CodeRejected => problem(
            S::BAD_REQUEST,
            "code-rejected",
            "Code rejected",
            "the code is wrong, expired or already used".into(),
        ),
        Error::Expired(_) => problem(S::GONE, "expired", "Expired", detail),
        Error::Conflict(_) => problem(S::CONFLICT, "conflict", "Conflict", detail),
        Error::StepUpRequired(_) => {
            problem(S::FORBIDDEN, "step-up-required", "Fresh MFA required", detail)
        }
        Error::PolicyForbids(_) => {
            problem(S::FORBIDDEN, "policy-forbids", "Not allowed by the organisation", detail)
        }
        Error::Locked { until, .. } => Problem {
            retry_at: (*until != u64::MAX).then_some(*until),
            ..problem(
                S::TOO_MANY_REQUESTS,
                "locked",
                "Too many failed attempts",
                if *until == u64::MAX {
                    "this account's second factor is blocked after 100 failures; an administrator must unlock it".into()
                } else {
                    "too many failed attempts: wait until retry_at, then try again".into()
                },
            )
        },
        Error::TooManyMessages { until, .. } => Problem {
            retry_at: Some(*until),
            ..problem(S::TOO_MANY_REQUESTS, "too-many-messages", "Too many messages", detail)
        },
        Error::UseAnotherFactor { factors, .. } => Problem {
            other_factors: Some(super::wire::factor_views(factors)),
            ..problem(S::CONFLICT, "use-another-factor", "Use another factor", detail)
        },
        Error::SendFailed(inner) => {
            tracing::error!(error = %inner, "message not sent");
            problem(
                S::BAD_GATEWAY,
                "send-failed",
                "Message not sent",
                "the code could not be sent; try again or use another factor".into(),
            )
        }
        Error::Webhook(e) => webhook_problem(e, detail),
        Error::Store(inner) => {
            tracing::error!(error = %inner, "store failure");
            problem(
                S::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                "storage is unavailable; try again".into(),
            )
        }
        Error::Internal(inner) => {
            tracing::error!(error = %inner, "internal error");
            problem(S::INTERNAL_SERVER_ERROR, "internal", "Internal error", "internal error".into())
        }
    }
}

/// SNS messages: 400 when unreadable, 403 when refused (not signed by SNS for our topic, or too
/// old), 502 when SNS could not be reached, 503 when the webhook is not configured.
fn webhook_problem(e: &SnsError, detail: String) -> Problem {
    use StatusCode as S;
    match e {
        SnsError::NotConfigured => problem(
            S::SERVICE_UNAVAILABLE,
            "webhook-not-configured",
            "SMS webhook not configured",
            detail,
        ),
        SnsError::Malformed(_)
        | SnsError::UnknownType(_)
        | SnsError::UnsupportedSignatureVersion(_)
        | SnsError::BadTimestamp(_)
        | SnsError::NotAnInboundSms(_) => {
            problem(S::BAD_REQUEST, "invalid-sns-message", "Not a usable SNS message", detail)
        }
        SnsError::CertificateFetch(_) | SnsError::Confirm(_) => {
            tracing::warn!(error = %e, "SNS unreachable");
            problem(S::BAD_GATEWAY, "sns-unreachable", "SNS could not be reached", detail)
        }
        SnsError::WrongTopic(_)
        | SnsError::Stale
        | SnsError::CertificateUrl(_)
        | SnsError::SubscribeUrl(_)
        | SnsError::BadCertificate(_)
        | SnsError::Untrusted
        | SnsError::CertificateExpired
        | SnsError::BadSignature => {
            tracing::warn!(error = %e, "SNS message refused");
            problem(S::FORBIDDEN, "sns-message-refused", "SNS message refused", detail)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.to_problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Self::Domain(
            Error::Locked { retry_after, until }
            | Error::TooManyMessages { retry_after, until, .. },
        ) = &self
        {
            if *until != u64::MAX {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
        }
        response
    }
}
