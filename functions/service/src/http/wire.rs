//! Conversions between the wire bodies of [`crate::api`] and the domain's types: the only place
//! where the two meet. Ids go out as text; what comes in is parsed by the handlers.

use crate::api::{
    ActivateResponse, ChallengeResponse, EnrollRequest, EnrollResponse, FactorView, KeyView,
    LoginResponse, MembershipsBody, PasskeySignInResponse, PasskeySignedInResponse,
    PhoneChangeResponse, PhoneChangeStep, PolicyBody, ProofRequest, RecoveryVerifyResponse,
    StepUpRequest, StepUpResponse, TokenResponse,
};
use crate::domain::answers::{
    Activated, Challenged, Enrolled, IssuedToken, LoginDecision, PasskeyChallenge, PasskeySignedIn,
    PhoneChange, RecoveryUsed,
};
use crate::domain::{Error, NewFactor, Proof, StepUpFor};
use crate::ids::{BadId, FactorId, OrgId};
use crate::model::{AppKey, Factor, Method, OrgPolicy};

/// The proof in an activate or verify body: a code or a credential, not both, not neither.
pub fn proof(body: ProofRequest) -> Result<Proof, Error> {
    match (body.code, body.credential) {
        (Some(code), None) => Ok(Proof::Code(code)),
        (None, Some(credential)) => Ok(Proof::Credential(credential)),
        _ => Err(Error::BadRequest(
            "send either `code` (a one-time code) or `credential` (a security key's or passkey's answer)"
                .into(),
        )),
    }
}

impl From<EnrollRequest> for NewFactor {
    fn from(request: EnrollRequest) -> Self {
        match request {
            EnrollRequest::Totp { label, account_name } => NewFactor::Totp { label, account_name },
            EnrollRequest::Sms { phone, label, delivery } => {
                NewFactor::Sms { phone, label, delivery }
            }
            EnrollRequest::Email { email, label } => NewFactor::Email { email, label },
            EnrollRequest::Webauthn { kind, label } => NewFactor::Webauthn { kind, label },
        }
    }
}

fn mask_phone(phone: &str) -> String {
    format!("••• ••{}", &phone[phone.len().saturating_sub(2)..])
}

fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            format!("{}•••@{domain}", local.chars().next().map(String::from).unwrap_or_default())
        }
        None => "•••".to_owned(),
    }
}

impl From<&Factor> for FactorView {
    fn from(f: &Factor) -> Self {
        Self {
            id: f.id.to_string(),
            kind: f.kind(),
            status: f.status,
            label: f.label.clone(),
            created_at: f.created_at,
            activated_at: f.activated_at,
            webauthn_kind: match &f.method {
                Method::Webauthn { kind, .. } => Some(*kind),
                _ => None,
            },
            hint: match &f.method {
                Method::Totp { .. } | Method::Webauthn { .. } => None,
                Method::Sms { phone, .. } => Some(mask_phone(phone)),
                Method::Email { email, .. } => Some(mask_email(email)),
            },
        }
    }
}

impl From<OrgPolicy> for PolicyBody {
    fn from(p: OrgPolicy) -> Self {
        Self {
            require_mfa: p.require_mfa,
            grace_logins: p.grace_logins,
            allowed_factors: p.allowed_factors,
            max_factors: p.max_factors,
            sso_exempt: p.sso_exempt,
            token_ttl_seconds: p.token_ttl_seconds,
            notices: p.notices,
        }
    }
}

impl From<PolicyBody> for OrgPolicy {
    fn from(b: PolicyBody) -> Self {
        Self {
            require_mfa: b.require_mfa,
            grace_logins: b.grace_logins,
            allowed_factors: b.allowed_factors,
            max_factors: b.max_factors,
            sso_exempt: b.sso_exempt,
            token_ttl_seconds: b.token_ttl_seconds,
            notices: b.notices,
        }
    }
}

/// The org ids of a memberships body.
pub fn memberships(body: MembershipsBody) -> Result<Vec<OrgId>, BadId> {
    body.orgs.iter().map(|org| OrgId::parse(org)).collect()
}

/// The memberships body of org ids.
pub fn memberships_body(orgs: &[OrgId]) -> MembershipsBody {
    MembershipsBody { orgs: orgs.iter().map(ToString::to_string).collect() }
}

