//! The service's metrics, through the `metrics` facade: the Lambda functions emit them as
//! CloudWatch Embedded Metric Format lines (`metrics_cloudwatch_embedded`, flushed after each
//! invocation, in the namespace `MFA_METRICS_NAMESPACE`), mfa-local serves them at `/metrics`
//! in Prometheus text format. Every metric is a counter; its labels are CloudWatch dimensions.
//!
//! | metric | labels | counts |
//! |---|---|---|
//! | `mfa_verifies_total` | `factor` (`totp`, `sms`, `email`, `webauthn`, `recovery_code`), `outcome` (`passed`, `rejected`, `locked`) | codes and assertions checked |
//! | `mfa_lockouts_total` | `budget` (`second_factor`, `recovery_codes`) | failures that locked an account |
//! | `mfa_messages_sent_total` | `channel` (`sms`, `voice`, `email`) | messages the provider took |
//! | `mfa_messages_refused_total` | `channel`, `reason` (`budget`, `opted_out`, `login_had_message`, `provider`) | messages not sent |
//! | `mfa_budget_hits_total` | `budget` (`number_texts`, `number_calls`, `address_emails`, `number_replies`, `lock_notices`, `user`, `org`, `deployment`) | messages refused by a used-up sending budget |
//! | `mfa_webhook_keywords_total` | `keyword` (`stop`, `help`, `start`, `other`) | inbound texts acted on |
//! | `mfa_cold_starts_total` | | processes started |

use async_trait::async_trait;
use metrics::counter;
use std::sync::Arc;

use crate::model::{Budget, FactorKind, SendScope};
use crate::ports::{Email, EmailSender, SendError, SmsSender, VoiceCall, VoiceSender};

/// Codes and assertions checked.
pub const VERIFIES: &str = "mfa_verifies_total";
/// Failures that locked an account.
pub const LOCKOUTS: &str = "mfa_lockouts_total";
/// Messages the provider took.
pub const MESSAGES_SENT: &str = "mfa_messages_sent_total";
/// Messages not sent.
pub const MESSAGES_REFUSED: &str = "mfa_messages_refused_total";
/// Messages refused by a used-up sending budget.
pub const BUDGET_HITS: &str = "mfa_budget_hits_total";
/// Inbound texts acted on, by keyword.
pub const WEBHOOK_KEYWORDS: &str = "mfa_webhook_keywords_total";
/// Processes started.
pub const COLD_STARTS: &str = "mfa_cold_starts_total";

/// What was checked: a factor's code or assertion, or a recovery code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// A factor of this kind.
    Factor(FactorKind),
    /// A recovery code.
    RecoveryCode,
}

impl Checked {
    fn label(self) -> &'static str {
        match self {
            Checked::Factor(kind) => kind.as_str(),
            Checked::RecoveryCode => "recovery_code",
        }
    }
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The proof was right.
    Passed,
    /// The proof was wrong (counted against the account).
    Rejected,
    /// The account was locked: nothing was checked.
    Locked,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Rejected => "rejected",
            Outcome::Locked => "locked",
        }
    }
}

/// A message's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A text message.
    Sms,
    /// A call.
    Voice,
    /// An email.
    Email,
}

impl Channel {
    /// The channel of a message counted on `scope`, if it names one.
    pub fn of(scope: &SendScope) -> Option<Self> {
        match scope {
            SendScope::Texts(_) | SendScope::Replies(_) => Some(Channel::Sms),
            SendScope::Calls(_) => Some(Channel::Voice),
            SendScope::Emails(_) => Some(Channel::Email),
            SendScope::LockNotices(_)
            | SendScope::User(_)
            | SendScope::Org(_)
            | SendScope::Deployment(_) => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Voice => "voice",
            Channel::Email => "email",
        }
    }
}

/// Why a message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSent {
    /// A sending budget was used up.
    Budget,
    /// The number replied STOP.
    OptedOut,
    /// The sign-in had its one text or call.
    LoginHadMessage,
    /// The provider refused or failed.
    Provider,
}

impl NotSent {
    fn label(self) -> &'static str {
        match self {
            NotSent::Budget => "budget",
            NotSent::OptedOut => "opted_out",
            NotSent::LoginHadMessage => "login_had_message",
            NotSent::Provider => "provider",
        }
    }
}

/// A check of `what` ended with `outcome`.
pub fn verified(what: Checked, outcome: Outcome) {
    counter!(VERIFIES, "factor" => what.label(), "outcome" => outcome.label()).increment(1);
}

/// A failure locked the account's `budget`.
pub fn locked_out(budget: Budget) {
    let label = match budget {
        Budget::SecondFactor => "second_factor",
        Budget::RecoveryCodes => "recovery_codes",
    };
    counter!(LOCKOUTS, "budget" => label).increment(1);
}

/// A message of `channel` was not sent, for `reason`.
pub fn refused(channel: Channel, reason: NotSent) {
    counter!(MESSAGES_REFUSED, "channel" => channel.label(), "reason" => reason.label())
        .increment(1);
}

/// The sending budget of `scope` was used up.
pub fn budget_hit(scope: &SendScope) {
    let label = match scope {
        SendScope::Texts(_) => "number_texts",
        SendScope::Calls(_) => "number_calls",
        SendScope::Emails(_) => "address_emails",
        SendScope::Replies(_) => "number_replies",
        SendScope::LockNotices(_) => "lock_notices",
        SendScope::User(_) => "user",
        SendScope::Org(_) => "org",
        SendScope::Deployment(_) => "deployment",
    };
    counter!(BUDGET_HITS, "budget" => label).increment(1);
}

/// An inbound text was this keyword (`stop`, `help`, `start` or `other`).
pub fn webhook_keyword(keyword: &'static str) {
    counter!(WEBHOOK_KEYWORDS, "keyword" => keyword).increment(1);
}

/// The process started.
pub fn cold_start() {
    counter!(COLD_STARTS).increment(1);
}

/// A sender that counts what its inner sender sends and fails to send.
pub struct Metered<S: ?Sized>(pub Arc<S>);

impl<S: ?Sized> Metered<S> {
    fn count<T>(channel: Channel, result: Result<T, SendError>) -> Result<T, SendError> {
        match &result {
            Ok(_) => counter!(MESSAGES_SENT, "channel" => channel.label()).increment(1),
            Err(_) => refused(channel, NotSent::Provider),
        }
        result
    }
}

#[async_trait]
impl SmsSender for Metered<dyn SmsSender> {
    async fn send_sms(&self, to: &str, body: &str) -> Result<(), SendError> {
        Self::count(Channel::Sms, self.0.send_sms(to, body).await)
    }
    async fn opt_in(&self, to: &str) -> Result<(), SendError> {
        self.0.opt_in(to).await
    }
}

#[async_trait]
impl VoiceSender for Metered<dyn VoiceSender> {
    async fn call(&self, to: &str, call: &VoiceCall) -> Result<(), SendError> {
        Self::count(Channel::Voice, self.0.call(to, call).await)
    }
}

#[async_trait]
impl EmailSender for Metered<dyn EmailSender> {
    async fn send_email(&self, email: &Email) -> Result<(), SendError> {
        Self::count(Channel::Email, self.0.send_email(email).await)
    }
}
