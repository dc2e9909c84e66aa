//! Signing in: the login decision, challenges, verifying a code, and recovery codes.

use mfa_core::totp::{match_step, TotpParams};

use super::answers::{Challenged, IssuedToken, LoginDecision, RecoveryUsed};
use super::enrollment::check_code_shape;
use super::log_audit;
use super::notices::Notice;
use super::oob::Destination;
use super::oob::MAX_CODE_ATTEMPTS;
use super::orgs::check_allowed;
use super::{Error, Mfa, Proof, TOTP_WINDOW};
use crate::ids::{ChallengeId, FactorId, LoginId, UserId};
use crate::model::{
    Answer, AuditAction, AuditEvent, AuthMethod, Budget, Challenge, ChallengePurpose, Decision,
    Delivery, Factor, FactorKind, FactorStatus, Login, Method, Operation, RecoverySet,
};
use crate::ports::{Fail, Pass, Passed, StoreError, Used};
use crate::telemetry::{self, Checked, Outcome};

/// What a started challenge of `factor` tells the caller.
pub(super) fn challenged(
    challenge: &Challenge,
    factor: &Factor,
    request_options: Option<serde_json::Value>,
) -> Challenged {
    Challenged {
        challenge_id: challenge.id.clone(),
        expires_at: challenge.expires_at,
        delivery: match challenge.answer {
            Answer::CalledCode { .. } => "voice",
            _ => factor.kind().as_str(),
        },
        request_options,
    }
}

/// The `fid` claim of a token earned with a recovery code.
pub const RECOVERY_FACTOR_ID: &str = "recovery_code";

/// What answered a challenge: the factor, and its authentication methods (RFC 8176).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Proven {
    /// The factor.
    pub factor_id: FactorId,
    /// `otp`, `sms`, or `hwk` (with `user` and `pin` when a key verified its user).
    pub amr: Vec<&'static str>,
}

impl Mfa {
    /// Decides what the login backend does after the password: allow, challenge, or enroll,
    /// by the strictest policy of the orgs the user belongs to (never by what the caller says).
    pub async fn login(
        &self,
        user: &UserId,
        auth_method: AuthMethod,
        mfa_token: Option<&str>,
    ) -> Result<LoginDecision, Error> {
        let now = self.now();
        let (factors, orgs) = self.store.factors_and_orgs(user).await?;
        let policy = self.policy_of_orgs(orgs).await?;
        let rules = &policy.strictest;
        let login = Login {
            id: self.with_rng(LoginId::generate),
            user: user.clone(),
            created_at: now,
            expires_at: now + self.login_ttl,
            sms_sent: false,
            call_made: false,
            allowed_factors: rules.allowed_factors.clone(),
            token_ttl: rules.token_ttl_seconds,
        };
        let active: Vec<Factor> =
            factors.into_iter().filter(|f| f.status == FactorStatus::Active).collect();
        // A token from another app counts while it is younger than the orgs' token lifetime,
        // and was earned with a recovery code or a factor of a kind the orgs allow.
        let earned_as_allowed = |fid: &str| {
            fid == RECOVERY_FACTOR_ID
                || active.iter().any(|f| f.id.as_str() == fid && rules.allows(f.kind()))
        };
        let claims = mfa_token
            .and_then(|t| self.tokens.verify(t, now).ok())
            .filter(|c| c.sub == user.as_str())
            .filter(|c| rules.token_ttl_seconds.is_none_or(|ttl| c.iat.saturating_add(ttl) > now))
            .filter(|c| earned_as_allowed(&c.fid));
        // The factors the user may sign in with: of a kind every org allows.
        let factors: Vec<Factor> =
            active.iter().filter(|f| rules.allows(f.kind())).cloned().collect();
        if auth_method == AuthMethod::Passkey {
            // A passkey alone is a whole sign-in only with the token of its verification: a key
            // that verified its user.
            let by_passkey = claims
                .as_ref()
                .is_some_and(|c| ["hwk", "user"].iter().all(|m| c.amr.iter().any(|a| a == m)));
            if !by_passkey {
                return Err(Error::StepUpRequired(
                    "a passkey sign-in needs the MFA token of its passkey verification",
                ));
            }
        }
        let sso_exempt = auth_method == AuthMethod::Sso && rules.sso_exempt;
        let decision = if sso_exempt || claims.is_some() {
            Decision::Allow
        } else if !factors.is_empty() {
            Decision::Challenge
        } else if !active.is_empty() {
            // Factors only of kinds the orgs don't allow: a password alone is not enough.
            Decision::EnrollRequired
        } else {
            self.enroll_decision(user, &policy).await?
        };
        self.store.insert_login(&login).await?;
        Ok(LoginDecision { decision, login_id: login.id, factors })
    }

