//! Email over Amazon SES v2 `SendEmail`, text and HTML, from a configured identity.

use async_trait::async_trait;
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sesv2::Client;

use crate::ports::{Email, EmailSender, SendError};

/// Sends email through SES v2.
#[derive(Debug, Clone)]
pub struct SesSender {
    client: Client,
    from: String,
}

impl SesSender {
    /// A sender over `client`, from the address `from` (a verified SES identity).
    pub fn new(client: Client, from: String) -> Self {
        Self { client, from }
    }
}

fn content(text: &str) -> Result<Content, SendError> {
    Content::builder().data(text).charset("UTF-8").build().map_err(|e| SendError(e.to_string()))
}

#[async_trait]
impl EmailSender for SesSender {
    async fn send_email(&self, email: &Email) -> Result<(), SendError> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(Body::builder().text(content(&email.text)?).html(content(&email.html)?).build())
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| SendError(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}
