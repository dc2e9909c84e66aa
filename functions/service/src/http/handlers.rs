//! The route handlers: extract (checking the shape of ids, as the path extractors do), call
//! the domain, answer. No rules live here.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;

use super::extract::{
    ApiJson, ApiPath, KeyPath, OrgPath, PhoneChangePath, SignInPath, UserItemPath, UserPath,
};
use super::problem::{ApiError, Problem};
use super::wire;
use super::AppState;
use crate::api::*;
use crate::domain::{Error, WebhookAnswer};
use crate::ids::{FactorId, LoginId};
use crate::sns_verify::SnsError;

type Shared = State<Arc<AppState>>;
type Answer<T> = Result<T, ApiError>;

/// The step-up token header.
pub const STEP_UP_HEADER: &str = "step-up-token";

fn step_up_token(headers: &HeaderMap) -> Option<&str> {
    headers.get(STEP_UP_HEADER).and_then(|v| v.to_str().ok())
}

/// Enroll a factor; next to an active one, only with a step-up token for `add_factor`.
#[utoipa::path(post, path = "/v1/users/{user}/factors", tag = "enroll",
    params(("user" = String, Path, description = "your user id"),
        ("Step-Up-Token" = Option<String>, Header, description = "when the user has an active factor: a step-up token for `add_factor`, proved by any active factor or a recovery code; used once")),
    request_body = EnrollRequest,
    responses(
        (status = 201, description = "the pending factor", body = EnrollResponse),
        (status = 400, response = Problem), (status = 403, response = Problem),
        (status = 409, response = Problem), (status = 429, response = Problem), (status = 502, response = Problem),
    ),
    security(("api_key" = [])))]
pub async fn enroll(
    State(s): Shared,
    ApiPath(p): ApiPath<UserPath>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<EnrollRequest>,
) -> Answer<(StatusCode, Json<EnrollResponse>)> {
    let enrolled = s.mfa.enroll(&p.user()?, body.into(), step_up_token(&headers)).await?;
    Ok((StatusCode::CREATED, Json(enrolled.into())))
}

/// Activate a pending factor with a code from it.
#[utoipa::path(post, path = "/v1/users/{user}/factors/{id}/activate", tag = "enroll",
    params(("user" = String, Path), ("id" = String, Path, description = "factor id")),
    request_body = ProofRequest,
    responses(
        (status = 200, description = "the active factor; recovery codes with the first", body = ActivateResponse),
        (status = 400, response = Problem), (status = 403, response = Problem), (status = 404, response = Problem),
        (status = 409, response = Problem), (status = 410, response = Problem), (status = 429, response = Problem),
    ),
    security(("api_key" = [])))]
pub async fn activate(
    State(s): Shared,
    ApiPath(p): ApiPath<UserItemPath>,
    ApiJson(body): ApiJson<ProofRequest>,
) -> Answer<Json<ActivateResponse>> {
    let (user, id) = p.factor()?;
    Ok(Json(s.mfa.activate(&user, &id, &wire::proof(body)?).await?.into()))
}

/// List a user's factors.
#[utoipa::path(get, path = "/v1/users/{user}/factors", tag = "manage",
    params(("user" = String, Path)),
    responses((status = 200, description = "the user's factors", body = FactorList)),
    security(("api_key" = [])))]
pub async fn list(State(s): Shared, ApiPath(p): ApiPath<UserPath>) -> Answer<Json<FactorList>> {
    let factors = s.mfa.list(&p.user()?).await?;
    Ok(Json(FactorList { factors: wire::factor_views(&factors) }))
}

/// Delete a factor; an active one needs a step-up token for `delete_factor` of it, proved by
/// itself.
#[utoipa::path(delete, path = "/v1/users/{user}/factors/{id}", tag = "manage",
    params(("user" = String, Path), ("id" = String, Path),
        ("Step-Up-Token" = Option<String>, Header, description = "for an active factor: a step-up token for `delete_factor` of this factor, proved by this factor; used once")),
    responses((status = 204, description = "deleted"), (status = 403, response = Problem), (status = 404, response = Problem)),
    security(("api_key" = [])))]