    /// Starts a challenge of one active factor within a login. For SMS and email the code is
    /// sent here; a phone factor's code goes by text, or by a call with `delivery` voice. A login
    /// gets at most one text message and one call, so a user whose text did not arrive (or was
    /// refused) can ask for a call instead.
    pub async fn challenge(
        &self,
        user: &UserId,
        login_id: &LoginId,
        factor_id: &FactorId,
        delivery: Option<Delivery>,
    ) -> Result<Challenged, Error> {
        let now = self.now();
        let (login, factor, orgs) = self.store.challenge_context(user, login_id, factor_id).await?;
        let login = login.filter(|l| &l.user == user).ok_or(Error::NotFound("login"))?;
        if login.expires_at <= now {
            return Err(Error::Expired("login"));
        }
        let factor = factor.ok_or(Error::NotFound("factor"))?;
        if factor.status != FactorStatus::Active {
            return Err(Error::Conflict("the factor is not active yet"));
        }
        check_allowed(login.allowed_factors.as_deref(), factor.kind())?;
        let purpose =
            ChallengePurpose::Login { login_id: login.id.clone(), token_ttl: login.token_ttl };
        let Some(to) = Destination::of(&factor, delivery)? else {
            let expires_at = (now + self.challenge_ttl).min(login.expires_at);
            return self.start_without_sending(&factor, purpose, expires_at).await;
        };
        // A sign-in that had its text (or call) is refused before any budget is touched, so
        // asking again doesn't use them up; the store's transaction still decides, atomically,
        // between concurrent requests.
        let had = match to.login_message() {
            Some(Delivery::Sms) => login.sms_sent,
            Some(Delivery::Voice) => login.call_made,
            None => false,
        };
        if let (true, Some(by)) = (had, to.login_message()) {
            return Err(self.login_had_its_message(user, &factor.id, by).await?);
        }
        let challenge = self
            .send_code(&factor, to, purpose, login.expires_at, Some((&login.id, &orgs)))
            .await?;
        Ok(challenged(&challenge, &factor, None))
    }

    /// Starts a challenge of `factor` that no code is sent for, until `expires_at`: for a
    /// security key or passkey, request options its assertion answers; for an app, its code.
    pub(super) async fn start_without_sending(
        &self,
        factor: &Factor,
        purpose: ChallengePurpose,
        expires_at: u64,
    ) -> Result<Challenged, Error> {
        if let Method::Webauthn { .. } = factor.method {
            let (challenge, options) = self.start_assertion(factor, purpose, expires_at).await?;
            return Ok(challenged(&challenge, factor, Some(options)));
        }
        let challenge = Challenge {
            id: self.with_rng(ChallengeId::generate),
            user: factor.user.clone(),
            factor_id: factor.id.clone(),
            created_at: self.now(),
            expires_at,
            consumed_at: None,
            purpose,
            answer: Answer::AppCode {
                secret: match &factor.method {
                    Method::Totp { secret, .. } => Some(secret.clone()),
                    _ => None,
                },
            },
            attempts: 0,
            factor_kind: Some(factor.kind()),
        };
        self.store.insert_challenge(&challenge).await?;
        Ok(challenged(&challenge, factor, None))
    }

