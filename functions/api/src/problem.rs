//! Problem documents (RFC 9457): the body of every error answer, `application/problem+json`.

use serde::{Deserialize, Serialize};
use utoipa::{ToResponse, ToSchema};

use crate::FactorView;

/// An RFC 9457 problem document: the body of every error answer, `application/problem+json`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, ToResponse)]
#[response(
    description = "a problem document (RFC 9457): `type` names the kind, `detail` says what to do",
    content_type = "application/problem+json"
)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `urn:mfa:problem:code-rejected`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened in this case, and what to do.
    pub detail: String,
    /// For `locked` and `too-many-messages`: when another attempt may be made (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<u64>,
    /// For `use-another-factor`: the user's other active factors (a recovery code also works).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_factors: Option<Vec<FactorView>>,
}
