//! Out-of-band codes: sending a code by SMS or email as a challenge, and checking one.
//!
//! The carrier rules live here: no text to a number that replied STOP, at most
//! `MFA_SMS_MAX_PER_HOUR` texts to one number an hour (against SMS pumping), and codes that live
//! 5 minutes by SMS and 10 by email, take at most 5 attempts, and are stored only hashed.

use mfa_core::oob_code;

use super::{messages, Error, Mfa};
use crate::ids::{ChallengeId, FactorId, UserId};
use crate::model::{Answer, Budget, Challenge, ChallengePurpose, Factor, FactorStatus, Method};

/// How long an SMS code is valid.
pub const SMS_CODE_TTL: u64 = 5 * 60;
/// How long an email code is valid.
pub const EMAIL_CODE_TTL: u64 = 10 * 60;
/// Attempts allowed per code.
pub const MAX_CODE_ATTEMPTS: u32 = 5;
/// The window of the per-number SMS cap.
const SMS_CAP_WINDOW: u64 = 3600;

/// Where a code goes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Destination<'a> {
    /// A phone number (E.164).
    Phone(&'a str),
    /// An email address.
    Email(&'a str),
}

impl<'a> Destination<'a> {
    /// Where an SMS or email factor's codes go; `None` for a factor that has no codes sent.
    pub(super) fn of(factor: &'a Factor) -> Option<Self> {
        match &factor.method {
            Method::Sms { phone, .. } => Some(Destination::Phone(phone)),
            Method::Email { email, .. } => Some(Destination::Email(email)),
            Method::Totp { .. } | Method::Webauthn { .. } => None,
        }
    }
}

impl Mfa {
    /// The user's usable factors other than `except`, for errors that say "use another one".
    pub(super) async fn other_factors(
        &self,
        user: &UserId,
        except: &FactorId,
    ) -> Result<Vec<Factor>, Error> {
        Ok(self
            .store
            .list_factors(user)
            .await?
            .into_iter()
            .filter(|f| f.status == FactorStatus::Active && &f.id != except)
            .collect())
    }

    /// Refuses a number that opted out, or that had its hourly texts.
    pub(super) async fn check_sms_allowed(
        &self,
        user: &UserId,
        factor_id: &FactorId,
        phone: &str,
    ) -> Result<(), Error> {
        if self.store.is_opted_out(phone).await? {
            return Err(Error::UseAnotherFactor {
                reason: "this number replied STOP and gets no texts: reply START to it to opt back in, or use another factor",
                factors: self.other_factors(user, factor_id).await?,
            });
        }
        if !self
            .store
            .take_send_slot(phone, self.now(), SMS_CAP_WINDOW, self.sms.max_per_hour)
            .await?
        {
            return Err(Error::UseAnotherFactor {
                reason: "too many texts went to this number in the last hour: use another factor, or try later",
                factors: self.other_factors(user, factor_id).await?,
            });
        }
        Ok(())
    }

    /// Makes a code, stores its challenge (hashed, bound to the challenge id) and sends it. The
    /// code lives its channel's lifetime, but not past `not_after` (the end of its login).
    pub(super) async fn send_code(
        &self,
        factor: &Factor,
        to: Destination<'_>,
        purpose: ChallengePurpose,
        not_after: u64,
    ) -> Result<Challenge, Error> {
        let now = self.now();
        let id = self.with_rng(ChallengeId::generate);
        let code = self.with_rng(|rng| oob_code::generate(&mut &mut *rng));
        let ttl = match to {
            Destination::Phone(_) => SMS_CODE_TTL,
            Destination::Email(_) => EMAIL_CODE_TTL,
        };
        let hash = oob_code::hash(&self.code_key, id.as_str(), &code);
        let challenge = Challenge {
            id: id.clone(),
            user: factor.user.clone(),
            factor_id: factor.id.clone(),
            created_at: now,
            expires_at: (now + ttl).min(not_after),
            consumed_at: None,
            purpose,
            answer: Answer::SentCode { hash: data_encoding::HEXLOWER.encode(&hash) },
            attempts: 0,
        };
        self.store.insert_challenge(&challenge).await?;
        let sent = match to {
            Destination::Phone(phone) => {
                let text =
                    messages::sms_code(&self.issuer_name, &code, self.sms.webotp_domain.as_deref());
                self.sms_sender.send_sms(phone, &text).await
            }
            Destination::Email(address) => {
                let email = messages::email_code(&self.issuer_name, address, &code, ttl / 60);
                self.email_sender.send_email(&email).await
            }
        };
        sent.map_err(|e| Error::SendFailed(e.0))?;
        tracing::info!(user = %factor.user, factor = %factor.id, challenge = %id, "code sent");
        Ok(challenge)
    }

    /// Checks a sent code against its challenge and uses the challenge up: the attempt counts
    /// on the account and on the challenge, the code is compared in constant time.
    pub(super) async fn check_code(&self, challenge: &Challenge, code: &str) -> Result<(), Error> {
        self.match_code(challenge, code).await?;
        if !self.store.consume_challenge(&challenge.id, self.now()).await? {
            return Err(Error::Conflict("the challenge has already been answered"));
        }
        Ok(())
    }

    /// Checks a sent code against its challenge without using the challenge up (an activation
    /// uses it up in its own transaction): the attempt counts on the account and on the
    /// challenge's 5, the code is compared in constant time, and a match resets the account's
    /// count. A challenge answered by the app's code has no code sent, so nothing typed matches.
    pub(super) async fn match_code(&self, challenge: &Challenge, code: &str) -> Result<(), Error> {
        let stored = match &challenge.answer {
            Answer::SentCode { hash } => data_encoding::HEXLOWER.decode(hash.as_bytes()).ok(),
            Answer::AppCode | Answer::Webauthn { .. } => None,
        };
        if challenge.consumed_at.is_some() {
            return Err(Error::Conflict("the challenge has already been answered"));
        }
        if challenge.expires_at <= self.now() {
            return Err(Error::Expired("code"));
        }
        self.begin_attempt(&challenge.user, Budget::SecondFactor).await?;
        if !self.store.record_challenge_attempt(&challenge.id, MAX_CODE_ATTEMPTS).await? {
            return Err(Error::Conflict("this code has no attempts left: ask for a new code"));
        }
        let matches = stored.is_some_and(|stored| {
            oob_code::verify(&self.code_key, challenge.id.as_str(), code, &stored)
        });
        if !matches {
            return Err(Error::CodeRejected);
        }
        self.store.succeed(&challenge.user, Budget::SecondFactor).await?;
        Ok(())
    }
}
