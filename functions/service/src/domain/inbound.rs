//! Inbound text messages: the SMS program's keywords, as AWS End User Messaging SMS delivers
//! them through an SNS topic to the webhook.
//!
//! Only a message that [`SnsVerifier`] verified is acted on. A subscription confirmation is
//! confirmed; a notification carries a two-way SMS (`originationNumber` is the user's phone)
//! whose whole body is classified by `mfa_core::sms_keyword`:
//!
//! | keyword | effect | reply |
//! |---|---|---|
//! | STOP and the other opt-out words | the number gets no more codes | [`messages::stop_reply`] |
//! | HELP, INFO | none | [`messages::help_reply`] |
//! | START, YES, UNSTOP | the opt-out is lifted, here and at the provider (`OptInPhoneNumber`) | [`messages::start_reply`] |
//! | anything else | none | none |
//!
//! Replies bypass the opt-out check (the STOP confirmation must go out), but go only to numbers
//! of the calling codes the service texts (`MFA_SMS_CALLING_CODES`: a text from elsewhere is
//! acted on, never answered), at most one an hour to a number, and count against the
//! deployment's sending budget (`super::sending`): a flood of inbound texts can't make the
//! service spend.
//!
//! SNS delivers at least once: a notification may arrive twice, or be retried after a timeout.
//! Each one is acted on once: its `MessageId` is claimed in the store (one conditional write)
//! before anything is done, and a repeat is answered [`InboundOutcome::Duplicate`] with no
//! reply. A message is taken from [`MAX_MESSAGE_AGE`] before its timestamp to as long after, both
//! ends included; a claim lasts that long and one second more (`2 * MAX_MESSAGE_AGE + 1`), so
//! that however early the first delivery came, a repeat is ignored until SNS's own retries are
//! refused as stale. If handling fails the claim is given up, so that SNS's retry is acted on.

use std::sync::LazyLock;

use mfa_core::phone::{parse_sms_number, PhonePolicy};
use mfa_core::sms_keyword::{classify, Keyword};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sending::{Along, Recipient, Refusal};
use super::{messages, Error, Mfa};
use crate::model::SendScope;
use crate::sns_verify::{MessageType, SnsError, SnsVerifier, VerifiedMessage, MAX_MESSAGE_AGE};
use crate::telemetry;

/// Every country calling code: an inbound number is whatever number texted us.
static ANY_COUNTRY: LazyLock<PhonePolicy> = LazyLock::new(|| PhonePolicy::new((1..=999).collect()));

/// What the webhook did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InboundOutcome {
    /// The SNS subscription was confirmed.
    SubscriptionConfirmed,
    /// SNS says the endpoint was unsubscribed; nothing to do.
    Unsubscribed,
    /// The number opted out (STOP) and was told so.
    OptedOut,
    /// The number asked for help (HELP) and got the help text.
    HelpSent,
    /// The number opted back in (START) and was told so.
    OptedIn,
    /// Not a keyword: nothing done.
    Ignored,
    /// SNS delivered this notification before: nothing done again.
    Duplicate,
}

/// The webhook's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookAnswer {
    /// What was done.
    pub outcome: InboundOutcome,
}

/// The `Message` of a two-way SMS notification (AWS End User Messaging SMS).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InboundSms {
    /// The phone that sent the text: the user's.
    origination_number: String,
    /// The text.
    message_body: String,
    /// Its id, for the logs.
    #[serde(default)]
    inbound_message_id: Option<String>,
}

impl Mfa {
    /// Verifies `body`, posted by SNS to the webhook, with `verifier`, then acts on it (see the
    /// module docs). Refused messages are [`Error::Webhook`] and change nothing.
    pub async fn sms_webhook(
        &self,
        verifier: &SnsVerifier,
        body: &[u8],
    ) -> Result<WebhookAnswer, Error> {
        let message = verifier.verify(body, self.now()).await?;
        let outcome = match message.kind {
            MessageType::SubscriptionConfirmation => {
                verifier.confirm_subscription(&message).await?;
                tracing::info!(topic = %message.topic_arn, "SNS subscription confirmed");
                InboundOutcome::SubscriptionConfirmed
            }
            MessageType::UnsubscribeConfirmation => {
                tracing::info!(topic = %message.topic_arn, "SNS subscription ended");
                InboundOutcome::Unsubscribed
            }
            MessageType::Notification => self.notification_once(&message).await?,
        };
        Ok(WebhookAnswer { outcome })
    }

