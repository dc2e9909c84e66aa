//! The JSON bodies of HTTP API v1, with their OpenAPI schemas: the wire format only (the service
//! converts them to and from its domain's types). Unknown fields of a request are refused, so a
//! typo is an error rather than ignored.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::kinds::{
    AuditAction, AuthMethod, Decision, Delivery, FactorKind, FactorStatus, Operation, Scope,
    WebauthnKind,
};

/// `POST /v1/users/{user}/factors`: what to enroll.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EnrollRequest {
    /// An authenticator app.
    Totp {
        /// A name for the factor ("Phone"): 1 to 64 printable characters, spaces around it
        /// trimmed (as are `account_name` and every other factor's `label`).
        #[serde(default)]
        label: Option<String>,
        /// The account name the app shows after the issuer (an email address, say); defaults to
        /// the user id.
        #[serde(default)]
        account_name: Option<String>,
    },
    /// Codes by text message (or call); a code is sent at once to confirm the number.
    Sms {
        /// The phone number, international form (`+1 201 555 0123`); +1 numbers by default.
        phone: String,
        /// A name for the factor.
        #[serde(default)]
        label: Option<String>,
        /// How the confirming code goes: `sms` (the default) or `voice` (a call that reads it).
        #[serde(default)]
        delivery: Option<Delivery>,
    },
    /// Codes by email; a code is sent at once to confirm the address.
    Email {
        /// The email address: one `@`, a dot in the domain, no spaces, at most 254
        /// characters.
        email: String,
        /// A name for the factor.
        #[serde(default)]
        label: Option<String>,
    },
    /// A WebAuthn security key or passkey: the answer holds the creation options for
    /// `navigator.credentials.create()`, whose credential activates it.
    Webauthn {
        /// `security_key` (not discoverable, user verification preferred) or `passkey`
        /// (discoverable, user verification required).
        kind: WebauthnKind,
        /// A name for the key.
        #[serde(default)]
        label: Option<String>,
    },
}

/// A factor as callers see it: never a secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FactorView {
    /// Factor id.
    pub id: String,
    /// Kind.
    #[serde(rename = "type")]
    pub kind: FactorKind,
    /// Pending or active.
    pub status: FactorStatus,
    /// The user's name for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Enrolled at (Unix seconds).
    pub created_at: u64,
    /// Activated at (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<u64>,
    /// WebAuthn: `security_key` or `passkey`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webauthn_kind: Option<WebauthnKind>,
    /// SMS and email: where codes go, masked (`••• ••23`, `a•••@example.com`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// `201` of enrollment: the pending factor, and for TOTP what the app needs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnrollResponse {
    /// The pending factor.
    pub factor: FactorView,
    /// TOTP: the secret in base32, for typing into an app by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// TOTP: the `otpauth://` URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otpauth_uri: Option<String>,
    /// TOTP: the URI as a QR code, an SVG image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
    /// SMS and email: when the code sent to confirm it expires (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_expires_at: Option<u64>,
    /// WebAuthn: the creation options, `{"publicKey": ...}` with binary fields in base64url, as
    /// `PublicKeyCredential.parseCreationOptionsFromJSON()` takes them. Valid until the
    /// registration expires (the challenge lifetime).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub creation_options: Option<serde_json::Value>,
}

/// `POST /v1/users/{user}/factors/{id}/phone-change`: the new number.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneChangeRequest {
    /// The new phone number.
    pub phone: String,
}

/// Where a phone change stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhoneChangeStep {
    /// A code went to the new number: verify it.
    VerifyNewNumber,
    /// The factor now uses the new number.
    Changed,
}

/// The answer at each step of a phone change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PhoneChangeResponse {
    /// What happens next.
    pub step: PhoneChangeStep,
    /// The challenge to verify next (until `changed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_id: Option<String>,
    /// When that challenge expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The factor, once changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor: Option<FactorView>,
}

/// `POST .../activate` and `.../verify`: a code the user typed, or for a security key or passkey
/// the browser's credential; exactly one of the two.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofRequest {
    /// The code, e.g. `123456`; spaces are ignored.
    #[serde(default)]
    pub code: Option<String>,
    /// WebAuthn: `navigator.credentials.create()`'s credential (to activate) or
    /// `navigator.credentials.get()`'s (to verify), as `PublicKeyCredential.toJSON()` gives it.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub credential: Option<serde_json::Value>,
}

/// `POST .../phone-change/{challenge}`: a code the user typed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The code, e.g. `123456`; spaces are ignored.
    pub code: String,
}