pub async fn delete(
    State(s): Shared,
    ApiPath(p): ApiPath<UserItemPath>,
    headers: HeaderMap,
) -> Answer<StatusCode> {
    let (user, id) = p.factor()?;
    s.mfa.delete(&user, &id, step_up_token(&headers)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace the user's recovery codes; needs a step-up token for `new_recovery_codes`.
#[utoipa::path(post, path = "/v1/users/{user}/recovery-codes", tag = "manage",
    params(("user" = String, Path),
        ("Step-Up-Token" = Option<String>, Header, description = "a step-up token for `new_recovery_codes`, proved by any active factor (not a recovery code); used once")),
    responses((status = 201, description = "the new codes, shown once; the old ones no longer work", body = RecoveryCodesResponse), (status = 403, response = Problem)),
    security(("api_key" = [])))]
pub async fn new_recovery_codes(
    State(s): Shared,
    ApiPath(p): ApiPath<UserPath>,
    headers: HeaderMap,
) -> Answer<(StatusCode, Json<RecoveryCodesResponse>)> {
    let codes = s.mfa.new_recovery_codes(&p.user()?, step_up_token(&headers)).await?;
    Ok((StatusCode::CREATED, Json(RecoveryCodesResponse { recovery_codes: codes })))
}

/// Start changing an SMS factor's number, with a step-up token for `change_phone` of it (proved
/// by a code to the old number): a code goes to the new number.
#[utoipa::path(post, path = "/v1/users/{user}/factors/{id}/phone-change", tag = "manage",
    params(("user" = String, Path), ("id" = String, Path, description = "SMS factor id"),
        ("Step-Up-Token" = Option<String>, Header, description = "a step-up token for `change_phone` of this factor, proved by this factor; used once")),
    request_body = PhoneChangeRequest,
    responses((status = 202, description = "a code went to the new number: the challenge to verify", body = PhoneChangeResponse), (status = 400, response = Problem),
        (status = 403, response = Problem), (status = 404, response = Problem),
        (status = 409, response = Problem), (status = 429, response = Problem), (status = 502, response = Problem)),
    security(("api_key" = [])))]
pub async fn start_phone_change(
    State(s): Shared,
    ApiPath(p): ApiPath<UserItemPath>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PhoneChangeRequest>,
) -> Answer<(StatusCode, Json<PhoneChangeResponse>)> {
    let (user, id) = p.factor()?;
    let token = step_up_token(&headers);
    let started = s.mfa.start_phone_change(&user, &id, &body.phone, token).await?;
    Ok((StatusCode::ACCEPTED, Json(started.into())))
}

/// Finish a phone change with the code sent to the new number.
#[utoipa::path(post, path = "/v1/users/{user}/factors/{id}/phone-change/{challenge}", tag = "manage",
    params(("user" = String, Path), ("id" = String, Path), ("challenge" = String, Path)),
    request_body = CodeRequest,
    responses(
        (status = 200, description = "the next step, or the factor with its new number", body = PhoneChangeResponse), (status = 400, response = Problem), (status = 404, response = Problem),
        (status = 409, response = Problem), (status = 410, response = Problem), (status = 429, response = Problem),
    ),
    security(("api_key" = [])))]
pub async fn continue_phone_change(
    State(s): Shared,
    ApiPath(p): ApiPath<PhoneChangePath>,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Answer<Json<PhoneChangeResponse>> {
    let (user, id, challenge) = p.ids()?;
    Ok(Json(s.mfa.continue_phone_change(&user, &id, &challenge, &body.code).await?.into()))
}

/// A user's latest audit events (admin scope).
#[utoipa::path(get, path = "/v1/admin/users/{user}/audit", tag = "admin",
    params(("user" = String, Path)),
    responses((status = 200, description = "up to 100 events, newest first", body = AuditList),
        (status = 403, response = Problem)),
    security(("api_key" = [])))]
pub async fn admin_audit(
    State(s): Shared,
    ApiPath(p): ApiPath<UserPath>,
) -> Answer<Json<AuditList>> {
    Ok(Json(wire::audit_list(s.mfa.admin_audit(&p.user()?).await?)))
}

/// Decide what follows the password.
#[utoipa::path(post, path = "/v1/users/{user}/login", tag = "verify",
    params(("user" = String, Path)),
    request_body = LoginRequest,
    responses((status = 200, description = "what the login needs next", body = LoginResponse), (status = 403, response = Problem)),
    security(("api_key" = [])))]
pub async fn login(
    State(s): Shared,
    ApiPath(p): ApiPath<UserPath>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Answer<Json<LoginResponse>> {
    let user = p.user()?;
    let decision = s.mfa.login(&user, body.auth_method, body.mfa_token.as_deref()).await?;
    Ok(Json(decision.into()))
}

/// Challenge one of the user's active factors.
#[utoipa::path(post, path = "/v1/users/{user}/challenges", tag = "verify",
    params(("user" = String, Path)),
    request_body = ChallengeRequest,
    responses((status = 201, description = "the challenge: its id, expiry and how the proof reaches the user", body = ChallengeResponse), (status = 400, response = Problem), (status = 403, response = Problem), (status = 404, response = Problem),
        (status = 409, response = Problem), (status = 410, response = Problem), (status = 429, response = Problem), (status = 502, response = Problem)),
    security(("api_key" = [])))]
