//! Changing an SMS factor's number: a step-up proved by the factor itself (a code to the OLD
//! number), then a code to the new one; the switch is one conditional write, and the old number
//! keeps working until it happens.

use super::answers::PhoneChange;
use super::enrollment::check_code_shape;
use super::notices::Notice;
use super::oob::Destination;
use super::{Error, Mfa};
use crate::ids::{ChallengeId, FactorId, UserId};
use crate::model::{AuditAction, ChallengePurpose, Factor, FactorStatus, Method, Operation};

/// The user's factors, and of them the active SMS factor `factor_id` with its number.
async fn active_sms_factor(
    mfa: &Mfa,
    user: &UserId,
    factor_id: &FactorId,
) -> Result<(Vec<Factor>, Factor, String), Error> {
    let factors = mfa.store.list_factors(user).await?;
    let factor = factors
        .iter()
        .find(|f| &f.id == factor_id && f.status == FactorStatus::Active)
        .cloned()
        .ok_or(Error::NotFound("active factor"))?;
    match &factor.method {
        Method::Sms { phone, .. } => {
            let phone = phone.clone();
            Ok((factors, factor, phone))
        }
        _ => Err(Error::BadRequest("only an SMS factor has a phone number to change".into())),
    }
}

impl Mfa {
    /// Starts a phone change: checks the new number, takes the step-up token for
    /// `change_phone` of this factor (proved by a code to the old number), and sends a code to
    /// the new number.
    pub async fn start_phone_change(
        &self,
        user: &UserId,
        factor_id: &FactorId,
        new_phone: &str,
        step_up: Option<&str>,
    ) -> Result<PhoneChange, Error> {
        let (factors, factor, old) = active_sms_factor(self, user, factor_id).await?;
        let new = mfa_core::phone::parse_sms_number(new_phone, &self.phone_policy)
            .map_err(|e| Error::BadRequest(e.to_string()))?;
        if new.as_str() == old {
            return Err(Error::BadRequest("the new number is the current one".into()));
        }
        if self.store.is_opted_out(new.as_str()).await? {
            return Err(Error::BadRequest(
                "the new number replied STOP and gets no texts: reply START from it first".into(),
            ));
        }
        self.check_line(new.as_str()).await?;
        let op = Operation::ChangePhone;
        self.redeem_step_up(user, step_up, op, Some(factor_id), &factors).await?;
        let to = Destination::Text(new.as_str());
        let purpose = ChallengePurpose::PhoneChange { new_phone: new.as_str().to_owned() };
        let next = self.send_code(&factor, to, purpose, u64::MAX, None).await?;
        Ok(PhoneChange::VerifyNewNumber { challenge_id: next.id, expires_at: next.expires_at })
    }

    /// Finishes a phone change with the new number's code: the factor switches to it.
    pub async fn continue_phone_change(
        &self,
        user: &UserId,
        factor_id: &FactorId,
        challenge_id: &ChallengeId,
        code: &str,
    ) -> Result<PhoneChange, Error> {
        check_code_shape(code, &mfa_core::totp::TotpParams::default())?;
        let (_, factor, old) = active_sms_factor(self, user, factor_id).await?;
        let challenge = self
            .store
            .get_challenge(challenge_id)
            .await?
            .filter(|c| &c.user == user && &c.factor_id == factor_id)
            .ok_or(Error::NotFound("phone change"))?;
        let ChallengePurpose::PhoneChange { new_phone: new } = &challenge.purpose else {
            return Err(Error::NotFound("phone change"));
        };
        self.check_code(&challenge, code).await?;
        if !self.store.change_phone(user, factor_id, &old, new).await? {
            return Err(Error::Conflict("the factor's number changed meanwhile: start again"));
        }
        self.audit(user, AuditAction::PhoneChanged, Some(factor_id)).await;
        self.notify(user, Notice::PhoneChanged { old: &old }).await;
        let factor =
            Factor { method: Method::Sms { phone: new.clone(), activation: None }, ..factor };
        Ok(PhoneChange::Changed { factor })
    }
}
