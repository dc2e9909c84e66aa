//! SMS over Amazon SNS `Publish` to a phone number, as a transactional message.

use async_trait::async_trait;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

use crate::ports::{SendError, SmsSender};

/// Sends texts through SNS.
#[derive(Debug, Clone)]
pub struct SnsSender {
    client: Client,
    origination_number: Option<String>,
}

impl SnsSender {
    /// A sender over `client`; texts come from `origination_number` when given.
    pub fn new(client: Client, origination_number: Option<String>) -> Self {
        Self { client, origination_number }
    }
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, SendError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| SendError(e.to_string()))
}

#[async_trait]
impl SmsSender for SnsSender {
    async fn send_sms(&self, to: &str, body: &str) -> Result<(), SendError> {
        let mut request = self
            .client
            .publish()
            .phone_number(to)
            .message(body)
            .message_attributes("AWS.SNS.SMS.SMSType", string_attribute("Transactional")?);
        if let Some(number) = &self.origination_number {
            request = request
                .message_attributes("AWS.MM.SMS.OriginationNumber", string_attribute(number)?);
        }
        request.send().await.map_err(|e| SendError(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }

    async fn opt_in(&self, to: &str) -> Result<(), SendError> {
        self.client
            .opt_in_phone_number()
            .phone_number(to)
            .send()
            .await
            .map_err(|e| SendError(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}