    /// The refusal of a second text message (or call) in one sign-in.
    pub(super) async fn login_had_its_message(
        &self,
        user: &UserId,
        factor_id: &FactorId,
        by: Delivery,
    ) -> Result<Error, Error> {
        Ok(Error::UseAnotherFactor {
            reason: match (by, self.voice.is_some()) {
                (Delivery::Sms, true) => "a text message was already sent for this sign-in (at most one per sign-in): ask for a call instead (delivery voice), or use another factor",
                (Delivery::Sms, false) => "a text message was already sent for this sign-in (at most one per sign-in): use another factor",
                (Delivery::Voice, _) => "a call was already made for this sign-in (at most one per sign-in): use another factor",
            },
            factors: self.other_factors(user, factor_id).await?,
        })
    }

    /// Verifies a code (or a WebAuthn assertion) for a sign-in challenge and returns an MFA
    /// token. A wrong code, a replayed time step, or an answered challenge count as failures
    /// against the user's throttle.
    pub async fn verify(
        &self,
        user: &UserId,
        challenge_id: &ChallengeId,
        proof: &Proof,
    ) -> Result<IssuedToken, Error> {
        let is_login = |p: &ChallengePurpose| matches!(p, ChallengePurpose::Login { .. });
        let (challenge, proven) =
            self.prove(user, challenge_id, proof, is_login, Some(AuditAction::Verified)).await?;
        let ttl = match challenge.purpose {
            ChallengePurpose::Login { token_ttl, .. } => token_ttl,
            _ => None,
        };
        self.issue_token(user, proven.factor_id.as_str(), &proven.amr, ttl)
    }

