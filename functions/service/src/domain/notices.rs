//! Notices: the user is told when their sign-in methods change, a recovery code is used, or
//! sign-in locks, through each of their active email factors (and, for a phone change, by text
//! to the old number), with what happened, when, and what to do if it wasn't them.
//!
//! A notice is sent after the change it tells of has happened, so a notice that can't go out
//! (a sending budget used up, the provider refusing) is logged, never an error of the change.
//! Notices count against the sending budgets but not against a sign-in's one text; an org can turn
//! them off ([`crate::model::OrgPolicy::notices`]).

use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

use super::sending::{Along, Recipient};
use super::{messages, Error, Mfa};
use crate::ids::UserId;
use crate::model::{Factor, FactorStatus, Method, SendLimit, SendScope, WebauthnKind};
use crate::ports::Sending;

/// What a notice tells of.
#[derive(Debug, Clone, Copy)]
pub(super) enum Notice<'a> {
    /// A factor was activated.
    FactorAdded {
        /// The factor.
        factor: &'a Factor,
    },
    /// The user deleted a factor.
    FactorRemoved {
        /// The factor, as it was.
        factor: &'a Factor,
    },
    /// An administrator reset (deleted) a factor.
    FactorReset {
        /// The factor, as it was.
        factor: &'a Factor,
    },
    /// An SMS factor's number changed from `old`.
    PhoneChanged {
        /// The number before.
        old: &'a str,
    },
    /// A new set of recovery codes replaced the old one.
    RecoveryCodesReplaced,
    /// A recovery code was used.
    RecoveryCodeUsed {
        /// Codes left.
        remaining: usize,
    },
    /// Sign-in by second factor was refused: too many wrong codes.
    Locked,
}

/// The last digits of a phone number, as a notice shows it.
fn number_ending(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().rev().take(2).collect();
    format!("the phone number ending in {}", digits.iter().rev().collect::<String>())
}

/// What `factor` is, in a sentence.
fn described(factor: &Factor) -> String {
    match &factor.method {
        Method::Totp { .. } => "an authenticator app".to_owned(),
        Method::Sms { phone, .. } => number_ending(phone),
        Method::Email { email, .. } => format!("the email address {email}"),
        Method::Webauthn { kind: WebauthnKind::SecurityKey, .. } => "a security key".to_owned(),
        Method::Webauthn { kind: WebauthnKind::Passkey, .. } => "a passkey".to_owned(),
    }
}

impl Notice<'_> {
    /// What happened, as the start of a sentence ("a passkey was added to your account").
    fn what(&self) -> String {
        match self {
            Self::FactorAdded { factor } => {
                format!("{} was added to your account's sign-in methods", described(factor))
            }
            Self::FactorRemoved { factor } => {
                format!("{} was removed from your account's sign-in methods", described(factor))
            }
            Self::FactorReset { factor } => format!(
                "an administrator removed {} from your account's sign-in methods",
                described(factor)
            ),
            Self::PhoneChanged { old } => {
                format!(
                    "the number of your text-message sign-in changed from {}",
                    number_ending(old)
                )
            }
            Self::RecoveryCodesReplaced => {
                "new recovery codes were made for your account; the old ones no longer work"
                    .to_owned()
            }
            Self::RecoveryCodeUsed { remaining } => {
                format!("a recovery code was used to sign in to your account ({remaining} left)")
            }
            Self::Locked => {
                "sign-in to your account was paused after too many wrong codes".to_owned()
            }
        }
    }

    /// An address the notice also goes to, though no longer (or not yet) an active factor:
    /// a removed email factor's.
    fn also_to(&self) -> Option<&str> {
        match self {
            Self::FactorRemoved { factor } | Self::FactorReset { factor } => match &factor.method {
                Method::Email { email, .. } => Some(email),
                _ => None,
            },
            _ => None,
        }
    }
}

impl Mfa {
    /// Tells `user` of `notice` (see the module docs). Never fails: what can't be sent is logged.
    pub(super) async fn notify(&self, user: &UserId, notice: Notice<'_>) {
        if let Err(e) = self.try_notify(user, notice).await {
            tracing::warn!(user = %user, error = %e, "notice not sent");
        }
    }

    async fn try_notify(&self, user: &UserId, notice: Notice<'_>) -> Result<(), Error> {
        let (factors, orgs) = self.store.factors_and_orgs(user).await?;
        if !self.policy_of_orgs(orgs.clone()).await?.strictest.notices {
            return Ok(());
        }
        let to_user = Recipient::Member(user, &orgs);
        let now = self.now();
        let when = OffsetDateTime::from_unix_timestamp(i64::try_from(now).unwrap_or(i64::MAX))
            .ok()
            .and_then(|t| t.format(&Rfc2822).ok())
            .unwrap_or_else(|| format!("{now} (Unix time)"));
        let what = notice.what();
        let mut addresses: Vec<String> = factors
            .into_iter()
            .filter(|f| f.status == FactorStatus::Active)
            .filter_map(|f| match f.method {
                Method::Email { email, .. } => Some(email),
                _ => None,
            })
            .collect();
        addresses.extend(notice.also_to().map(str::to_owned));
        addresses.sort();
        addresses.dedup();
        let (product, support) = (&self.issuer_name, &self.sms.support_contact);
        for address in addresses {
            let scope = SendScope::Emails(address.clone());
            if self.take_send(to_user, scope, Along::default()).await.is_err() {
                tracing::warn!(user = %user, "notice email refused by a sending budget");
                continue;
            }
            let email = messages::notice_email(product, &address, &what, &when, support);
            if let Err(e) = self.email_sender.send_email(&email).await {
                tracing::warn!(user = %user, error = %e, "notice email not sent");
            }
        }
        if let Notice::PhoneChanged { old } = notice {
            let along = Along { not_opted_out: Some(old), ..Along::default() };
            if self.take_send(to_user, SendScope::Texts(old.to_owned()), along).await.is_err() {
                tracing::warn!(user = %user, "notice text not sent: opted out, or refused by a sending budget");
                return Ok(());
            }
            let text = messages::notice_sms(product, &what, &when, support);
            if let Err(e) = self.sms_sender.send_sms(old, &text).await {
                tracing::warn!(user = %user, error = %e, "notice text not sent");
            }
        }
        Ok(())
    }

    /// Tells `user` that sign-in locked: at most once an hour, however many attempts the lock
    /// refuses.
    pub(super) async fn notify_locked(&self, user: &UserId) {
        let once = SendLimit { scope: SendScope::LockNotices(user.clone()), window: 3600, max: 1 };
        match self.store.take_sends(&Sending::counted(&[once]), self.now()).await {
            Ok(None) => self.notify(user, Notice::Locked).await,
            Ok(Some(_)) => tracing::debug!(user = %user, "lock notice sent already this hour"),
            Err(e) => tracing::warn!(user = %user, error = %e, "lock notice not sent"),
        }
    }
}
