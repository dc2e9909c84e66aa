//! What the domain-level tests share: a clock the test moves, a sender that keeps what it sends,
//! a configuration of test keys, and the stores to run on (embedded, or DynamoDB on moto).
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use mfa_service::config::Config;
use mfa_service::domain::Ports;
use mfa_service::ids::UserId;
use mfa_service::ports::{
    Clock, Email, EmailSender, SendError, SmsSender, Store, VoiceCall, VoiceSender,
};
use mfa_service::store::dynamo::DynamoStore;
use mfa_service::store::embedded::EmbeddedStore;
use rand_core::{OsRng, RngCore};
use tempfile::TempDir;

/// A clock that stands still until the test moves it.
pub struct TestClock(AtomicU64);

impl TestClock {
    /// A clock at `now`.
    pub fn at(now: u64) -> Self {
        Self(AtomicU64::new(now))
    }

    /// Moves the clock `seconds` forward.
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Keeps every text, call and email it is given, as (to, body or words), oldest first.
#[derive(Default)]
pub struct Outbox(Mutex<Vec<(String, String)>>);

impl Outbox {
    /// How many messages were sent, to anyone.
    pub fn sent_count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// Everything sent to `to`, oldest first.
    pub fn sent_to(&self, to: &str) -> Vec<String> {
        let sent = self.0.lock().unwrap();
        sent.iter().filter(|(t, _)| t == to).map(|(_, body)| body.clone()).collect()
    }

    /// The last one-time code sent to `to` (by text, call or email).
    pub fn last_code_to(&self, to: &str) -> String {
        let sent = self.0.lock().unwrap();
        let (_, body) = sent.iter().rev().find(|(t, _)| t == to).unwrap();
        mfa_e2e::code_in(body).unwrap_or_else(|| panic!("no code in {body:?}"))
    }
}

#[async_trait]
impl SmsSender for Outbox {
    async fn send_sms(&self, to: &str, body: &str) -> Result<(), SendError> {
        self.0.lock().unwrap().push((to.to_owned(), body.to_owned()));
        Ok(())
    }
    async fn opt_in(&self, _: &str) -> Result<(), SendError> {
        Ok(())
    }
}

#[async_trait]
impl VoiceSender for Outbox {
    async fn call(&self, to: &str, call: &VoiceCall) -> Result<(), SendError> {
        self.0.lock().unwrap().push((to.to_owned(), call.words.clone()));
        Ok(())
    }
}

#[async_trait]
impl EmailSender for Outbox {
    async fn send_email(&self, email: &Email) -> Result<(), SendError> {
        self.0.lock().unwrap().push((email.to.clone(), email.text.clone()));
        Ok(())
    }
}

/// A configuration with test keys, and `extra` variables.
pub fn config(extra: &[(&str, String)]) -> Config {
    let key = |kid: &str, byte: u8| format!("{kid}:{}", STANDARD.encode([byte; 32]));
    let mut vars: HashMap<&str, String> = [
        ("MFA_API_KEYS", format!("admin:{}", "a".repeat(64))),
        ("MFA_DATA_KEYS", key("d1", 1)),
        ("MFA_SIGNING_KEYS", key("s1", 2)),
        ("MFA_CODE_KEY", key("c1", 3)),
    ]
    .into_iter()
    .collect();
    vars.extend(extra.iter().cloned());
    Config::from_lookup(|name| vars.get(name).cloned()).unwrap()
}

/// A user id no other test uses.
pub fn new_user() -> UserId {
    UserId::parse(&format!("user-{:016x}", OsRng.next_u64())).unwrap()
}

/// The domain's ports over `store`: a clock at `now` that the test moves, one outbox for every
/// text, call and email, the OS RNG, and no number lookups.
pub fn ports(store: Arc<dyn Store>, now: u64) -> (Ports, Arc<TestClock>, Arc<Outbox>) {
    let (clock, outbox) = (Arc::new(TestClock::at(now)), Arc::new(Outbox::default()));
    let ports = Ports {
        store,
        clock: clock.clone(),
        rng: Box::new(OsRng),
        sms: outbox.clone(),
        voice: outbox.clone(),
        lookup: None,
        email: outbox.clone(),
    };
    (ports, clock, outbox)
}

/// A fresh embedded store, in a temporary directory that must live as long as it.
pub fn embedded_store() -> (Arc<EmbeddedStore>, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path().join("store.redb")).unwrap();
    (Arc::new(store), dir)
}

/// A client of the DynamoDB server at `MFA_TEST_DYNAMODB_ENDPOINT` (moto; `scripts/moto.sh`
/// starts one), with dummy credentials.
pub fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let endpoint = std::env::var("MFA_TEST_DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!("MFA_TEST_DYNAMODB_ENDPOINT must name a DynamoDB-compatible server (scripts/moto.sh starts one)")
    });
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A DynamoDB store on that server over `table`, which is created if missing.
pub async fn dynamodb_store(table: &str) -> Arc<DynamoStore> {
    let store = DynamoStore::new(dynamodb_client(), table);
    store.create_table_if_missing().await.unwrap();
    Arc::new(store)
}
