//! WebAuthn security keys and passkeys, over `webauthn-rs`.
//!
//! Each ceremony's state stays server-side, in the challenge that the ceremony's answer must name
//! (`Answer::Webauthn`), for the challenge's short life, and is used once: the challenge is
//! consumed with one conditional write before the answer counts, so of concurrent finishes only
//! one wins, and a replayed answer finds its challenge answered.
//!
//! - Enrolling starts a registration: a security key is not discoverable and user verification is
//!   preferred; a passkey is discoverable (resident key required) and user verification is
//!   required. Keys the user already holds are excluded.
//! - Activating finishes it with the browser's credential (`navigator.credentials.create()`).
//! - A sign-in challenge of any WebAuthn factor allows every WebAuthn credential the user holds
//!   (one ceremony over security keys and passkeys alike: user verification is required when
//!   every key allowed was registered with it, preferred otherwise, and still required of each
//!   key that was registered with it). The assertion
//!   (`navigator.credentials.get()`) names the key; the key's counter and backup state are
//!   stored after each use, and a counter that went backwards (a cloned key) is refused and
//!   recorded in the audit log.
//!
//! Every step goes through the same throttle, audit log and step-up rules as other factors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    AuthenticationResult, Credential, CredentialID, DiscoverableAuthentication, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    SecurityKey, SecurityKeyAuthentication, SecurityKeyRegistration, Url, Uuid, Webauthn,
    WebauthnBuilder, WebauthnError,
};

use super::answers::{PasskeyChallenge, PasskeySignedIn};
use super::orgs::check_allowed;
use super::signin::Proven;
use super::{Error, Mfa};
use crate::config::WebauthnSettings;
use crate::ids::{ChallengeId, FactorId, UserId};
use crate::model::{
    Answer, AuditAction, Budget, Challenge, ChallengePurpose, Factor, FactorKind, FactorStatus,
    Method, PasskeySignIn, WebauthnKey, WebauthnKind,
};

/// The relying party of a deployment, from its settings; `challenge_ttl` (seconds) is also the
/// time the browser gives the user.
pub(super) fn relying_party(
    settings: &WebauthnSettings,
    challenge_ttl: u64,
) -> Result<Webauthn, WebauthnError> {
    let (first, others) = settings.origins.split_first().ok_or(WebauthnError::Configuration)?;
    let builder = WebauthnBuilder::new(&settings.rp_id, first)?
        .rp_name(&settings.rp_name)
        .timeout(std::time::Duration::from_secs(challenge_ttl));
    others.iter().fold(builder, |b, origin: &Url| b.append_allowed_origin(origin)).build()
}

/// The registration ceremony's state, as kept in the activation challenge.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RegistrationState {
    SecurityKey(SecurityKeyRegistration),
    Passkey(PasskeyRegistration),
}

/// The sign-in ceremony's state, as kept in the challenge: a passkey ceremony (user verification
/// required) when every key allowed was registered with user verification, a security-key
/// ceremony (preferred, and still required of each key registered with it) otherwise.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum AssertionState {
    SecurityKey(SecurityKeyAuthentication),
    Passkey(PasskeyAuthentication),
}

