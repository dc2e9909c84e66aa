//! Managing factors: listing, deleting with step-up, new recovery codes, and administration
//! (including the audit log's view).

use super::{Error, Mfa, StepUp};
use crate::ids::{FactorId, OrgId, UserId};
use crate::model::{AuditAction, AuditEvent, Factor, FactorStatus, OrgPolicy};

/// How many events the admin audit view shows.
const AUDIT_PAGE: usize = 100;

impl Mfa {
    /// The user's factors, never a secret.
    pub async fn list(&self, user: &UserId) -> Result<Vec<Factor>, Error> {
        Ok(self.store.list_factors(user).await?)
    }

    /// Deletes a factor. Needs a fresh MFA token from that same factor: disabling a factor needs
    /// the factor.
    pub async fn delete(
        &self,
        user: &UserId,
        factor_id: &FactorId,
        mfa_token: Option<&str>,
    ) -> Result<(), Error> {
        let factor =
            self.store.get_factor(user, factor_id).await?.ok_or(Error::NotFound("factor"))?;
        if factor.status == FactorStatus::Active {
            self.check_step_up(user, mfa_token, StepUp::ThisFactor(factor_id))?;
        }
        if !self.store.delete_factor(user, factor_id).await? {
            return Err(Error::NotFound("factor"));
        }
        self.audit(user, AuditAction::FactorDeleted, Some(factor_id)).await;
        Ok(())
    }

    /// Replaces the user's recovery codes. Needs a fresh MFA token from any of the user's factors:
    /// not from a recovery code, since the new set ends the old one.
    pub async fn new_recovery_codes(
        &self,
        user: &UserId,
        mfa_token: Option<&str>,
    ) -> Result<Vec<String>, Error> {
        self.check_step_up(user, mfa_token, StepUp::AnyFactor)?;
        let (set, codes) = self.make_recovery_set().await?;
        self.store.replace_recovery_set(user, &set).await?;
        self.audit(user, AuditAction::RecoveryCodesReplaced, None).await;
        Ok(codes)
    }

    /// Administration: removes a user's factor without step-up (the user lost it), and clears
    /// the user's failure count.
    pub async fn admin_reset_factor(
        &self,
        user: &UserId,
        factor_id: &FactorId,
    ) -> Result<(), Error> {
        if !self.store.delete_factor(user, factor_id).await? {
            return Err(Error::NotFound("factor"));
        }
        self.store.succeed(user).await?;
        self.audit(user, AuditAction::FactorReset, Some(factor_id)).await;
        Ok(())
    }

    /// Administration: clears a user's lockout.
    pub async fn admin_unlock(&self, user: &UserId) -> Result<(), Error> {
        self.store.succeed(user).await?;
        self.audit(user, AuditAction::Unlocked, None).await;
        Ok(())
    }

    /// Administration: the user's latest audit events, newest first.
    pub async fn admin_audit(&self, user: &UserId) -> Result<Vec<AuditEvent>, Error> {
        Ok(self.store.latest_events(user, AUDIT_PAGE).await?)
    }

    /// Administration: sets an organisation's MFA policy.
    pub async fn admin_set_policy(
        &self,
        org: &OrgId,
        policy: OrgPolicy,
    ) -> Result<OrgPolicy, Error> {
        self.store.put_policy(org, &policy).await?;
        Ok(policy)
    }

    /// Administration: an organisation's MFA policy.
    pub async fn admin_policy(&self, org: &OrgId) -> Result<OrgPolicy, Error> {
        Ok(self.store.get_policy(org).await?)
    }
}
