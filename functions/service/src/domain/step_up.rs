//! Step-up: a fresh proof of a factor for one change, earned the way the change asks, and taken
//! once.
//!
//! A sign-in's MFA token only says who signed in, how and when; it changes nothing. Each change
//! (add a factor, delete one, new recovery codes, a new phone number) asks for its own step-up:
//! a challenge of the factor that may prove it ([`Operation`] says which), answered with a code
//! or an assertion, which earns a step-up token for that change alone: its user, its operation,
//! its target factor, five minutes of life, taken once by its `jti`, and refused once the factor
//! that earned it is gone.

use super::answers::{Challenged, IssuedToken};
use super::oob::Destination;
use super::orgs::check_allowed;
use super::signin::{challenged, RECOVERY_FACTOR_ID};
use super::{Error, Mfa, Proof};
use crate::ids::{ChallengeId, FactorId, UserId};
use crate::model::{
    AuditAction, ChallengePurpose, Delivery, Factor, FactorKind, FactorStatus, Operation,
};
use crate::token::{StepUpGrant, STEP_UP_TTL};

/// What a step-up is asked for: a change, and the factor it is to (for the changes to one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUpFor {
    /// The change.
    pub operation: Operation,
    /// The factor it is to: named for `delete_factor` and `change_phone`, not otherwise.
    pub target: Option<FactorId>,
}

impl Mfa {
    /// Starts a step-up for one change, proved by the user's active factor `with`: a code is sent
    /// to an SMS factor (by text, or by call with `delivery` voice) or an email factor; a security
    /// key gets request options; an app is asked for its code. Deleting a factor or changing its
    /// number is proved by that factor itself.
    pub async fn start_step_up(
        &self,
        user: &UserId,
        wanted: StepUpFor,
        with: &FactorId,
        delivery: Option<Delivery>,
    ) -> Result<Challenged, Error> {
        let StepUpFor { operation, target } = wanted;
        let factors = self.store.list_factors(user).await?;
        match (&target, operation.has_target()) {
            (None, true) => {
                return Err(Error::BadRequest(
                    "this operation is to one factor: name it in factor_id".into(),
                ))
            }
            (Some(_), false) => {
                return Err(Error::BadRequest(
                    "this operation is to no one factor: leave factor_id out".into(),
                ))
            }
            (Some(target), true) => {
                let factor =
                    factors.iter().find(|f| &f.id == target).ok_or(Error::NotFound("factor"))?;
                if operation == Operation::ChangePhone && factor.kind() != FactorKind::Sms {
                    return Err(Error::BadRequest(
                        "only an SMS factor has a phone number to change".into(),
                    ));
                }
                if target != with {
                    return Err(Error::BadRequest(
                        "this operation is proved by the factor it is to: with_factor_id must be factor_id".into(),
                    ));
                }
            }
            (None, false) => {}
        }
        let prover = factors
            .iter()
            .find(|f| &f.id == with && f.status == FactorStatus::Active)
            .ok_or(Error::NotFound("active factor"))?;
        // A factor the user's orgs don't allow proves no change but its own removal.
        if operation != Operation::DeleteFactor {
            let rules = self.policy_of(user).await?.strictest;
            check_allowed(rules.allowed_factors.as_deref(), prover.kind())?;
        }
        let purpose = ChallengePurpose::StepUp { operation, target };
        if let Some(to) = Destination::of(prover, delivery)? {
            let challenge = self.send_code(prover, to, purpose, u64::MAX, None).await?;
            return Ok(challenged(&challenge, prover, None));
        }
        self.start_without_sending(prover, purpose, self.now() + self.challenge_ttl).await
    }