    /// Acts on a verified notification unless it was delivered before (see the module docs).
    async fn notification_once(&self, message: &VerifiedMessage) -> Result<InboundOutcome, Error> {
        let id = &message.message_id;
        let now = self.now();
        let until = now.saturating_add(2 * MAX_MESSAGE_AGE + 1);
        if !self.store.claim_delivery(id, now, until).await? {
            tracing::info!(message = %id, "repeated SNS delivery ignored");
            return Ok(InboundOutcome::Duplicate);
        }
        let outcome = self.inbound_sms(&message.message).await;
        if outcome.is_err() {
            if let Err(e) = self.store.release_delivery(id).await {
                tracing::warn!(message = %id, error = %e, "SNS delivery claim not released");
            }
        }
        outcome
    }

    async fn inbound_sms(&self, payload: &str) -> Result<InboundOutcome, Error> {
        let sms: InboundSms =
            serde_json::from_str(payload).map_err(|e| SnsError::NotAnInboundSms(e.to_string()))?;
        let phone = parse_sms_number(&sms.origination_number, &ANY_COUNTRY)
            .map_err(|e| SnsError::NotAnInboundSms(format!("originationNumber: {e}")))?;
        let phone = phone.as_str();
        let id = sms.inbound_message_id.as_deref().unwrap_or("-");
        let product = &self.issuer_name;
        let keyword = classify(&sms.message_body);
        telemetry::webhook_keyword(match keyword {
            Keyword::OptOut => "stop",
            Keyword::Help => "help",
            Keyword::OptIn => "start",
            Keyword::Other => "other",
        });
        let outcome = match keyword {
            Keyword::OptOut => {
                self.store.opt_out(phone, self.now()).await?;
                // The opt-out holds even if the confirmation can't go out: the provider may
                // already refuse texts to a number that just replied STOP.
                self.reply(id, phone, &messages::stop_reply(product)).await?;
                InboundOutcome::OptedOut
            }
            Keyword::Help => {
                let help = messages::help_reply(product, &self.sms.support_contact);
                self.reply(id, phone, &help).await?;
                InboundOutcome::HelpSent
            }
            Keyword::OptIn => {
                self.store.opt_in(phone).await?;
                // SNS lets a number be opted in once every 30 days; our own record is what
                // gates codes, so a refusal here is logged, not fatal.
                if let Err(e) = self.sms_sender.opt_in(phone).await {
                    tracing::warn!(inbound = id, error = %e, "provider opt-in refused");
                }
                self.reply(id, phone, &messages::start_reply(product)).await?;
                InboundOutcome::OptedIn
            }
            Keyword::Other => InboundOutcome::Ignored,
        };
        tracing::info!(inbound = id, outcome = ?outcome, "inbound text handled");
        Ok(outcome)
    }

    /// Replies `text` to `phone` (the inbound message `id`'s sender), if the number is of a
    /// calling code the service texts and had no reply this hour. A reply not sent is logged: the
    /// keyword's action holds, and a retry could not reply within the hour anyway. Only a store
    /// failure is an error (so that SNS's retry is acted on).
    async fn reply(&self, id: &str, phone: &str, text: &str) -> Result<(), Error> {
        if parse_sms_number(phone, &self.phone_policy).is_err() {
            tracing::info!("no reply: the number's calling code is not one the service texts");
            return Ok(());
        }
        let scope = SendScope::Replies(phone.to_owned());
        match self.take_send(Recipient::Nobody, scope, Along::default()).await {
            Ok(()) => {}
            Err(Refusal::Budget(e @ Error::Store(_))) => return Err(e),
            Err(_) => {
                tracing::info!(
                    "no reply: the number had its reply this hour, or a budget is used up"
                );
                return Ok(());
            }
        }
        if let Err(e) = self.sms_sender.send_sms(phone, text).await {
            tracing::warn!(inbound = id, error = %e, "reply not sent");
        }
        Ok(())
    }
}
