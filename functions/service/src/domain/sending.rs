//! The sending budgets: every message the service sends (a code by text, call or email, a notice,
//! a reply to an inbound text) is first counted against each budget it falls under, all at once
//! (one store transaction), and is not sent when one is used up.
//!
//! | budget | default | configured by |
//! |---|---|---|
//! | texts to one number, per hour | 5 | `MFA_SMS_MAX_PER_HOUR` |
//! | calls to one number, per hour | 3 | `MFA_VOICE_MAX_PER_HOUR` |
//! | emails to one address, per hour | 5 | `MFA_EMAIL_MAX_PER_HOUR` |
//! | replies to one number's inbound texts, per hour | 1 | (fixed) |
//! | messages to one user, per hour / per day | 10 / 30 | `MFA_USER_MAX_SENDS_PER_HOUR` / `_PER_DAY` |
//! | messages to the members of one org, per hour | 1000 | `MFA_ORG_MAX_SENDS_PER_HOUR` |
//! | messages of the whole deployment, per hour | 10000 | `MFA_MAX_SENDS_PER_HOUR` |
//!
//! The deployment's count is spread over [`DEPLOYMENT_SHARDS`] records of an equal share each, so
//! that no single DynamoDB item takes every send: a message is counted on a shard picked at
//! random, and on the next one when that one is full, so it is refused only when every shard is.

use super::{Error, Mfa};
use crate::ids::{LoginId, OrgId, UserId};
use crate::model::{Challenge, Delivery, SendLimit, SendScope};
use crate::ports::{SendRefused, Sending};
use crate::telemetry::{self, Channel, NotSent};

/// How many records the deployment's count is spread over: a power of two, so that counting
/// turns on from a random `u32` wraps round them evenly.
pub const DEPLOYMENT_SHARDS: u8 = 8;
const _: () = assert!(DEPLOYMENT_SHARDS.is_power_of_two());
/// An hour, the window of most budgets.
const HOUR: u64 = 3600;
/// A day.
const DAY: u64 = 86_400;

/// Why a message was not counted (and must not be sent).
#[derive(Debug)]
pub(super) enum Refusal {
    /// The destination's own budget (the number's texts or calls, the address's emails, the
    /// number's replies) is used up.
    Destination,
    /// A budget of the user, an org or the deployment is used up: [`Error::TooManyMessages`].
    Budget(Error),
    /// The number opted out (STOP).
    OptedOut,
    /// The login had its text (or call).
    LoginHadMessage,
}

/// What is written with a message counted, in the same store transaction.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Along<'a> {
    /// A text's number: the message is refused if it opted out.
    pub not_opted_out: Option<&'a str>,
    /// The login whose one text (or call) the message is.
    pub login_message: Option<(&'a LoginId, Delivery)>,
    /// The challenge whose code the message carries.
    pub challenge: Option<&'a Challenge>,
}

/// Whose message it is: nobody's (a reply to an inbound text), or a user's, with the orgs the
/// user belongs to when they were read already.
#[derive(Debug, Clone, Copy)]
pub(super) enum Recipient<'a> {
    /// No user's.
    Nobody,
    /// A user's; their orgs are read.
    User(&'a UserId),
    /// A user's, in these orgs.
    Member(&'a UserId, &'a [OrgId]),
}

impl Mfa {
    /// Counts one message to `to` (for a user's, theirs and their orgs' too) against every
    /// budget it falls under, with what goes `along` with it, all or nothing; see the module
    /// docs.
    pub(super) async fn take_send(
        &self,
        recipient: Recipient<'_>,
        to: SendScope,
        along: Along<'_>,
    ) -> Result<(), Refusal> {
        let channel = Channel::of(&to);
        let taken = self.take_send_counted(recipient, to, along).await;
        if let (Some(channel), Err(refusal)) = (channel, &taken) {
            let reason = match refusal {
                Refusal::Destination | Refusal::Budget(Error::TooManyMessages { .. }) => {
                    Some(NotSent::Budget)
                }
                Refusal::OptedOut => Some(NotSent::OptedOut),
                Refusal::LoginHadMessage => Some(NotSent::LoginHadMessage),
                Refusal::Budget(_) => None,
            };
            if let Some(reason) = reason {
                telemetry::refused(channel, reason);
            }
        }
        taken
    }

