//! Managing factors: listing, deleting with step-up, new recovery codes, and administration
//! (including the audit log's view).

use super::notices::Notice;
use super::{Error, Mfa};
use crate::ids::{FactorId, UserId};
use crate::model::{AuditAction, AuditEvent, Budget, Factor, FactorStatus, Operation};

/// How many events the admin audit view shows.
const AUDIT_PAGE: usize = 100;

impl Mfa {
    /// The user's factors, never a secret.
    pub async fn list(&self, user: &UserId) -> Result<Vec<Factor>, Error> {
        Ok(self.store.list_factors(user).await?)
    }

    /// Deletes a factor. An active one needs a step-up token for `delete_factor` of it, proved
    /// by that same factor: disabling a factor needs the factor.
    pub async fn delete(
        &self,
        user: &UserId,
        factor_id: &FactorId,
        step_up: Option<&str>,
    ) -> Result<(), Error> {
        let factors = self.store.list_factors(user).await?;
        let factor =
            factors.iter().find(|f| &f.id == factor_id).ok_or(Error::NotFound("factor"))?;
        if factor.status == FactorStatus::Active {
            let target = Some(factor_id);
            self.redeem_step_up(user, step_up, Operation::DeleteFactor, target, &factors).await?;
        }
        // Deleting without step-up is conditional on the factor still being pending.
        if !self.store.delete_factor(user, factor_id, factor.status).await? {
            return Err(match self.store.get_factor(user, factor_id).await? {
                Some(_) => Error::StepUpRequired(
                    "the factor was activated meanwhile: deleting it needs a step-up now",
                ),
                None => Error::NotFound("factor"),
            });
        }
        self.audit(user, AuditAction::FactorDeleted, Some(factor_id)).await;
        if factor.status == FactorStatus::Active {
            self.notify(user, Notice::FactorRemoved { factor }).await;
        }
        Ok(())
    }

    /// Replaces the user's recovery codes. Needs a step-up token for `new_recovery_codes`,
    /// proved by any of the user's factors: not by a recovery code, since the new set ends the
    /// old one.
    pub async fn new_recovery_codes(
        &self,
        user: &UserId,
        step_up: Option<&str>,
    ) -> Result<Vec<String>, Error> {
        let factors = self.store.list_factors(user).await?;
        let op = Operation::NewRecoveryCodes;
        self.redeem_step_up(user, step_up, op, None, &factors).await?;
        let (set, codes) = self.make_recovery_set().await?;
        self.store.replace_recovery_set(user, &set).await?;
        self.audit(user, AuditAction::RecoveryCodesReplaced, None).await;
        self.notify(user, Notice::RecoveryCodesReplaced).await;
        Ok(codes)
    }

    /// Administration: removes a user's factor without step-up (the user lost it), and clears
    /// the user's failure count.
    pub async fn admin_reset_factor(
        &self,
        user: &UserId,
        factor_id: &FactorId,
    ) -> Result<(), Error> {
        let factor =
            self.store.get_factor(user, factor_id).await?.ok_or(Error::NotFound("factor"))?;
        if !self.store.delete_factor(user, factor_id, factor.status).await? {
            return Err(Error::Conflict("the factor changed meanwhile: reset it again"));
        }
        self.store.succeed(user, Budget::SecondFactor).await?;
        self.audit(user, AuditAction::FactorReset, Some(factor_id)).await;
        if factor.status == FactorStatus::Active {
            self.notify(user, Notice::FactorReset { factor: &factor }).await;
        }
        Ok(())
    }

    /// Administration: clears a user's lockouts, of second factors and of recovery codes.
    pub async fn admin_unlock(&self, user: &UserId) -> Result<(), Error> {
        self.store.succeed(user, Budget::SecondFactor).await?;
        self.store.succeed(user, Budget::RecoveryCodes).await?;
        self.audit(user, AuditAction::Unlocked, None).await;
        Ok(())
    }

    /// Administration: the user's latest audit events, newest first.
    pub async fn admin_audit(&self, user: &UserId) -> Result<Vec<AuditEvent>, Error> {
        Ok(self.store.latest_events(user, AUDIT_PAGE).await?)
    }
}