    /// Checks `proof` against the user's challenge `challenge_id`, which must be unanswered,
    /// unexpired and `for_purpose`, from an active factor; uses the challenge up, with the audit
    /// event `on_success`.
    ///
    /// A code is checked in two store requests: one read of the challenge and the throttle
    /// (the challenge holds its factor's kind and, for an app, its sealed secret), and one
    /// write of the outcome, conditional on the throttle count read. A write that finds the
    /// count changed (a concurrent guess failed meanwhile) is refused, and the check starts
    /// again from the read.
    pub(super) async fn prove(
        &self,
        user: &UserId,
        challenge_id: &ChallengeId,
        proof: &Proof,
        for_purpose: impl Fn(&ChallengePurpose) -> bool,
        on_success: Option<AuditAction>,
    ) -> Result<(Challenge, Proven), Error> {
        let params = TotpParams::default();
        if let Proof::Code(code) = proof {
            check_code_shape(code, &params)?;
        }
        for _ in 0..ATTEMPT_TRIES {
            let read = self.store.challenge_attempt(user, challenge_id).await?;
            let challenge = read
                .challenge
                .filter(|c| &c.user == user && for_purpose(&c.purpose))
                .ok_or(Error::NotFound("challenge"))?;
            if challenge.consumed_at.is_some() {
                return Err(Error::Conflict("the challenge has already been answered"));
            }
            let now = self.now();
            if challenge.expires_at <= now {
                return Err(Error::Expired("challenge"));
            }
            let code = match (&challenge.answer, proof) {
                (Answer::Webauthn { .. }, Proof::Credential(assertion)) => {
                    self.active_factor(user, &challenge.factor_id).await?;
                    let proven = self.finish_assertion(&challenge, assertion).await;
                    let outcome = match &proven {
                        Ok(_) => Some(Outcome::Passed),
                        Err(Error::CodeRejected) => Some(Outcome::Rejected),
                        Err(Error::Locked { .. }) => Some(Outcome::Locked),
                        Err(_) => None,
                    };
                    if let Some(outcome) = outcome {
                        telemetry::verified(Checked::Factor(FactorKind::Webauthn), outcome);
                    }
                    let proven = proven?;
                    if let Some(action) = on_success {
                        self.audit(user, action, Some(&proven.factor_id)).await;
                    }
                    return Ok((challenge, proven));
                }
                (Answer::Webauthn { .. }, Proof::Code(_)) => {
                    return Err(Error::BadRequest(
                        "a security key or passkey answers with its assertion, not a code".into(),
                    ));
                }
                (_, Proof::Credential(_)) => {
                    return Err(Error::BadRequest("this challenge is answered with a code".into()));
                }
                (_, Proof::Code(code)) => code,
            };
            let (kind, secret) = match (&challenge.answer, challenge.factor_kind) {
                (Answer::AppCode { secret: Some(secret) }, Some(kind)) => {
                    (kind, Some(secret.clone()))
                }
                (Answer::SentCode { .. } | Answer::CalledCode { .. }, Some(kind)) => (kind, None),
                // A challenge stored before challenges kept their factor's kind and secret.
                _ => {
                    let factor = self.active_factor(user, &challenge.factor_id).await?;
                    let kind = factor.kind();
                    let secret = match factor.method {
                        Method::Totp { secret, .. } => Some(secret),
                        _ => None,
                    };
                    (kind, secret)
                }
            };
            if let Some(until) = read.throttle.locked_at(now) {
                telemetry::verified(Checked::Factor(kind), Outcome::Locked);
                return Err(self.locked(user, until, now).await);
            }
            let attempt = CodeAttempt {
                user,
                challenge: &challenge,
                kind,
                seen: read.throttle.failures,
                now,
            };
            let checked = match secret {
                Some(sealed) => {
                    let secret = self.open_secret(user, &challenge.factor_id, &sealed)?;
                    let step = match_step(&secret, code, now, TOTP_WINDOW, &params, None);
                    self.settle(&attempt, step.map(Some), on_success).await?
                }
                None if challenge.attempts >= MAX_CODE_ATTEMPTS => {
                    // No attempt left: counted on the account all the same.
                    let fail = attempt.fail(None, None);
                    if !self.store.fail_attempt(&fail).await? {
                        continue;
                    }
                    attempt.counted_failure();
                    return Err(Error::Conflict(
                        "this code has no attempts left: ask for a new code",
                    ));
                }
                None => {
                    let matched = self.code_matches(&challenge, code);
                    self.settle(&attempt, matched.then_some(None), on_success).await?
                }
            };
            let Some(checked) = checked else { continue };
            checked?;
            // RFC 8176 tells the channels apart: `otp` for an app's code, `sms` for a text, `tel`
            // for a call; a code by email has no registered value, so it gets its own, `email`,
            // which an app may refuse.
            let amr = match (kind, &challenge.answer) {
                (FactorKind::Sms, Answer::CalledCode { .. }) => vec!["tel"],
                (FactorKind::Sms, _) => vec!["sms"],
                (FactorKind::Email, _) => vec!["email"],
                (FactorKind::Totp | FactorKind::Webauthn, _) => vec!["otp"],
            };
            let factor_id = challenge.factor_id.clone();
            return Ok((challenge, Proven { factor_id, amr }));
        }
        Err(Error::Store(StoreError::Unavailable(
            "the account's throttle kept changing: try again".into(),
        )))
    }