/// `200` of activation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActivateResponse {
    /// The now active factor.
    pub factor: FactorView,
    /// With the user's first active factor: recovery codes, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

/// `GET /v1/users/{user}/factors`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FactorList {
    /// The user's factors, oldest first.
    pub factors: Vec<FactorView>,
}

/// `POST /v1/users/{user}/login`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// How the first factor was checked.
    pub auth_method: AuthMethod,
    /// An MFA token the user already holds (from another app of the same SaaS).
    #[serde(default)]
    pub mfa_token: Option<String>,
}

/// `200` of the login decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// What to do next.
    pub decision: Decision,
    /// The login that challenges belong to.
    pub login_id: String,
    /// The user's active factors to choose from.
    pub factors: Vec<FactorView>,
}

/// `POST /v1/users/{user}/challenges`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    /// From the login decision.
    pub login_id: String,
    /// The factor to prove.
    pub factor_id: String,
    /// For a phone factor: `sms` (the default) or `voice`, a call that reads the code out. A
    /// sign-in gets one text and one call: when the text did not arrive, ask for a call.
    #[serde(default)]
    pub delivery: Option<Delivery>,
}

/// `201` of a challenge.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChallengeResponse {
    /// Challenge id, to verify against.
    pub challenge_id: String,
    /// When it expires (Unix seconds).
    pub expires_at: u64,
    /// How the proof reaches the user: `totp` (the user's app shows it), `sms`, `voice` (a call
    /// reads the code), `email` or `webauthn` (a security key or passkey signs
    /// `request_options`).
    pub delivery: String,
    /// WebAuthn: the request options, `{"publicKey": ...}`, as
    /// `PublicKeyCredential.parseRequestOptionsFromJSON()` takes them; every security key and
    /// passkey the user holds may answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub request_options: Option<serde_json::Value>,
}

/// `200` of a successful verification.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// The MFA token (EdDSA JWT); check it against `/.well-known/jwks.json`.
    pub mfa_token: String,
    /// When it expires (Unix seconds).
    pub expires_at: u64,
}

/// `POST /v1/users/{user}/recovery-codes/verify`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryVerifyRequest {
    /// The recovery code, in any case, with or without dashes.
    pub code: String,
    /// The login it is used in, if any.
    #[serde(default)]
    pub login_id: Option<String>,
    /// `add_factor`: also return a step-up token to enroll a new factor, proved by this same
    /// code (the way back after losing a device). No other operation is proved by a recovery
    /// code.
    #[serde(default)]
    pub step_up: Option<Operation>,
}

/// `200` of a recovery code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecoveryVerifyResponse {
    /// The MFA token.
    pub mfa_token: String,
    /// When it expires (Unix seconds).
    pub expires_at: u64,
    /// Codes left in the set.
    pub remaining: usize,
    /// With `step_up`: the step-up token for `add_factor`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_up_token: Option<String>,
}

/// `POST /v1/users/{user}/step-ups`: a step-up for one change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepUpRequest {
    /// The change: `add_factor`, `delete_factor`, `new_recovery_codes` or `change_phone`.
    pub operation: Operation,
    /// The factor the change is to: required for `delete_factor` and `change_phone`, refused
    /// otherwise.
    #[serde(default)]
    pub factor_id: Option<String>,
    /// The active factor that proves it. For `delete_factor` and `change_phone`, the same
    /// factor as `factor_id`.
    pub with_factor_id: String,
    /// When it is a phone factor: `sms` (the default) or `voice`, a call that reads the code.
    #[serde(default)]
    pub delivery: Option<Delivery>,
}

/// `200` of an answered step-up.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StepUpResponse {
    /// The step-up token (EdDSA JWT, `typ` `step-up+jwt`): send it in the `Step-Up-Token`
    /// header of the one change it was asked for. Used once.
    pub step_up_token: String,
    /// When it expires (Unix seconds), 5 minutes after it was issued.
    pub expires_at: u64,
}

/// `201` of a new set of recovery codes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecoveryCodesResponse {
    /// The codes, shown once; the previous set no longer works.
    pub recovery_codes: Vec<String>,
}

/// `201` of `POST /v1/passkey-sign-ins`: a passwordless sign-in started.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasskeySignInResponse {
    /// The sign-in to verify.
    pub challenge_id: String,
    /// When it expires (Unix seconds).
    pub expires_at: u64,
    /// The request options, `{"publicKey": ...}`, for
    /// `navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(...) })`:
    /// any discoverable passkey of this site may answer.
    #[schema(value_type = Object)]
    pub request_options: serde_json::Value,
}

