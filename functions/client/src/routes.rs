//! One method per route of HTTP API v1, in the order of the service's function groups. Ids are
//! the caller's strings; each is percent-encoded into its path segment.

use reqwest::Method;

use crate::api::*;
use crate::{seg, Client, Error};

/// `Result` of a call.
type Answer<T> = Result<T, Error>;

impl Client {
    // --- enroll ---------------------------------------------------------------------------------

    /// `POST /v1/users/{user}/factors`: enroll a factor; next to an active one, with a step-up
    /// token for `add_factor`.
    pub async fn enroll(
        &self,
        user: &str,
        factor: &EnrollRequest,
        step_up: Option<&str>,
    ) -> Answer<EnrollResponse> {
        let path = format!("/v1/users/{}/factors", seg(user));
        self.call(Method::POST, &path, Some(factor), step_up).await
    }

    /// `POST /v1/users/{user}/factors/{id}/activate`: activate a pending factor with a code
    /// from it (or a WebAuthn credential).
    pub async fn activate(
        &self,
        user: &str,
        factor: &str,
        proof: &ProofRequest,
    ) -> Answer<ActivateResponse> {
        let path = format!("/v1/users/{}/factors/{}/activate", seg(user), seg(factor));
        self.call(Method::POST, &path, Some(proof), None).await
    }

    // --- verify ---------------------------------------------------------------------------------

    /// `POST /v1/users/{user}/login`: what follows the password.
    pub async fn login(&self, user: &str, login: &LoginRequest) -> Answer<LoginResponse> {
        let path = format!("/v1/users/{}/login", seg(user));
        self.call(Method::POST, &path, Some(login), None).await
    }

    /// `POST /v1/users/{user}/challenges`: challenge one of the user's active factors.
    pub async fn challenge(
        &self,
        user: &str,
        challenge: &ChallengeRequest,
    ) -> Answer<ChallengeResponse> {
        let path = format!("/v1/users/{}/challenges", seg(user));
        self.call(Method::POST, &path, Some(challenge), None).await
    }

    /// `POST /v1/users/{user}/challenges/{id}/verify`: answer a challenge; the MFA token.
    pub async fn verify(
        &self,
        user: &str,
        challenge: &str,
        proof: &ProofRequest,
    ) -> Answer<TokenResponse> {
        let path = format!("/v1/users/{}/challenges/{}/verify", seg(user), seg(challenge));
        self.call(Method::POST, &path, Some(proof), None).await
    }

    /// `POST /v1/users/{user}/recovery-codes/verify`: sign in (or step up) with a recovery code.
    pub async fn verify_recovery(
        &self,
        user: &str,
        code: &RecoveryVerifyRequest,
    ) -> Answer<RecoveryVerifyResponse> {
        let path = format!("/v1/users/{}/recovery-codes/verify", seg(user));
        self.call(Method::POST, &path, Some(code), None).await
    }

    /// `POST /v1/users/{user}/step-ups`: start a step-up for one change.
    pub async fn start_step_up(
        &self,
        user: &str,
        step_up: &StepUpRequest,
    ) -> Answer<ChallengeResponse> {
        let path = format!("/v1/users/{}/step-ups", seg(user));
        self.call(Method::POST, &path, Some(step_up), None).await
    }

    /// `POST /v1/users/{user}/step-ups/{id}/verify`: answer a step-up; the step-up token.
    pub async fn finish_step_up(
        &self,
        user: &str,
        step_up: &str,
        proof: &ProofRequest,
    ) -> Answer<StepUpResponse> {
        let path = format!("/v1/users/{}/step-ups/{}/verify", seg(user), seg(step_up));
        self.call(Method::POST, &path, Some(proof), None).await
    }

    /// `POST /v1/passkey-sign-ins`: start a passwordless sign-in.
    pub async fn start_passkey_sign_in(&self) -> Answer<PasskeySignInResponse> {
        self.call(Method::POST, "/v1/passkey-sign-ins", None::<&()>, None).await
    }

    /// `POST /v1/passkey-sign-ins/{id}/verify`: finish it with the passkey's assertion.
    pub async fn verify_passkey_sign_in(
        &self,
        sign_in: &str,
        credential: &CredentialRequest,
    ) -> Answer<PasskeySignedInResponse> {
        let path = format!("/v1/passkey-sign-ins/{}/verify", seg(sign_in));
        self.call(Method::POST, &path, Some(credential), None).await
    }

    /// `GET /.well-known/jwks.json`: the keys that sign MFA tokens.
    pub async fn jwks(&self) -> Answer<jsonwebtoken::jwk::JwkSet> {
        self.call(Method::GET, "/.well-known/jwks.json", None::<&()>, None).await
    }

    /// `GET /v1/openapi.json`: the API's OpenAPI document.
    pub async fn openapi(&self) -> Answer<serde_json::Value> {
        self.call(Method::GET, "/v1/openapi.json", None::<&()>, None).await
    }

    // --- manage ---------------------------------------------------------------------------------

    /// `GET /v1/users/{user}/factors`: the user's factors.
    pub async fn factors(&self, user: &str) -> Answer<FactorList> {
        let path = format!("/v1/users/{}/factors", seg(user));
        self.call(Method::GET, &path, None::<&()>, None).await
    }