/// The user handle authenticators store with the user's credentials: the same for every key of a
/// user, derived from the user id so that nothing more needs storing.
fn user_handle(user: &UserId) -> Uuid {
    let digest = Sha256::digest(format!("mfa-webauthn-user-handle/{user}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// The user handle as the store indexes it: lower-case hex.
fn handle_text(handle: &Uuid) -> String {
    handle.simple().to_string()
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

/// Why the browser's answer was refused, as a sentence for the caller.
fn refusal(e: &WebauthnError) -> Error {
    let reason = match e {
        WebauthnError::InvalidRPOrigin => "it was made on an origin this service does not allow",
        WebauthnError::InvalidRPIDHash => "it was made for another relying party id",
        WebauthnError::MismatchedChallenge => "it answers another challenge",
        WebauthnError::CredentialNotFound => "it comes from a key this user has not enrolled here",
        WebauthnError::UserNotVerified => "the authenticator did not verify the user",
        WebauthnError::UserNotPresent => "the authenticator did not test for the user's presence",
        WebauthnError::CredentialPossibleCompromise => {
            "the key's signature counter went backwards, so it may be a clone: sign in another way and remove it"
        }
        _ => "its signature or data do not check out",
    };
    Error::CredentialRejected(format!("the security key's answer was refused: {reason}"))
}

/// The stored credentials of the user's active WebAuthn factors.
fn active_keys(factors: &[Factor]) -> impl Iterator<Item = (&Factor, &WebauthnKey)> {
    factors.iter().filter(|f| f.status == FactorStatus::Active).filter_map(|f| match &f.method {
        Method::Webauthn { key: Some(key), .. } => Some((f, key)),
        _ => None,
    })
}

/// The browser's JSON as `what`, or a 400 that says why it is not.
fn parse_json<T: serde::de::DeserializeOwned>(
    json: &serde_json::Value,
    what: &str,
) -> Result<T, Error> {
    serde_json::from_value(json.clone())
        .map_err(|e| Error::BadRequest(format!("credential is not the JSON of {what}: {e}")))
}

fn parse_credential(key: &WebauthnKey) -> Result<Credential, Error> {
    serde_json::from_str(&key.credential).map_err(internal)
}

impl Mfa {
    fn webauthn(&self) -> Result<&Webauthn, Error> {
        self.webauthn.as_ref().ok_or_else(|| {
            Error::BadRequest(
                "security keys and passkeys are not enabled (MFA_WEBAUTHN_RP_ID is not set)".into(),
            )
        })
    }

    /// Starts registering a key for `factor` (pending, not yet stored): the challenge holding the
    /// state, and the creation options for `navigator.credentials.create()`.
    pub(super) async fn start_registration(
        &self,
        factor: &Factor,
        kind: WebauthnKind,
        factors: &[Factor],
    ) -> Result<(Challenge, serde_json::Value), Error> {
        let rp = self.webauthn()?;
        let user = &factor.user;
        let exclude: Vec<CredentialID> = active_keys(factors)
            .map(|(_, key)| parse_credential(key).map(|c| c.cred_id))
            .collect::<Result<_, _>>()?;
        let handle = user_handle(user);
        let (mut options, state) = match kind {
            WebauthnKind::SecurityKey => {
                let (options, state) = rp
                    .start_securitykey_registration(
                        handle,
                        user.as_str(),
                        user.as_str(),
                        Some(exclude),
                        None,
                        None,
                    )
                    .map_err(internal)?;
                let options = serde_json::to_value(options).map_err(internal)?;
                (options, RegistrationState::SecurityKey(state))
            }
            WebauthnKind::Passkey => {
                let (options, state) = rp
                    .start_passkey_registration(handle, user.as_str(), user.as_str(), Some(exclude))
                    .map_err(internal)?;
                let options = serde_json::to_value(options).map_err(internal)?;
                (options, RegistrationState::Passkey(state))
            }
        };
        match kind {
            WebauthnKind::Passkey => {
                // Discoverable, so that it can sign in without a user name.
                let selection = &mut options["publicKey"]["authenticatorSelection"];
                selection["residentKey"] = "required".into();
                selection["requireResidentKey"] = true.into();
            }
            WebauthnKind::SecurityKey => {
                // Credential protection "user verification required" would make a key without
                // a PIN unusable, and browsers refuse it next to user verification "preferred".
                if let Some(extensions) = options["publicKey"]["extensions"].as_object_mut() {
                    extensions.remove("credentialProtectionPolicy");
                    extensions.remove("enforceCredentialProtectionPolicy");
                }
            }
        }
        let now = self.now();
        let challenge = Challenge {
            id: self.with_rng(ChallengeId::generate),
            user: user.clone(),
            factor_id: factor.id.clone(),
            created_at: now,
            expires_at: now + self.challenge_ttl,
            consumed_at: None,
            purpose: ChallengePurpose::Activation,
            answer: Answer::Webauthn { state: serde_json::to_string(&state).map_err(internal)? },
            attempts: 0,
            factor_kind: Some(factor.kind()),
        };
        self.store.insert_challenge(&challenge).await?;
        Ok((challenge, options))
    }

    /// Finishes registering `factor`'s key with the browser's credential: the key to store. The
    /// registration's challenge is used up with the activation, in its transaction.
    pub(super) async fn finish_registration(
        &self,
        factor: &Factor,
        credential: &serde_json::Value,
    ) -> Result<WebauthnKey, Error> {
        let rp = self.webauthn()?;
        let answer: RegisterPublicKeyCredential =
            parse_json(credential, "a new WebAuthn credential")?;
        let challenge = self
            .activation_challenge(factor)
            .await?
            .ok_or(Error::Conflict("the key's registration is gone: enroll it again"))?;
        let Answer::Webauthn { state } = &challenge.answer else {
            return Err(internal(format!("challenge {} holds no registration", challenge.id)));
        };
        if challenge.consumed_at.is_some() {
            return Err(Error::Conflict("this registration has already been finished"));
        }
        if challenge.expires_at <= self.now() {
            return Err(Error::Expired("registration"));
        }
        self.begin_attempt(&factor.user, Budget::SecondFactor).await?;
        let registered: Result<Credential, WebauthnError> =
            match serde_json::from_str(state).map_err(internal)? {
                RegistrationState::SecurityKey(state) => {
                    rp.finish_securitykey_registration(&answer, &state).map(Credential::from)
                }
                RegistrationState::Passkey(state) => {
                    rp.finish_passkey_registration(&answer, &state).map(Credential::from)
                }
            };
        let credential = registered.map_err(|e| {
            tracing::warn!(user = %factor.user, factor = %factor.id, error = %e, "WebAuthn registration refused");
            refusal(&e)
        })?;
        if let Method::Webauthn { kind: WebauthnKind::Passkey, .. } = factor.method {
            // A passkey: its user handle is indexed, for passwordless sign-in.
            let handle = handle_text(&user_handle(&factor.user));
            self.store.put_user_handle(&handle, &factor.user).await?;
        }
        Ok(WebauthnKey {
            credential_id: B64URL.encode(&credential.cred_id),
            credential: serde_json::to_string(&credential).map_err(internal)?,
        })
    }

    /// A sign-in challenge that any of the user's WebAuthn credentials answers: the challenge
    /// (not yet stored) and the request options for `navigator.credentials.get()`.
    pub(super) async fn start_assertion(
        &self,
        factor: &Factor,
        purpose: ChallengePurpose,
        expires_at: u64,
    ) -> Result<(Challenge, serde_json::Value), Error> {
        let rp = self.webauthn()?;
        let factors = self.store.list_factors(&factor.user).await?;
        let keys: Vec<Credential> = active_keys(&factors)
            .map(|(_, key)| parse_credential(key))
            .collect::<Result<_, _>>()?;
        if keys.is_empty() {
            return Err(Error::Conflict("the factor has no registered key"));
        }
        let (options, state) = if keys.iter().all(|k| k.user_verified) {
            let keys: Vec<Passkey> = keys.into_iter().map(Passkey::from).collect();
            let (options, state) = rp.start_passkey_authentication(&keys).map_err(internal)?;
            (options, AssertionState::Passkey(state))
        } else {
            let keys: Vec<SecurityKey> = keys.into_iter().map(SecurityKey::from).collect();
            let (options, state) = rp.start_securitykey_authentication(&keys).map_err(internal)?;
            (options, AssertionState::SecurityKey(state))
        };
        let now = self.now();
        let challenge = Challenge {
            id: self.with_rng(ChallengeId::generate),
            user: factor.user.clone(),
            factor_id: factor.id.clone(),
            created_at: now,
            expires_at,
            consumed_at: None,
            purpose,
            answer: Answer::Webauthn { state: serde_json::to_string(&state).map_err(internal)? },
            attempts: 0,
            factor_kind: Some(factor.kind()),
        };
        self.store.insert_challenge(&challenge).await?;
        Ok((challenge, serde_json::to_value(options).map_err(internal)?))
    }

    /// Checks an assertion against a challenge (already checked to be this user's, unanswered
    /// and unexpired), uses the challenge up, stores the key's new counter and backup state, and
    /// says which factor answered: `amr` `hwk`, plus `user` and `pin` when the authenticator
    /// verified the user.
    pub(super) async fn finish_assertion(
        &self,
        challenge: &Challenge,
        assertion: &serde_json::Value,
    ) -> Result<Proven, Error> {
        let rp = self.webauthn()?;
        let user = &challenge.user;
        let assertion: PublicKeyCredential = parse_json(assertion, "a WebAuthn assertion")?;
        let Answer::Webauthn { state } = &challenge.answer else {
            return Err(Error::BadRequest(
                "this challenge is answered with a code, not a credential".into(),
            ));
        };
        let state: AssertionState = serde_json::from_str(state).map_err(internal)?;
        self.begin_attempt(user, Budget::SecondFactor).await?;
        let finished = match &state {
            AssertionState::SecurityKey(s) => rp.finish_securitykey_authentication(&assertion, s),
            AssertionState::Passkey(s) => rp.finish_passkey_authentication(&assertion, s),
        };
        let result = match finished {
            Ok(result) => result,
            Err(e) => return Err(self.refused(user, &challenge.factor_id, e).await),
        };
        let factors = self.store.list_factors(user).await?;
        let used = B64URL.encode(result.cred_id());
        let (factor, key) =
            active_keys(&factors).find(|(_, key)| key.credential_id == used).ok_or_else(|| {
                Error::CredentialRejected("the key that answered is no longer enrolled".into())
            })?;
        if !self.store.consume_challenge(&challenge.id, self.now()).await? {
            return Err(Error::Conflict("the challenge has already been answered"));
        }
        self.accepted(factor, key, &result).await
    }

    /// Records a refused assertion (a regressed counter as such) and says why it was refused.
    async fn refused(&self, user: &UserId, factor: &FactorId, e: WebauthnError) -> Error {
        let action = match e {
            WebauthnError::CredentialPossibleCompromise => AuditAction::WebauthnCounterRegressed,
            _ => AuditAction::VerifyFailed,
        };
        tracing::warn!(user = %user, factor = %factor, error = %e, "WebAuthn assertion refused");
        self.audit(user, action, Some(factor)).await;
        refusal(&e)
    }

    /// After an accepted assertion of `factor`'s `key` (its ceremony used up): stores the key's
    /// new counter and backup state, and says what was proved.
    async fn accepted(
        &self,
        factor: &Factor,
        key: &WebauthnKey,
        result: &AuthenticationResult,
    ) -> Result<Proven, Error> {
        let user = &factor.user;
        let mut stored = SecurityKey::from(parse_credential(key)?);
        if stored.update_credential(result) == Some(true) {
            let updated = serde_json::to_string(&Credential::from(stored)).map_err(internal)?;
            if !self.store.update_webauthn_key(user, &factor.id, &key.credential, &updated).await? {
                tracing::warn!(user = %user, factor = %factor.id, "WebAuthn counter not stored: the key was used meanwhile");
            }
        }
        self.store.succeed(user, Budget::SecondFactor).await?;
        let amr = if result.user_verified() { vec!["hwk", "user", "pin"] } else { vec!["hwk"] };
        Ok(Proven { factor_id: factor.id.clone(), amr })
    }

    /// Starts a passwordless sign-in: a ceremony that any discoverable passkey of this site may
    /// answer, before anyone knows whose it is.
    pub async fn start_passkey_sign_in(&self) -> Result<PasskeyChallenge, Error> {
        let rp = self.webauthn()?;
        let (options, state) = rp.start_discoverable_authentication().map_err(internal)?;
        let now = self.now();
        let sign_in = PasskeySignIn {
            id: self.with_rng(ChallengeId::generate),
            created_at: now,
            expires_at: now + self.challenge_ttl,
            consumed_at: None,
            state: serde_json::to_string(&state).map_err(internal)?,
        };
        self.store.insert_passkey_sign_in(&sign_in).await?;
        Ok(PasskeyChallenge {
            challenge_id: sign_in.id,
            expires_at: sign_in.expires_at,
            request_options: serde_json::to_value(options).map_err(internal)?,
        })
    }

    /// Finishes a passwordless sign-in with the passkey's assertion: the user it names (by its
    /// user handle) and their MFA token, the proof of a whole sign-in (`amr` `hwk`, `user`,
    /// `pin`: passkeys verify their user).
    pub async fn finish_passkey_sign_in(
        &self,
        id: &ChallengeId,
        assertion: &serde_json::Value,
    ) -> Result<PasskeySignedIn, Error> {
        let rp = self.webauthn()?;
        let assertion: PublicKeyCredential = parse_json(assertion, "a WebAuthn assertion")?;
        let sign_in =
            self.store.get_passkey_sign_in(id).await?.ok_or(Error::NotFound("passkey sign-in"))?;
        if sign_in.consumed_at.is_some() {
            return Err(Error::Conflict("the passkey sign-in has already been answered"));
        }
        if sign_in.expires_at <= self.now() {
            return Err(Error::Expired("passkey sign-in"));
        }
        let unknown = || Error::CredentialRejected("the passkey is not enrolled here".into());
        let (handle, credential_id) = rp
            .identify_discoverable_authentication(&assertion)
            .map_err(|_| Error::BadRequest("the assertion names no user (no userHandle)".into()))?;
        let user = self.store.user_of_handle(&handle_text(&handle)).await?.ok_or_else(unknown)?;
        let used = B64URL.encode(credential_id);
        let factors = self.store.list_factors(&user).await?;
        let (factor, key) =
            active_keys(&factors).find(|(_, key)| key.credential_id == used).ok_or_else(unknown)?;
        let rules = self.policy_of(&user).await?.strictest;
        check_allowed(rules.allowed_factors.as_deref(), FactorKind::Webauthn)?;
        self.begin_attempt(&user, Budget::SecondFactor).await?;
        let state: DiscoverableAuthentication =
            serde_json::from_str(&sign_in.state).map_err(internal)?;
        let passkey = Passkey::from(parse_credential(key)?);
        let result = match rp.finish_discoverable_authentication_v2(&assertion, state, &passkey) {
            Ok(result) => result,
            Err(e) => return Err(self.refused(&user, &factor.id, e).await),
        };
        if !self.store.consume_passkey_sign_in(id, self.now()).await? {
            return Err(Error::Conflict("the passkey sign-in has already been answered"));
        }
        let proven = self.accepted(factor, key, &result).await?;
        let ttl = rules.token_ttl_seconds;
        let token = self.issue_token(&user, proven.factor_id.as_str(), &proven.amr, ttl)?;
        self.audit(&user, AuditAction::Verified, Some(&proven.factor_id)).await;
        Ok(PasskeySignedIn { user, token })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_has_one_stable_handle_of_their_own() {
        let ada = UserId::parse("ada").unwrap();
        assert_eq!(user_handle(&ada), user_handle(&ada.clone()));
        assert_ne!(user_handle(&ada), user_handle(&UserId::parse("bob").unwrap()));
    }
}
