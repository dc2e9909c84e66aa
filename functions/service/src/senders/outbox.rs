//! The outbox of `mfa-local`: every SMS, call and email becomes one JSON line appended to a file
//! and printed on the console (a call with the words it speaks). Nothing is sent.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::json;

use crate::ports::{Email, EmailSender, SendError, SmsSender, VoiceCall, VoiceSender};

/// Appends messages to a file, one JSON object a line.
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    lock: Mutex<()>,
}

impl Outbox {
    /// An outbox writing to `path` (created when the first message arrives).
    pub fn new(path: PathBuf) -> Self {
        Self { path, lock: Mutex::new(()) }
    }

    fn append(&self, message: serde_json::Value) -> Result<(), SendError> {
        let line = message.to_string();
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| SendError(format!("outbox {}: {e}", self.path.display())))?;
        writeln!(file, "{line}").map_err(|e| SendError(e.to_string()))?;
        println!("outbox: {line}");
        Ok(())
    }
}

#[async_trait]
impl SmsSender for Outbox {
    async fn send_sms(&self, to: &str, body: &str) -> Result<(), SendError> {
        self.append(json!({"channel": "sms", "to": to, "body": body}))
    }

    async fn opt_in(&self, to: &str) -> Result<(), SendError> {
        self.append(json!({"channel": "sms-opt-in", "to": to}))
    }
}

#[async_trait]
impl EmailSender for Outbox {
    async fn send_email(&self, email: &Email) -> Result<(), SendError> {
        self.append(json!({
            "channel": "email", "to": email.to, "subject": email.subject,
            "text": email.text, "html": email.html,
        }))
    }
}

#[async_trait]
impl VoiceSender for Outbox {
    async fn call(&self, to: &str, call: &VoiceCall) -> Result<(), SendError> {
        self.append(json!({"channel": "voice", "to": to, "words": call.words, "ssml": call.ssml}))
    }
}
