//! Changing an SMS factor's number: a code to the OLD number first, then a code to the new one;
//! the switch is one conditional write, and the old number keeps working until it happens.

use super::answers::PhoneChange;
use super::enrollment::check_code_shape;
use super::oob::Destination;
use super::{Error, Mfa};
use crate::ids::{ChallengeId, FactorId, UserId};
use crate::model::{AuditAction, ChallengePurpose, Factor, FactorStatus, Method};

impl Mfa {
    async fn active_sms_factor(
        &self,
        user: &UserId,
        factor_id: &FactorId,
    ) -> Result<(Factor, String), Error> {
        let factor = self
            .store
            .get_factor(user, factor_id)
            .await?
            .filter(|f| f.status == FactorStatus::Active)
            .ok_or(Error::NotFound("active factor"))?;
        match &factor.method {
            Method::Sms { phone, .. } => {
                let phone = phone.clone();
                Ok((factor, phone))
            }
            _ => Err(Error::BadRequest("only an SMS factor has a phone number to change".into())),
        }
    }

    /// Starts a phone change: checks the new number and sends a code to the old one.
    pub async fn start_phone_change(
        &self,
        user: &UserId,
        factor_id: &FactorId,
        new_phone: &str,
    ) -> Result<PhoneChange, Error> {
        let (factor, old) = self.active_sms_factor(user, factor_id).await?;
        let new = mfa_core::phone::parse_sms_number(new_phone, &self.phone_policy)
            .map_err(|e| Error::BadRequest(e.to_string()))?;
        if new.as_str() == old {
            return Err(Error::BadRequest("the new number is the current one".into()));
        }
        self.check_sms_allowed(user, factor_id, &old).await?;
        let purpose = ChallengePurpose::PhoneChangeOld { new_phone: new.as_str().to_owned() };
        let challenge =
            self.send_code(&factor, Destination::Phone(&old), purpose, u64::MAX).await?;
        Ok(PhoneChange::VerifyOldNumber {
            challenge_id: challenge.id,
            expires_at: challenge.expires_at,
        })
    }

    /// Continues a phone change with the code of its current step: the old number's code sends
    /// one to the new number; the new number's code switches the factor to it.
    pub async fn continue_phone_change(
        &self,
        user: &UserId,
        factor_id: &FactorId,
        challenge_id: &ChallengeId,
        code: &str,
    ) -> Result<PhoneChange, Error> {
        check_code_shape(code, &mfa_core::totp::TotpParams::default())?;
        let (factor, old) = self.active_sms_factor(user, factor_id).await?;
        let challenge = self
            .store
            .get_challenge(challenge_id)
            .await?
            .filter(|c| &c.user == user && &c.factor_id == factor_id)
            .ok_or(Error::NotFound("phone change"))?;
        let (new, first_step) = match &challenge.purpose {
            ChallengePurpose::PhoneChangeOld { new_phone } => (new_phone.clone(), true),
            ChallengePurpose::PhoneChangeNew { new_phone } => (new_phone.clone(), false),
            _ => return Err(Error::NotFound("phone change")),
        };
        self.check_code(&challenge, code).await?;
        if first_step {
            self.check_sms_allowed(user, factor_id, &new).await?;
            let purpose = ChallengePurpose::PhoneChangeNew { new_phone: new.clone() };
            let next = self.send_code(&factor, Destination::Phone(&new), purpose, u64::MAX).await?;
            return Ok(PhoneChange::VerifyNewNumber {
                challenge_id: next.id,
                expires_at: next.expires_at,
            });
        }
        if !self.store.change_phone(user, factor_id, &old, &new).await? {
            return Err(Error::Conflict("the factor's number changed meanwhile: start again"));
        }
        self.audit(user, AuditAction::PhoneChanged, Some(factor_id)).await;
        let factor = Factor { method: Method::Sms { phone: new, activation: None }, ..factor };
        Ok(PhoneChange::Changed { factor })
    }
}