    /// Writes the outcome of a code checked: `matched` is `None` for a wrong code, else the TOTP
    /// step it matched (`Some(None)` for a sent code). `None` when the throttle count changed
    /// since it was read (nothing written: read again); else the check's answer.
    async fn settle(
        &self,
        attempt: &CodeAttempt<'_>,
        matched: Option<Option<u64>>,
        on_success: Option<AuditAction>,
    ) -> Result<Option<Result<(), Error>>, Error> {
        let CodeAttempt { user, challenge, now, .. } = *attempt;
        let sent = challenge.answer.is_sent_code();
        if let Some(step) = matched {
            let event =
                on_success.map(|action| self.audit_event(user, action, Some(&challenge.factor_id)));
            let pass = Pass {
                user,
                budget: Budget::SecondFactor,
                seen: attempt.seen,
                used: Used::Challenge {
                    id: &challenge.id,
                    factor: &challenge.factor_id,
                    step,
                    max_attempts: sent.then_some(MAX_CODE_ATTEMPTS),
                    now,
                },
                event: event.as_ref(),
            };
            match self.store.pass_attempt(&pass).await? {
                Passed::Yes => {
                    if let Some(event) = &event {
                        log_audit(event);
                    }
                    telemetry::verified(Checked::Factor(attempt.kind), Outcome::Passed);
                    return Ok(Some(Ok(())));
                }
                Passed::ThrottleMoved => return Ok(None),
                Passed::AlreadyUsed => {
                    return Ok(Some(Err(Error::Conflict(
                        "the challenge has already been answered",
                    ))))
                }
                Passed::FactorRefused if step.is_none() => {
                    return Ok(Some(Err(Error::NotFound("factor"))));
                }
                // The replay guard: the step was used (or the factor went meanwhile).
                Passed::FactorRefused => {
                    tracing::warn!(user = %user, factor = %challenge.factor_id, "TOTP step replayed");
                }
            }
        }
        let event = self.audit_event(user, AuditAction::VerifyFailed, Some(&challenge.factor_id));
        let fail = attempt.fail(sent.then_some(&challenge.id), Some(&event));
        if !self.store.fail_attempt(&fail).await? {
            return Ok(None);
        }
        log_audit(&event);
        attempt.counted_failure();
        Ok(Some(Err(Error::CodeRejected)))
    }

    /// One of the user's factors, which must be active.
    async fn active_factor(&self, user: &UserId, id: &FactorId) -> Result<Factor, Error> {
        self.store
            .get_factor(user, id)
            .await?
            .filter(|f| f.status == FactorStatus::Active)
            .ok_or(Error::NotFound("factor"))
    }

    /// Verifies a recovery code (each works once) and returns an MFA token. The code is checked
    /// in two store requests, as a challenge's is (see [`Mfa::prove`]).
    pub async fn verify_recovery(
        &self,
        user: &UserId,
        code: &str,
        login_id: Option<&LoginId>,
        step_up: Option<Operation>,
    ) -> Result<RecoveryUsed, Error> {
        let code = mfa_core::recovery::normalize(code).ok_or_else(|| {
            Error::BadRequest(
                "a recovery code is 16 letters and digits, like XXXX-XXXX-XXXX-XXXX".into(),
            )
        })?;
        if step_up.is_some_and(|op| !op.recovery_code_may_prove()) {
            return Err(Error::BadRequest(
                "a recovery code proves a step-up for add_factor only".into(),
            ));
        }
        let mut used = None;
        for _ in 0..ATTEMPT_TRIES {
            let read = self.store.recovery_attempt(user, login_id).await?;
            let login = match login_id {
                Some(_) => {
                    Some(read.login.filter(|l| &l.user == user).ok_or(Error::NotFound("login"))?)
                }
                None => None,
            };
            let now = self.now();
            if let Some(until) = read.throttle.locked_at(now) {
                telemetry::verified(Checked::RecoveryCode, Outcome::Locked);
                return Err(self.locked(user, until, now).await);
            }
            let seen = read.throttle.failures;
            let matched = match &read.set {
                Some(set) => self.match_recovery_code(set, &code).await?,
                None => None,
            };
            if let (Some(set), Some(index)) = (&read.set, matched) {
                let event = self.audit_event(user, AuditAction::RecoveryCodeUsed, None);
                let pass = Pass {
                    user,
                    budget: Budget::RecoveryCodes,
                    seen,
                    used: Used::RecoveryCode { set: &set.id, index },
                    event: Some(&event),
                };
                match self.store.pass_attempt(&pass).await? {
                    Passed::Yes => {
                        log_audit(&event);
                        telemetry::verified(Checked::RecoveryCode, Outcome::Passed);
                        used = Some((set.remaining().saturating_sub(1), login));
                        break;
                    }
                    Passed::ThrottleMoved => continue,
                    // Used meanwhile (or its set replaced): a failure, as any unusable code.
                    Passed::AlreadyUsed | Passed::FactorRefused => {}
                }
            }
            let event = self.audit_event(user, AuditAction::VerifyFailed, None);
            let fail = Fail {
                user,
                budget: Budget::RecoveryCodes,
                seen,
                now,
                challenge: None,
                event: Some(&event),
            };
            if self.store.fail_attempt(&fail).await? {
                log_audit(&event);
                counted_failure(Checked::RecoveryCode, Budget::RecoveryCodes, seen, now);
                return Err(Error::CodeRejected);
            }
        }
        let Some((remaining, login)) = used else {
            return Err(Error::Store(StoreError::Unavailable(
                "the account's throttle kept changing: try again".into(),
            )));
        };
        let ttl = match login {
            Some(login) => login.token_ttl,
            None => self.policy_of(user).await?.strictest.token_ttl_seconds,
        };
        let token = self.issue_token(user, RECOVERY_FACTOR_ID, &["otp"], ttl)?;
        self.notify(user, Notice::RecoveryCodeUsed { remaining }).await;
        let step_up = match step_up {
            Some(operation) => {
                Some(self.grant_step_up(user, RECOVERY_FACTOR_ID, &["otp"], operation, None).await?)
            }
            None => None,
        };
        Ok(RecoveryUsed { token, remaining, step_up })
    }

