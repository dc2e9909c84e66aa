//! Out-of-band codes: sending a code by text, call or email as a challenge, and checking one.
//!
//! The carrier rules live here: no text to a number that replied STOP, every message counted
//! against the sending budgets first (`super::sending`), and codes that live 5 minutes by phone and
//! 10 by email, take at most 5 attempts, and are stored only hashed.

use mfa_core::oob_code;

use super::sending::{Along, Recipient, Refusal};
use super::{messages, Error, Mfa};
use crate::ids::{ChallengeId, FactorId, LoginId, OrgId, UserId};
use crate::model::{
    Answer, Budget, Challenge, ChallengePurpose, Delivery, Factor, FactorStatus, Method, SendScope,
};

/// How long a code by text or call is valid.
pub const SMS_CODE_TTL: u64 = 5 * 60;
/// How long an email code is valid.
pub const EMAIL_CODE_TTL: u64 = 10 * 60;
/// Attempts allowed per code.
pub const MAX_CODE_ATTEMPTS: u32 = 5;

/// Where a code goes, and how.
#[derive(Debug, Clone, Copy)]
pub(super) enum Destination<'a> {
    /// A text to a phone number (E.164).
    Text(&'a str),
    /// A call to a phone number (E.164).
    Call(&'a str),
    /// An email address.
    Email(&'a str),
}

impl<'a> Destination<'a> {
    /// Where an SMS or email factor's codes go, by `delivery` (`None`: the default, a text);
    /// `None` for a factor that has no codes sent. A call is refused for an email factor.
    pub(super) fn of(
        factor: &'a Factor,
        delivery: Option<Delivery>,
    ) -> Result<Option<Self>, Error> {
        Ok(match (&factor.method, delivery) {
            (Method::Sms { phone, .. }, None | Some(Delivery::Sms)) => Some(Self::Text(phone)),
            (Method::Sms { phone, .. }, Some(Delivery::Voice)) => Some(Self::Call(phone)),
            (Method::Email { email, .. }, None) => Some(Self::Email(email)),
            (_, Some(_)) => {
                return Err(Error::BadRequest(
                    "delivery (sms or voice) applies to a phone factor only".into(),
                ))
            }
            (Method::Totp { .. } | Method::Webauthn { .. }, None) => None,
        })
    }

    /// Which login message it takes, for a phone.
    pub(super) fn login_message(self) -> Option<Delivery> {
        match self {
            Self::Text(_) => Some(Delivery::Sms),
            Self::Call(_) => Some(Delivery::Voice),
            Self::Email(_) => None,
        }
    }

    fn scope(self) -> SendScope {
        match self {
            Self::Text(phone) => SendScope::Texts(phone.to_owned()),
            Self::Call(phone) => SendScope::Calls(phone.to_owned()),
            Self::Email(address) => SendScope::Emails(address.to_owned()),
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

    /// Makes a code, stores its challenge (hashed, bound to the challenge id) and sends it.
    /// The code lives its channel's lifetime, but not past `not_after` (the end of its login).
    ///
    /// Before anything is sent, one store transaction counts the message against the sending
    /// budgets (of `user`'s orgs `orgs`, read when `None`) and stores the challenge, on
    /// condition that a text's number has not opted out and, for `login`'s text or call, that
    /// the login has not had it; a call is refused when calls are not configured. A message
    /// the provider refused gives the login its text (or call) back.
    pub(super) async fn send_code(
        &self,
        factor: &Factor,
        to: Destination<'_>,
        purpose: ChallengePurpose,
        not_after: u64,
        login: Option<(&LoginId, &[OrgId])>,
    ) -> Result<Challenge, Error> {
        if matches!(to, Destination::Call(_)) && self.voice.is_none() {
            return Err(Error::BadRequest(
                "calls are not enabled (MFA_VOICE_ORIGINATION_IDENTITY is not set): use delivery sms".into(),
            ));
        }
        let now = self.now();
        let id = self.with_rng(ChallengeId::generate);
        let code = self.with_rng(|rng| oob_code::generate(&mut &mut *rng));
        let ttl = match to {
            Destination::Text(_) | Destination::Call(_) => SMS_CODE_TTL,
            Destination::Email(_) => EMAIL_CODE_TTL,
        };
        let hash =
            data_encoding::HEXLOWER.encode(&oob_code::hash(&self.code_key, id.as_str(), &code));
        let challenge = Challenge {
            id: id.clone(),
            user: factor.user.clone(),
            factor_id: factor.id.clone(),
            created_at: now,
            expires_at: (now + ttl).min(not_after),
            consumed_at: None,
            purpose,
            answer: match to {
                Destination::Call(_) => Answer::CalledCode { hash },
                Destination::Text(_) | Destination::Email(_) => Answer::SentCode { hash },
            },
            attempts: 0,
            factor_kind: Some(factor.kind()),
        };
        let user = &factor.user;
        let login_message = login.zip(to.login_message()).map(|((id, _), by)| (id, by));
        let along = Along {
            not_opted_out: match to {
                Destination::Text(phone) => Some(phone),
                Destination::Call(_) | Destination::Email(_) => None,
            },
            login_message,
            challenge: Some(&challenge),
        };
        let recipient = match login {
            Some((_, orgs)) => Recipient::Member(user, orgs),
            None => Recipient::User(user),
        };
        let refused = match self.take_send(recipient, to.scope(), along).await {
            Ok(()) => None,
            Err(Refusal::Budget(e)) => return Err(e),
            Err(Refusal::LoginHadMessage) => {
                let by = login_message.map_or(Delivery::Sms, |(_, by)| by);
                return Err(self.login_had_its_message(user, &factor.id, by).await?);
            }
            Err(Refusal::OptedOut) => Some("this number replied STOP and gets no texts: reply START to it to opt back in, ask for a call, or use another factor"),
            Err(Refusal::Destination) => Some(match to {
                Destination::Text(_) => "too many texts went to this number in the last hour: ask for a call, use another factor, or try later",
                Destination::Call(_) => "too many calls went to this number in the last hour: use another factor, or try later",
                Destination::Email(_) => "too many emails went to this address in the last hour: use another factor, or try later",
            }),
        };
        if let Some(reason) = refused {
            return Err(Error::UseAnotherFactor {
                reason,
                factors: self.other_factors(user, &factor.id).await?,
            });
        }
        let sent = match to {
            Destination::Text(phone) => {
                let text =
                    messages::sms_code(&self.issuer_name, &code, self.sms.webotp_domain.as_deref());
                self.sms_sender.send_sms(phone, &text).await
            }
            Destination::Call(phone) => {
                self.voice_sender.call(phone, &messages::voice_code(&self.issuer_name, &code)).await
            }
            Destination::Email(address) => {
                let email = messages::email_code(&self.issuer_name, address, &code, ttl / 60);
                self.email_sender.send_email(&email).await
            }
        };
        if let Err(e) = sent {
            // Nothing reached the phone: the sign-in keeps its text (or call).
            if let Some((login, by)) = login_message {
                if let Err(e) = self.store.return_login_message(login, by).await {
                    tracing::warn!(login = %login, error = %e, "login's message not given back");
                }
            }
            return Err(Error::SendFailed(e.0));
        }
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
        if !self.code_matches(challenge, code) {
            return Err(Error::CodeRejected);
        }
        self.store.succeed(&challenge.user, Budget::SecondFactor).await?;
        Ok(())
    }

    /// Whether `code` is the code sent for `challenge`, compared in constant time. A challenge
    /// answered by the app's code or a key has no code sent, so nothing typed matches.
    pub(super) fn code_matches(&self, challenge: &Challenge, code: &str) -> bool {
        let stored = match &challenge.answer {
            Answer::SentCode { hash } | Answer::CalledCode { hash } => {
                data_encoding::HEXLOWER.decode(hash.as_bytes()).ok()
            }
            Answer::AppCode { .. } | Answer::Webauthn { .. } => None,
        };
        stored.is_some_and(|stored| {
            oob_code::verify(&self.code_key, challenge.id.as_str(), code, &stored)
        })
    }
}