/// `POST /v1/passkey-sign-ins/{id}/verify`: the passkey's assertion.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    /// `navigator.credentials.get()`'s answer, as `PublicKeyCredential.toJSON()` gives it.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// `200` of a passwordless sign-in: whose passkey it was, and their MFA token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasskeySignedInResponse {
    /// The user (your user id) the passkey belongs to.
    pub user: String,
    /// The MFA token: `amr` `hwk`, `user`, `pin`.
    pub mfa_token: String,
    /// When it expires (Unix seconds).
    pub expires_at: u64,
}

/// `PUT /v1/admin/orgs/{org}/policy` body and answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// Members must enroll a second factor before they may sign in.
    pub require_mfa: bool,
    /// With `require_mfa`: how many sign-ins a member without a factor still gets, each answered
    /// `enroll_suggested`, before enrolling is required (default 0: required at once).
    #[serde(default)]
    pub grace_logins: u32,
    /// The factor kinds members may enroll and sign in with (for example `["totp","webauthn"]`
    /// to refuse SMS and email); left out: every kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_factors: Option<Vec<FactorKind>>,
    /// At most this many active factors per member (1: one method at a time); left out: no
    /// limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub max_factors: Option<u32>,
    /// Whether a sign-in by SSO skips the second factor (the identity provider did MFA);
    /// default true.
    #[serde(default = "yes")]
    pub sso_exempt: bool,
    /// How long members' MFA tokens live, in seconds, from 60 to the service's
    /// `MFA_TOKEN_TTL_SECONDS`; left out: the service's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ttl_seconds: Option<u64>,
    /// Whether members are told by email when their sign-in methods change, a recovery code is
    /// used, or sign-in locks (and by text to the old number when it changes); default true.
    /// Off when any of a user's orgs turns it off.
    #[serde(default = "yes")]
    pub notices: bool,
}

fn yes() -> bool {
    true
}

impl Default for PolicyBody {
    /// What a body that leaves every optional field out means: MFA not required, no grace
    /// sign-ins, every factor kind, no limit, SSO exempt, the service's token lifetime, notices
    /// on.
    fn default() -> Self {
        Self {
            require_mfa: false,
            grace_logins: 0,
            allowed_factors: None,
            max_factors: None,
            sso_exempt: yes(),
            token_ttl_seconds: None,
            notices: yes(),
        }
    }
}

/// `PUT /v1/admin/users/{user}/orgs` body and answer: the orgs the user belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipsBody {
    /// Org ids (at most 50). The user's sign-ins follow the strictest of their policies.
    pub orgs: Vec<String>,
}

/// `GET /v1/admin/users/{user}/audit`: the user's latest audit events (up to 100), newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    /// The events.
    pub events: Vec<AuditEvent>,
}

/// `POST /v1/admin/api-keys`: a key for an app.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    /// The app's name, recorded in the audit events of its requests: 1 to 64 printable
    /// characters, spaces around it trimmed; not `configured` (the app of `MFA_API_KEYS`' keys).
    pub app: String,
    /// What the key may call: `verify`, `enroll`, `manage`, `admin` (at least one).
    pub scopes: Vec<Scope>,
}

/// An app's API key as admins see it: never the key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    /// The key's id (`key_...`), to revoke it.
    pub id: String,
    /// The app.
    pub app: String,
    /// What it may call.
    pub scopes: Vec<Scope>,
    /// When it was made (Unix seconds).
    pub created_at: u64,
}

/// `201` of a new key: the key itself, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewKeyResponse {
    /// The record.
    #[serde(flatten)]
    pub view: KeyView,
    /// The key, `mfa.key_....`: send it as `Authorization: Bearer <key>`. Shown once; only its
    /// hash is kept.
    pub key: String,
}

/// `GET /v1/admin/api-keys`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyList {
    /// Every app key, oldest first.
    pub keys: Vec<KeyView>,
}

/// What happened to a user's second factors: one entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    /// Unique id (`aud_...`).
    pub id: String,
    /// The user it happened to.
    pub user: String,
    /// When (Unix seconds).
    pub at: u64,
    /// What happened.
    pub action: AuditAction,
    /// The factor concerned, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor_id: Option<String>,
    /// The app whose API key made the request (`configured` for a key of `MFA_API_KEYS`); none
    /// for what no app asked for (an SMS reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_is_a_body_that_leaves_every_optional_field_out() {
        let left_out: PolicyBody = serde_json::from_str(r#"{"require_mfa":false}"#).unwrap();
        assert_eq!(left_out, PolicyBody::default());
    }
}