    async fn take_send_counted(
        &self,
        recipient: Recipient<'_>,
        to: SendScope,
        along: Along<'_>,
    ) -> Result<(), Refusal> {
        let now = self.now();
        let budgets = &self.budgets;
        let destination_max = match &to {
            SendScope::Texts(_) => self.sms.max_per_hour,
            SendScope::Calls(_) => self.voice.as_ref().map_or(0, |v| v.max_per_hour),
            SendScope::Emails(_) => budgets.email_per_hour,
            SendScope::Replies(_) | SendScope::LockNotices(_) => 1,
            SendScope::User(_) | SendScope::Org(_) | SendScope::Deployment(_) => u32::MAX,
        };
        let mut limits = vec![SendLimit { scope: to, window: HOUR, max: destination_max }];
        let read;
        let member = match recipient {
            Recipient::Nobody => None,
            Recipient::Member(user, orgs) => Some((user, orgs)),
            Recipient::User(user) => {
                read = self.store.memberships(user).await.map_err(|e| Refusal::Budget(e.into()))?;
                Some((user, read.as_slice()))
            }
        };
        if let Some((user, orgs)) = member {
            let scope = || SendScope::User(user.clone());
            limits.push(SendLimit { scope: scope(), window: HOUR, max: budgets.user_per_hour });
            limits.push(SendLimit { scope: scope(), window: DAY, max: budgets.user_per_day });
            limits.extend(orgs.iter().map(|org| SendLimit {
                scope: SendScope::Org(org.clone()),
                window: HOUR,
                max: budgets.org_per_hour,
            }));
        }
        let share = budgets.deployment_per_hour.div_ceil(u32::from(DEPLOYMENT_SHARDS));
        // A random shard first, then the next ones in turn.
        let first = self.with_rng(|rng| rng.next_u32());
        let deployment = limits.len();
        for turn in 0..u32::from(DEPLOYMENT_SHARDS) {
            let shard = (first.wrapping_add(turn) % u32::from(DEPLOYMENT_SHARDS)) as u8;
            limits.truncate(deployment);
            limits.push(SendLimit {
                scope: SendScope::Deployment(shard),
                window: HOUR,
                max: share,
            });
            let sending = Sending {
                limits: &limits,
                not_opted_out: along.not_opted_out,
                login_message: along.login_message,
                challenge: along.challenge,
            };
            let full = match self.store.take_sends(&sending, now).await {
                Ok(None) => return Ok(()),
                Ok(Some(SendRefused::Full(full))) => full,
                Ok(Some(SendRefused::OptedOut)) => return Err(Refusal::OptedOut),
                Ok(Some(SendRefused::LoginHadMessage)) => return Err(Refusal::LoginHadMessage),
                Err(e) => return Err(Refusal::Budget(e.into())),
            };
            if full != deployment {
                return Err(self.refusal(&limits[full], now));
            }
        }
        Err(self.refusal(&limits[deployment], now))
    }

    /// The refusal for the used-up `limit`, logged: a user's budget as a warning, an org's or
    /// the deployment's as an error (a leaked key, or a pumping attack, may be spending).
    fn refusal(&self, limit: &SendLimit, now: u64) -> Refusal {
        telemetry::budget_hit(&limit.scope);
        let (_, _, ends_at) = limit.record(now);
        let retry_after = ends_at.saturating_sub(now).max(1);
        let reason = match &limit.scope {
            SendScope::User(user) => {
                tracing::warn!(user = %user, window = limit.window, max = limit.max, "user's sending budget used up");
                "too many messages went to this user: try again later, or use an authenticator app, a security key or a recovery code"
            }
            SendScope::Org(org) => {
                tracing::error!(org = %org, max = limit.max, "org's hourly sending budget used up");
                "too many messages went to this user's organisation in the last hour: try again later, or use an authenticator app, a security key or a recovery code"
            }
            SendScope::Deployment(_) => {
                tracing::error!(
                    max = self.budgets.deployment_per_hour,
                    "the deployment's hourly sending budget is used up"
                );
                "the service sent as many messages as it may this hour: try again later, or use an authenticator app, a security key or a recovery code"
            }
            SendScope::Texts(_)
            | SendScope::Calls(_)
            | SendScope::Emails(_)
            | SendScope::Replies(_)
            | SendScope::LockNotices(_) => return Refusal::Destination,
        };
        Refusal::Budget(Error::TooManyMessages { reason, until: ends_at, retry_after })
    }
}