    /// The index of the unused code of `set` that `code` (normalised) is, if any: Argon2 on a
    /// blocking thread.
    async fn match_recovery_code(
        &self,
        set: &RecoverySet,
        code: &str,
    ) -> Result<Option<u32>, Error> {
        let unused: Vec<(u32, String)> = (0u32..)
            .zip(set.hashes.iter())
            .filter(|(i, _)| !set.used.contains(i))
            .map(|(i, h)| (i, h.clone()))
            .collect();
        let hashes: Vec<String> = unused.iter().map(|(_, h)| h.clone()).collect();
        let code = code.to_owned();
        let matched =
            tokio::task::spawn_blocking(move || mfa_core::recovery::find_match(&code, &hashes))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
                .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(matched.and_then(|m| unused.get(m)).map(|(i, _)| *i))
    }
}

/// How many times a check of a code reads again after a concurrent attempt changed the
/// throttle count between its read and its write.
const ATTEMPT_TRIES: usize = 16;

/// A code being checked against a challenge: whose, of which kind of factor, and the throttle
/// count read with it.
#[derive(Clone, Copy)]
struct CodeAttempt<'a> {
    user: &'a UserId,
    challenge: &'a Challenge,
    kind: FactorKind,
    seen: u32,
    now: u64,
}

/// Metrics of a failure counted on `budget` after `seen` ones: a rejected check of `what`, and
/// a lockout when this failure locked the account.
fn counted_failure(what: Checked, budget: Budget, seen: u32, now: u64) {
    telemetry::verified(what, Outcome::Rejected);
    if mfa_core::throttle::locked_until(seen.saturating_add(1), now).is_some() {
        telemetry::locked_out(budget);
    }
}

impl<'a> CodeAttempt<'a> {
    /// Metrics of this attempt's failure, once counted.
    fn counted_failure(&self) {
        counted_failure(Checked::Factor(self.kind), Budget::SecondFactor, self.seen, self.now);
    }

    /// The failure of this attempt, counting on `challenge`'s attempts when given.
    fn fail(&self, challenge: Option<&'a ChallengeId>, event: Option<&'a AuditEvent>) -> Fail<'a> {
        Fail {
            user: self.user,
            budget: Budget::SecondFactor,
            seen: self.seen,
            now: self.now,
            challenge,
            event,
        }
    }
}