/// The audit events as callers see them.
pub fn audit_list(events: Vec<crate::model::AuditEvent>) -> crate::api::AuditList {
    let events = events
        .into_iter()
        .map(|e| crate::api::AuditEvent {
            id: e.id,
            user: e.user.to_string(),
            at: e.at,
            action: e.action,
            factor_id: e.factor_id.map(|f| f.to_string()),
            app: e.app,
        })
        .collect();
    crate::api::AuditList { events }
}

/// The factors as callers see them.
pub fn factor_views(factors: &[Factor]) -> Vec<FactorView> {
    factors.iter().map(FactorView::from).collect()
}

impl From<Enrolled> for EnrollResponse {
    fn from(e: Enrolled) -> Self {
        let (secret, otpauth_uri, qr_svg) = match e.app_setup {
            Some(setup) => (Some(setup.secret), Some(setup.otpauth_uri), Some(setup.qr_svg)),
            None => (None, None, None),
        };
        Self {
            factor: FactorView::from(&e.factor),
            secret,
            otpauth_uri,
            qr_svg,
            code_expires_at: e.code_expires_at,
            creation_options: e.creation_options,
        }
    }
}

impl From<Activated> for ActivateResponse {
    fn from(a: Activated) -> Self {
        Self { factor: FactorView::from(&a.factor), recovery_codes: a.recovery_codes }
    }
}

impl From<LoginDecision> for LoginResponse {
    fn from(d: LoginDecision) -> Self {
        Self {
            decision: d.decision,
            login_id: d.login_id.to_string(),
            factors: factor_views(&d.factors),
        }
    }
}

impl From<Challenged> for ChallengeResponse {
    fn from(c: Challenged) -> Self {
        Self {
            challenge_id: c.challenge_id.to_string(),
            expires_at: c.expires_at,
            delivery: c.delivery.to_owned(),
            request_options: c.request_options,
        }
    }
}

impl From<IssuedToken> for TokenResponse {
    fn from(t: IssuedToken) -> Self {
        Self { mfa_token: t.token, expires_at: t.expires_at }
    }
}

impl From<RecoveryUsed> for RecoveryVerifyResponse {
    fn from(r: RecoveryUsed) -> Self {
        Self {
            mfa_token: r.token.token,
            expires_at: r.token.expires_at,
            remaining: r.remaining,
            step_up_token: r.step_up.map(|t| t.token),
        }
    }
}

impl From<IssuedToken> for StepUpResponse {
    fn from(t: IssuedToken) -> Self {
        Self { step_up_token: t.token, expires_at: t.expires_at }
    }
}

/// What a step-up request asks for, and the factor that proves it.
pub fn step_up(body: StepUpRequest) -> Result<(StepUpFor, FactorId), BadId> {
    let target = body.factor_id.as_deref().map(FactorId::parse).transpose()?;
    let with = FactorId::parse(&body.with_factor_id)?;
    Ok((StepUpFor { operation: body.operation, target }, with))
}

impl From<PasskeyChallenge> for PasskeySignInResponse {
    fn from(c: PasskeyChallenge) -> Self {
        Self {
            challenge_id: c.challenge_id.to_string(),
            expires_at: c.expires_at,
            request_options: c.request_options,
        }
    }
}

impl From<PasskeySignedIn> for PasskeySignedInResponse {
    fn from(s: PasskeySignedIn) -> Self {
        Self { user: s.user.to_string(), mfa_token: s.token.token, expires_at: s.token.expires_at }
    }
}

impl From<PhoneChange> for PhoneChangeResponse {
    fn from(change: PhoneChange) -> Self {
        match change {
            PhoneChange::VerifyNewNumber { challenge_id, expires_at } => Self {
                step: PhoneChangeStep::VerifyNewNumber,
                challenge_id: Some(challenge_id.to_string()),
                expires_at: Some(expires_at),
                factor: None,
            },
            PhoneChange::Changed { factor } => Self {
                step: PhoneChangeStep::Changed,
                challenge_id: None,
                expires_at: None,
                factor: Some(FactorView::from(&factor)),
            },
        }
    }
}

impl From<&AppKey> for KeyView {
    fn from(k: &AppKey) -> Self {
        Self {
            id: k.id.to_string(),
            app: k.app.clone(),
            scopes: k.scopes.clone(),
            created_at: k.created_at,
        }
    }
}