pub async fn challenge(
    State(s): Shared,
    ApiPath(p): ApiPath<UserPath>,
    ApiJson(body): ApiJson<ChallengeRequest>,
) -> Answer<(StatusCode, Json<ChallengeResponse>)> {
    let login = LoginId::parse(&body.login_id)?;
    let factor = FactorId::parse(&body.factor_id)?;
    let challenged = s.mfa.challenge(&p.user()?, &login, &factor, body.delivery).await?;
    Ok((StatusCode::CREATED, Json(challenged.into())))
}

/// Answer a challenge with a code.
#[utoipa::path(post, path = "/v1/users/{user}/challenges/{id}/verify", tag = "verify",
    params(("user" = String, Path), ("id" = String, Path, description = "challenge id")),
    request_body = ProofRequest,
    responses(
        (status = 200, description = "the MFA token", body = TokenResponse), (status = 400, response = Problem), (status = 404, response = Problem),
        (status = 409, response = Problem), (status = 410, response = Problem), (status = 429, response = Problem),
    ),
    security(("api_key" = [])))]
pub async fn verify(
    State(s): Shared,
    ApiPath(p): ApiPath<UserItemPath>,
    ApiJson(body): ApiJson<ProofRequest>,
) -> Answer<Json<TokenResponse>> {
    let (user, id) = p.challenge()?;
    Ok(Json(s.mfa.verify(&user, &id, &wire::proof(body)?).await?.into()))
}

/// Sign in with a recovery code.
#[utoipa::path(post, path = "/v1/users/{user}/recovery-codes/verify", tag = "verify",
    params(("user" = String, Path)),
    request_body = RecoveryVerifyRequest,
    responses((status = 200, description = "the MFA token and how many codes are left", body = RecoveryVerifyResponse), (status = 400, response = Problem),
        (status = 404, response = Problem), (status = 429, response = Problem)),
    security(("api_key" = [])))]
pub async fn verify_recovery(
    State(s): Shared,
    ApiPath(p): ApiPath<UserPath>,
    ApiJson(body): ApiJson<RecoveryVerifyRequest>,
) -> Answer<Json<RecoveryVerifyResponse>> {
    let login = body.login_id.as_deref().map(LoginId::parse).transpose()?;
    let used = s.mfa.verify_recovery(&p.user()?, &body.code, login.as_ref(), body.step_up).await?;
    Ok(Json(used.into()))
}

/// Start a step-up for one change: a challenge of the factor that proves it.
#[utoipa::path(post, path = "/v1/users/{user}/step-ups", tag = "verify",
    params(("user" = String, Path)),
    request_body = StepUpRequest,
    responses((status = 201, description = "the step-up challenge", body = ChallengeResponse), (status = 400, response = Problem),
        (status = 404, response = Problem), (status = 409, response = Problem), (status = 429, response = Problem), (status = 502, response = Problem)),
    security(("api_key" = [])))]
pub async fn start_step_up(
    State(s): Shared,
    ApiPath(p): ApiPath<UserPath>,
    ApiJson(body): ApiJson<StepUpRequest>,
) -> Answer<(StatusCode, Json<ChallengeResponse>)> {
    let delivery = body.delivery;
    let (wanted, with) = wire::step_up(body)?;
    let challenged = s.mfa.start_step_up(&p.user()?, wanted, &with, delivery).await?;
    Ok((StatusCode::CREATED, Json(challenged.into())))
}

/// Answer a step-up challenge: the step-up token for its change.
#[utoipa::path(post, path = "/v1/users/{user}/step-ups/{id}/verify", tag = "verify",
    params(("user" = String, Path), ("id" = String, Path, description = "step-up challenge id")),
    request_body = ProofRequest,
    responses(
        (status = 200, description = "the step-up token", body = StepUpResponse), (status = 400, response = Problem), (status = 404, response = Problem),
        (status = 409, response = Problem), (status = 410, response = Problem), (status = 429, response = Problem),
    ),
    security(("api_key" = [])))]