    /// `DELETE /v1/users/{user}/factors/{id}`: delete a factor; an active one with a step-up
    /// token for `delete_factor` of it.
    pub async fn delete_factor(
        &self,
        user: &str,
        factor: &str,
        step_up: Option<&str>,
    ) -> Answer<()> {
        let path = format!("/v1/users/{}/factors/{}", seg(user), seg(factor));
        self.call_empty(Method::DELETE, &path, step_up).await
    }

    /// `POST /v1/users/{user}/recovery-codes`: a new set, with a step-up token for
    /// `new_recovery_codes`.
    pub async fn new_recovery_codes(
        &self,
        user: &str,
        step_up: Option<&str>,
    ) -> Answer<RecoveryCodesResponse> {
        let path = format!("/v1/users/{}/recovery-codes", seg(user));
        self.call(Method::POST, &path, None::<&()>, step_up).await
    }

    /// `POST /v1/users/{user}/factors/{id}/phone-change`: start changing an SMS factor's number,
    /// with a step-up token for `change_phone` of it.
    pub async fn start_phone_change(
        &self,
        user: &str,
        factor: &str,
        change: &PhoneChangeRequest,
        step_up: Option<&str>,
    ) -> Answer<PhoneChangeResponse> {
        let path = format!("/v1/users/{}/factors/{}/phone-change", seg(user), seg(factor));
        self.call(Method::POST, &path, Some(change), step_up).await
    }

    /// `POST /v1/users/{user}/factors/{id}/phone-change/{challenge}`: the code sent to the new
    /// number.
    pub async fn continue_phone_change(
        &self,
        user: &str,
        factor: &str,
        challenge: &str,
        code: &CodeRequest,
    ) -> Answer<PhoneChangeResponse> {
        let path = format!(
            "/v1/users/{}/factors/{}/phone-change/{}",
            seg(user),
            seg(factor),
            seg(challenge)
        );
        self.call(Method::POST, &path, Some(code), None).await
    }

    // --- admin ----------------------------------------------------------------------------------

    /// `DELETE /v1/admin/users/{user}/factors/{id}`: reset (delete) a user's factor.
    pub async fn admin_reset_factor(&self, user: &str, factor: &str) -> Answer<()> {
        let path = format!("/v1/admin/users/{}/factors/{}", seg(user), seg(factor));
        self.call_empty(Method::DELETE, &path, None).await
    }

    /// `POST /v1/admin/users/{user}/unlock`: lift both of a user's lockouts.
    pub async fn admin_unlock(&self, user: &str) -> Answer<()> {
        let path = format!("/v1/admin/users/{}/unlock", seg(user));
        self.call_empty(Method::POST, &path, None).await
    }

    /// `GET /v1/admin/users/{user}/audit`: the user's latest audit events, newest first.
    pub async fn admin_audit(&self, user: &str) -> Answer<AuditList> {
        let path = format!("/v1/admin/users/{}/audit", seg(user));
        self.call(Method::GET, &path, None::<&()>, None).await
    }

    /// `PUT /v1/admin/users/{user}/orgs`: set the orgs a user belongs to.
    pub async fn admin_set_memberships(
        &self,
        user: &str,
        orgs: &MembershipsBody,
    ) -> Answer<MembershipsBody> {
        let path = format!("/v1/admin/users/{}/orgs", seg(user));
        self.call(Method::PUT, &path, Some(orgs), None).await
    }

    /// `GET /v1/admin/users/{user}/orgs`: the orgs a user belongs to.
    pub async fn admin_memberships(&self, user: &str) -> Answer<MembershipsBody> {
        let path = format!("/v1/admin/users/{}/orgs", seg(user));
        self.call(Method::GET, &path, None::<&()>, None).await
    }

    /// `PUT /v1/admin/orgs/{org}/policy`: set an org's MFA policy.
    pub async fn admin_set_policy(&self, org: &str, policy: &PolicyBody) -> Answer<PolicyBody> {
        let path = format!("/v1/admin/orgs/{}/policy", seg(org));
        self.call(Method::PUT, &path, Some(policy), None).await
    }

    /// `GET /v1/admin/orgs/{org}/policy`: an org's MFA policy.
    pub async fn admin_policy(&self, org: &str) -> Answer<PolicyBody> {
        let path = format!("/v1/admin/orgs/{}/policy", seg(org));
        self.call(Method::GET, &path, None::<&()>, None).await
    }

    /// `POST /v1/admin/api-keys`: a new API key for an app, shown once.
    pub async fn admin_create_key(&self, key: &NewKeyRequest) -> Answer<NewKeyResponse> {
        self.call(Method::POST, "/v1/admin/api-keys", Some(key), None).await
    }

    /// `GET /v1/admin/api-keys`: every app key, never its secret.
    pub async fn admin_keys(&self) -> Answer<KeyList> {
        self.call(Method::GET, "/v1/admin/api-keys", None::<&()>, None).await
    }

    /// `DELETE /v1/admin/api-keys/{id}`: revoke an app key.
    pub async fn admin_revoke_key(&self, key: &str) -> Answer<()> {
        let path = format!("/v1/admin/api-keys/{}", seg(key));
        self.call_empty(Method::DELETE, &path, None).await
    }
}