    /// Answers a step-up challenge and returns the step-up token it earned. Failures count
    /// against the user's second-factor throttle as a sign-in's do.
    pub async fn finish_step_up(
        &self,
        user: &UserId,
        challenge_id: &ChallengeId,
        proof: &Proof,
    ) -> Result<IssuedToken, Error> {
        let is_step_up = |p: &ChallengePurpose| matches!(p, ChallengePurpose::StepUp { .. });
        let (challenge, proven) = self.prove(user, challenge_id, proof, is_step_up, None).await?;
        let ChallengePurpose::StepUp { operation, target } = challenge.purpose else {
            return Err(Error::Internal("a step-up challenge without its operation".into()));
        };
        // Any of the user's keys may answer a WebAuthn challenge; a change to one factor is
        // proved by that factor only.
        if operation.has_target() && target.as_ref() != Some(&proven.factor_id) {
            return Err(Error::CredentialRejected(
                "this change is proved by the key it is to, and another key answered".into(),
            ));
        }
        self.grant_step_up(user, proven.factor_id.as_str(), &proven.amr, operation, target.as_ref())
            .await
    }

    /// Signs a step-up token for `operation` (to `target`), proved by `proved_by` with `amr`.
    pub(super) async fn grant_step_up(
        &self,
        user: &UserId,
        proved_by: &str,
        amr: &[&str],
        operation: Operation,
        target: Option<&FactorId>,
    ) -> Result<IssuedToken, Error> {
        let now = self.now();
        let grant = StepUpGrant {
            user: user.as_str().to_owned(),
            factor_id: proved_by.to_owned(),
            amr: amr.iter().map(|m| (*m).to_owned()).collect(),
            operation,
            target: target.map(|t| t.as_str().to_owned()),
            jti: self.new_id("jti"),
        };
        let token =
            self.tokens.issue_step_up(grant, now).map_err(|e| Error::Internal(e.to_string()))?;
        self.audit(user, AuditAction::SteppedUp, target).await;
        Ok(IssuedToken { token, expires_at: now + STEP_UP_TTL })
    }

    /// Takes a step-up token for `operation` on `target`: valid and unexpired, this user's, for
    /// this change, proved by a factor still among `factors` and active (or a recovery code, for
    /// the changes one may prove), and not taken before. Taking it is the last check, one
    /// conditional write: of two requests with one token, one goes ahead.
    pub(super) async fn redeem_step_up(
        &self,
        user: &UserId,
        token: Option<&str>,
        operation: Operation,
        target: Option<&FactorId>,
        factors: &[Factor],
    ) -> Result<(), Error> {
        let token = token.ok_or(Error::StepUpRequired(
            "this change needs a step-up token for it, in the Step-Up-Token header",
        ))?;
        let claims = self
            .tokens
            .verify_step_up(token, self.now())
            .map_err(|_| Error::StepUpRequired("the step-up token is not valid or has expired"))?;
        if claims.sub != user.as_str() {
            return Err(Error::StepUpRequired("the step-up token is for another user"));
        }
        if claims.op != operation {
            return Err(Error::StepUpRequired("the step-up token is for another change"));
        }
        if claims.tfid.as_deref() != target.map(FactorId::as_str) {
            return Err(Error::StepUpRequired("the step-up token is for another factor"));
        }
        let prover = factors
            .iter()
            .find(|f| f.id.as_str() == claims.fid && f.status == FactorStatus::Active);
        let proved = match prover {
            _ if claims.fid == RECOVERY_FACTOR_ID => operation.recovery_code_may_prove(),
            None => false,
            Some(_) => !operation.has_target() || claims.tfid.as_deref() == Some(&*claims.fid),
        };
        if !proved {
            return Err(Error::StepUpRequired(
                "the factor that earned the step-up token is gone or was reset",
            ));
        }
        if let (Some(prover), true) = (prover, operation != Operation::DeleteFactor) {
            let rules = self.policy_of(user).await?.strictest;
            check_allowed(rules.allowed_factors.as_deref(), prover.kind())?;
        }
        if !self.store.take_step_up(&claims.jti, claims.exp).await? {
            return Err(Error::StepUpRequired("the step-up token was already used"));
        }
        Ok(())
    }
}