pub async fn finish_step_up(
    State(s): Shared,
    ApiPath(p): ApiPath<UserItemPath>,
    ApiJson(body): ApiJson<ProofRequest>,
) -> Answer<Json<StepUpResponse>> {
    let (user, id) = p.challenge()?;
    Ok(Json(s.mfa.finish_step_up(&user, &id, &wire::proof(body)?).await?.into()))
}

/// Start a passwordless sign-in: any discoverable passkey of this site may answer.
#[utoipa::path(post, path = "/v1/passkey-sign-ins", tag = "verify",
    responses((status = 201, description = "the request options for navigator.credentials.get()", body = PasskeySignInResponse), (status = 400, response = Problem)),
    security(("api_key" = [])))]
pub async fn start_passkey_sign_in(
    State(s): Shared,
) -> Answer<(StatusCode, Json<PasskeySignInResponse>)> {
    Ok((StatusCode::CREATED, Json(s.mfa.start_passkey_sign_in().await?.into())))
}

/// Finish a passwordless sign-in with the passkey's assertion: whose passkey it was, and their
/// MFA token.
#[utoipa::path(post, path = "/v1/passkey-sign-ins/{id}/verify", tag = "verify",
    params(("id" = String, Path, description = "passkey sign-in id")),
    request_body = CredentialRequest,
    responses(
        (status = 200, description = "the signed-in user and the MFA token", body = PasskeySignedInResponse), (status = 400, response = Problem),
        (status = 404, response = Problem), (status = 409, response = Problem), (status = 410, response = Problem),
        (status = 429, response = Problem),
    ),
    security(("api_key" = [])))]
pub async fn verify_passkey_sign_in(
    State(s): Shared,
    ApiPath(p): ApiPath<SignInPath>,
    ApiJson(body): ApiJson<CredentialRequest>,
) -> Answer<Json<PasskeySignedInResponse>> {
    Ok(Json(s.mfa.finish_passkey_sign_in(&p.id()?, &body.credential).await?.into()))
}

/// The public keys that sign MFA tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "verify",
    responses((status = 200, description = "JWKS (RFC 7517)")))]
pub async fn jwks(State(s): Shared) -> Json<serde_json::Value> {
    Json(s.mfa.jwks())
}

/// Administration: reset (remove) a user's factor without step-up, and clear their lockout.
#[utoipa::path(delete, path = "/v1/admin/users/{user}/factors/{id}", tag = "admin",
    params(("user" = String, Path), ("id" = String, Path)),
    responses((status = 204, description = "removed"), (status = 403, response = Problem),
        (status = 404, response = Problem), (status = 409, response = Problem)),
    security(("api_key" = [])))]
pub async fn admin_reset_factor(
    State(s): Shared,
    ApiPath(p): ApiPath<UserItemPath>,
) -> Answer<StatusCode> {
    let (user, id) = p.factor()?;
    s.mfa.admin_reset_factor(&user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Administration: clear a user's lockout.
#[utoipa::path(post, path = "/v1/admin/users/{user}/unlock", tag = "admin",
    params(("user" = String, Path)),
    responses((status = 204, description = "unlocked"), (status = 403, response = Problem)),
    security(("api_key" = [])))]
pub async fn admin_unlock(State(s): Shared, ApiPath(p): ApiPath<UserPath>) -> Answer<StatusCode> {
    s.mfa.admin_unlock(&p.user()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Administration: set an organisation's MFA policy.
#[utoipa::path(put, path = "/v1/admin/orgs/{org}/policy", tag = "admin",
    params(("org" = String, Path)),
    request_body = PolicyBody,
    responses((status = 200, description = "the policy now in force", body = PolicyBody), (status = 400, response = Problem), (status = 403, response = Problem)),
    security(("api_key" = [])))]
pub async fn admin_set_policy(
    State(s): Shared,
    ApiPath(p): ApiPath<OrgPath>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> Answer<Json<PolicyBody>> {
    Ok(Json(s.mfa.admin_set_policy(&p.org()?, body.into()).await?.into()))
}

/// Administration: set the orgs a user belongs to, whose policies their sign-ins follow.
#[utoipa::path(put, path = "/v1/admin/users/{user}/orgs", tag = "admin",
    params(("user" = String, Path)),
    request_body = MembershipsBody,
    responses((status = 200, description = "the user's orgs now", body = MembershipsBody), (status = 400, response = Problem), (status = 403, response = Problem)),
    security(("api_key" = [])))]
