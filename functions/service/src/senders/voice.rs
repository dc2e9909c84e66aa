//! Calls and number lookups over AWS End User Messaging SMS and voice v2
//! (`pinpoint-sms-voice-v2`): `SendVoiceMessage` reads a code out from a configured origination
//! identity, in a configured voice, under the deployment's protect configuration; `CarrierLookup`
//! says what kind of line a number is.

use async_trait::async_trait;
use aws_sdk_pinpointsmsvoicev2::error::DisplayErrorContext;
use aws_sdk_pinpointsmsvoicev2::types::{PhoneNumberType, VoiceId, VoiceMessageBodyTextType};
use aws_sdk_pinpointsmsvoicev2::Client;

use crate::config::VoiceSettings;
use crate::ports::{LineType, NumberLookup, SendError, VoiceCall, VoiceSender};

/// Calls, and looks numbers up, through End User Messaging.
#[derive(Debug, Clone)]
pub struct EndUserMessaging {
    client: Client,
    settings: Option<VoiceSettings>,
}

impl EndUserMessaging {
    /// Over `client`; calls go out as `settings` say (none: only lookups).
    pub fn new(client: Client, settings: Option<VoiceSettings>) -> Self {
        Self { client, settings }
    }
}

fn failed(e: impl std::error::Error + 'static) -> SendError {
    SendError(DisplayErrorContext(e).to_string())
}

#[async_trait]
impl VoiceSender for EndUserMessaging {
    async fn call(&self, to: &str, call: &VoiceCall) -> Result<(), SendError> {
        let settings = self
            .settings
            .as_ref()
            .ok_or_else(|| SendError("calls are not configured".to_owned()))?;
        self.client
            .send_voice_message()
            .destination_phone_number(to)
            .origination_identity(&settings.origination_identity)
            .message_body(&call.ssml)
            .message_body_text_type(VoiceMessageBodyTextType::Ssml)
            .voice_id(VoiceId::from(settings.voice_id.as_str()))
            .set_protect_configuration_id(settings.protect_configuration_id.clone())
            .send()
            .await
            .map_err(failed)?;
        Ok(())
    }
}

#[async_trait]
impl NumberLookup for EndUserMessaging {
    async fn line_type(&self, phone: &str) -> Result<LineType, SendError> {
        let found =
            self.client.carrier_lookup().phone_number(phone).send().await.map_err(failed)?;
        Ok(match found.phone_number_type() {
            PhoneNumberType::Mobile => LineType::Mobile,
            PhoneNumberType::Landline => LineType::Landline,
            PhoneNumberType::Voip => LineType::Voip,
            PhoneNumberType::Invalid => LineType::Invalid,
            _ => LineType::Other,
        })
    }
}