pub async fn admin_set_memberships(
    State(s): Shared,
    ApiPath(p): ApiPath<UserPath>,
    ApiJson(body): ApiJson<MembershipsBody>,
) -> Answer<Json<MembershipsBody>> {
    let orgs = wire::memberships(body)?;
    Ok(Json(wire::memberships_body(&s.mfa.admin_set_memberships(&p.user()?, orgs).await?)))
}

/// Administration: the orgs a user belongs to.
#[utoipa::path(get, path = "/v1/admin/users/{user}/orgs", tag = "admin",
    params(("user" = String, Path)),
    responses((status = 200, description = "the user's orgs", body = MembershipsBody), (status = 403, response = Problem)),
    security(("api_key" = [])))]
pub async fn admin_memberships(
    State(s): Shared,
    ApiPath(p): ApiPath<UserPath>,
) -> Answer<Json<MembershipsBody>> {
    Ok(Json(wire::memberships_body(&s.mfa.admin_memberships(&p.user()?).await?)))
}

/// Administration: a new API key for an app; the key is in the answer, once.
#[utoipa::path(post, path = "/v1/admin/api-keys", tag = "admin",
    request_body = NewKeyRequest,
    responses((status = 201, description = "the new key, shown once", body = NewKeyResponse), (status = 400, response = Problem)),
    security(("api_key" = [])))]
pub async fn admin_create_key(
    State(s): Shared,
    ApiJson(body): ApiJson<NewKeyRequest>,
) -> Answer<(StatusCode, Json<NewKeyResponse>)> {
    let (record, key) = s.mfa.admin_create_key(&body.app, body.scopes).await?;
    Ok((StatusCode::CREATED, Json(NewKeyResponse { view: KeyView::from(&record), key })))
}

/// Administration: every app key (never a key).
#[utoipa::path(get, path = "/v1/admin/api-keys", tag = "admin",
    responses((status = 200, description = "the keys, never their secrets", body = KeyList)),
    security(("api_key" = [])))]
pub async fn admin_keys(State(s): Shared) -> Answer<Json<KeyList>> {
    let keys = s.mfa.admin_keys().await?;
    Ok(Json(KeyList { keys: keys.iter().map(KeyView::from).collect() }))
}

/// Administration: revoke an app key.
#[utoipa::path(delete, path = "/v1/admin/api-keys/{id}", tag = "admin",
    params(("id" = String, Path, description = "key id")),
    responses((status = 204, description = "revoked"), (status = 404, response = Problem)),
    security(("api_key" = [])))]
pub async fn admin_revoke_key(
    State(s): Shared,
    ApiPath(p): ApiPath<KeyPath>,
) -> Answer<StatusCode> {
    s.mfa.admin_revoke_key(&p.id()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Administration: an organisation's MFA policy.
#[utoipa::path(get, path = "/v1/admin/orgs/{org}/policy", tag = "admin",
    params(("org" = String, Path)),
    responses((status = 200, description = "the org's policy", body = PolicyBody), (status = 403, response = Problem)),
    security(("api_key" = [])))]
pub async fn admin_policy(
    State(s): Shared,
    ApiPath(p): ApiPath<OrgPath>,
) -> Answer<Json<PolicyBody>> {
    Ok(Json(s.mfa.admin_policy(&p.org()?).await?.into()))
}

/// Inbound texts: AWS End User Messaging SMS publishes each text to an SNS topic, which posts it
/// here. Authenticated by SNS's signature (and the topic), not by an API key. STOP opts the
/// number out, HELP gets the help text, START opts back in; a subscription confirmation is
/// confirmed. Refused: 400 when the body is not a usable SNS message, 403 when it is not signed
/// by SNS for the inbound topic or is too old, 502 when SNS can't be reached, 503 when
/// `MFA_INBOUND_TOPIC_ARN` is not set (only mfa-local starts without it).
#[utoipa::path(post, path = "/v1/webhooks/sms", tag = "webhooks",
    request_body(content = String, content_type = "text/plain",
        description = "the SNS message JSON as SNS posts it (Notification, SubscriptionConfirmation or UnsubscribeConfirmation)"),
    responses(
        (status = 200, description = "what was done", body = WebhookAnswer),
        (status = 400, response = Problem),
        (status = 403, response = Problem),
        (status = 502, response = Problem), (status = 503, response = Problem),
    ))]
pub async fn sms_webhook(
    State(s): Shared,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Json<WebhookAnswer>> {
    let body = body?;
    let verifier = s.sms_webhook.as_ref().ok_or(Error::Webhook(SnsError::NotConfigured))?;
    Ok(Json(s.mfa.sms_webhook(verifier, &body).await?))
}
