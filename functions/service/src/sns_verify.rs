//! Amazon SNS messages posted to our HTTPS endpoint, verified before anything acts on them.
//!
//! SNS signs every message it posts: `Signature` is an RSA signature (PKCS#1 v1.5, SHA1 for
//! `SignatureVersion` 1, SHA256 for 2) over a canonical string made of some of the message's
//! fields, by the key of the certificate at `SigningCertURL`. [`SnsVerifier::verify`] checks, in
//! this order, and refuses the message at the first failure:
//!
//! 1. the body is SNS JSON of a known `Type` and `SignatureVersion`;
//! 2. `TopicArn` is the configured inbound topic (`MFA_INBOUND_TOPIC_ARN`): anyone can make a
//!    topic of their own and subscribe our endpoint to it, and AWS signs their messages too;
//! 3. `Timestamp` is within [`MAX_MESSAGE_AGE`] of now (the injected clock), against replays;
//! 4. `SigningCertURL` is `https://sns.<region>.amazonaws.com[.cn]/....pem`, no port or user info
//!    (see [`SnsUrl`]), so that nothing is ever fetched from anywhere else;
//! 5. the certificate, fetched through a [`CertFetcher`], is trusted: in production because it
//!    came over TLS from that SNS host; with a trust anchor (`MFA_SNS_TRUST_ANCHOR_PEM`) only if it
//!    is the anchor or is issued and signed by it (tests sign with a certificate they make; an
//!    operator may pin too; only then may certificates be read from a directory instead,
//!    [`CertificateDir`]); and it is valid now;
//! 6. the signature over the canonical string verifies with the certificate's RSA key.
//!
//! Only then does the caller get a [`VerifiedMessage`]: the type that the domain acts on, which
//! nothing but a successful verification makes.
//!
//! The canonical string ("string to sign") is, per AWS's "Verifying the signatures of Amazon SNS
//! messages", each field name and its value on a line of their own (`Name\nvalue\n`), in this
//! order: for a `Notification` `Message`, `MessageId`, `Subject` (only if present),
//! `Timestamp`, `TopicArn`, `Type`; for a `SubscriptionConfirmation` or an
//! `UnsubscribeConfirmation` `Message`, `MessageId`, `SubscribeURL`, `Timestamp`, `Token`,
//! `TopicArn`, `Type`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_lc_rs::signature::{
    UnparsedPublicKey, VerificationAlgorithm, RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
    RSA_PKCS1_2048_8192_SHA256,
};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use url::Url;
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION;
use x509_parser::prelude::{parse_x509_certificate, ASN1Time};

use crate::config::ConfigError;

/// How far a message's `Timestamp` may be from now, either way, in seconds: one hour.
pub const MAX_MESSAGE_AGE: u64 = 3600;
/// The largest signing certificate accepted, in bytes (SNS's are under 2 KiB).
const MAX_CERT_BYTES: usize = 64 * 1024;
/// How many signing certificates [`HttpsFetcher`] keeps (SNS rotates them rarely).
const CERT_CACHE_SIZE: usize = 16;

/// Why an SNS message was refused, or could not be acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnsError {
    /// The webhook has no inbound topic to accept messages from.
    #[error("the SMS webhook is not configured: set MFA_INBOUND_TOPIC_ARN to the SNS topic of inbound texts")]
    NotConfigured,
    /// The body is not SNS JSON, or lacks a field its type needs.
    #[error("the body is not an SNS message: {0}")]
    Malformed(String),
    /// `Type` is none of the three SNS sends to HTTPS endpoints.
    #[error("unknown SNS message type {0:?}: expected Notification, SubscriptionConfirmation or UnsubscribeConfirmation")]
    UnknownType(String),
    /// `SignatureVersion` is neither 1 nor 2.
    #[error("unsupported SNS SignatureVersion {0:?}: expected 1 or 2")]
    UnsupportedSignatureVersion(String),
    /// `TopicArn` is not the configured inbound topic.
    #[error("the message comes from topic {0:?}, which is not the configured inbound topic")]
    WrongTopic(String),
    /// `Timestamp` is not an RFC 3339 time.
    #[error("the message's Timestamp {0:?} is not an RFC 3339 time")]
    BadTimestamp(String),
    /// `Timestamp` is too far from now.
    #[error("the message's Timestamp is more than an hour away from now: refused as a replay")]
    Stale,
    /// `SigningCertURL` is not an SNS certificate URL.
    #[error("SigningCertURL {0:?} is not https://sns.<region>.amazonaws.com/....pem")]
    CertificateUrl(String),
    /// `SubscribeURL` is not on an SNS host.
    #[error("SubscribeURL {0:?} is not an https URL on sns.<region>.amazonaws.com")]
    SubscribeUrl(String),
    /// The signing certificate could not be fetched.
    #[error("the signing certificate could not be fetched: {0}")]
    CertificateFetch(String),
    /// The signing certificate is not an X.509 certificate with an RSA key.
    #[error("the signing certificate is unusable: {0}")]
    BadCertificate(String),
    /// The signing certificate is neither the trust anchor nor issued by it.
    #[error("the signing certificate is not the configured trust anchor nor issued by it")]
    Untrusted,
    /// The signing certificate is outside its validity period.
    #[error("the signing certificate is not valid now (expired or not yet valid)")]
    CertificateExpired,
    /// The signature does not verify: the message was altered or not signed by that certificate.
    #[error("the signature does not match the message")]
    BadSignature,
    /// The subscription could not be confirmed at its SubscribeURL.
    #[error("the subscription could not be confirmed: {0}")]
    Confirm(String),
    /// The notification's `Message` is not an inbound text message.
    #[error("the notification is not a two-way SMS message of AWS End User Messaging: {0}")]
    NotAnInboundSms(String),
}

/// The three kinds of message SNS posts to an HTTPS endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// A message published to the topic.
    Notification,
    /// The endpoint was subscribed: GET `SubscribeURL` to confirm.
    SubscriptionConfirmation,
    /// The endpoint was unsubscribed.
    UnsubscribeConfirmation,
}

impl MessageType {
    /// The `Type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notification => "Notification",
            Self::SubscriptionConfirmation => "SubscriptionConfirmation",
            Self::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }

    fn parse(value: &str) -> Result<Self, SnsError> {
        [Self::Notification, Self::SubscriptionConfirmation, Self::UnsubscribeConfirmation]
            .into_iter()
            .find(|t| t.as_str() == value)
            .ok_or_else(|| SnsError::UnknownType(value.to_owned()))
    }
}

/// How the message is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    /// `1`: SHA1withRSA.
    V1,
    /// `2`: SHA256withRSA.
    V2,
}

impl SignatureVersion {
    fn algorithm(self) -> &'static dyn VerificationAlgorithm {
        match self {
            Self::V1 => &RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            Self::V2 => &RSA_PKCS1_2048_8192_SHA256,
        }
    }
}

/// The JSON body SNS posts, field for field (wire names), before any check.
#[derive(Debug, Deserialize)]
struct Wire {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "MessageId")]
    message_id: String,
    #[serde(rename = "Token")]
    token: Option<String>,
    #[serde(rename = "TopicArn")]
    topic_arn: String,
    #[serde(rename = "Subject")]
    subject: Option<String>,
    #[serde(rename = "Message")]
    message: String,
    #[serde(rename = "Timestamp")]
    timestamp: String,
    #[serde(rename = "SignatureVersion")]
    signature_version: String,
    #[serde(rename = "Signature")]
    signature: String,
    #[serde(rename = "SigningCertURL")]
    signing_cert_url: String,
    #[serde(rename = "SubscribeURL")]
    subscribe_url: Option<String>,
    #[serde(rename = "UnsubscribeURL")]
    unsubscribe_url: Option<String>,
}

/// An SNS message as posted, parsed but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsMessage {
    /// `Type`.
    pub kind: MessageType,
    /// `MessageId`.
    pub message_id: String,
    /// `Token` (confirmations).
    pub token: Option<String>,
    /// `TopicArn`.
    pub topic_arn: String,
    /// `Subject` (notifications, when published with one).
    pub subject: Option<String>,
    /// `Message`: for a notification, what was published.
    pub message: String,
    /// `Timestamp`, RFC 3339.
    pub timestamp: String,
    /// `SignatureVersion`.
    pub signature_version: SignatureVersion,
    /// `Signature`, base64.
    pub signature: String,
    /// `SigningCertURL`.
    pub signing_cert_url: String,
    /// `SubscribeURL` (confirmations).
    pub subscribe_url: Option<String>,
    /// `UnsubscribeURL` (notifications).
    pub unsubscribe_url: Option<String>,
}

impl SnsMessage {
    /// Parses the body SNS posts. [`SnsError::Malformed`] when it is not JSON with every field
    /// SNS always sends; [`SnsError::UnknownType`] and [`SnsError::UnsupportedSignatureVersion`]
    /// for values this verifier doesn't know.
    pub fn parse(body: &[u8]) -> Result<Self, SnsError> {
        let wire: Wire =
            serde_json::from_slice(body).map_err(|e| SnsError::Malformed(e.to_string()))?;
        let kind = MessageType::parse(&wire.kind)?;
        let signature_version = match wire.signature_version.as_str() {
            "1" => SignatureVersion::V1,
            "2" => SignatureVersion::V2,
            other => return Err(SnsError::UnsupportedSignatureVersion(other.to_owned())),
        };
        Ok(Self {
            kind,
            message_id: wire.message_id,
            token: wire.token,
            topic_arn: wire.topic_arn,
            subject: wire.subject,
            message: wire.message,
            timestamp: wire.timestamp,
            signature_version,
            signature: wire.signature,
            signing_cert_url: wire.signing_cert_url,
            subscribe_url: wire.subscribe_url,
            unsubscribe_url: wire.unsubscribe_url,
        })
    }

    /// The canonical string that `Signature` signs (see the module docs). A confirmation without
    /// `SubscribeURL` or `Token` is [`SnsError::Malformed`].
    pub fn string_to_sign(&self) -> Result<String, SnsError> {
        let kind = self.kind.as_str();
        let missing = |name: &str| SnsError::Malformed(format!("a {kind} has no {name}"));
        let fields: Vec<(&str, Option<&str>)> = match self.kind {
            MessageType::Notification => vec![
                ("Message", Some(self.message.as_str())),
                ("MessageId", Some(self.message_id.as_str())),
                ("Subject", self.subject.as_deref()),
                ("Timestamp", Some(self.timestamp.as_str())),
                ("TopicArn", Some(self.topic_arn.as_str())),
                ("Type", Some(kind)),
            ],
            MessageType::SubscriptionConfirmation | MessageType::UnsubscribeConfirmation => vec![
                ("Message", Some(self.message.as_str())),
                ("MessageId", Some(self.message_id.as_str())),
                (
                    "SubscribeURL",
                    Some(self.subscribe_url.as_deref().ok_or_else(|| missing("SubscribeURL"))?),
                ),
                ("Timestamp", Some(self.timestamp.as_str())),
                ("Token", Some(self.token.as_deref().ok_or_else(|| missing("Token"))?)),
                ("TopicArn", Some(self.topic_arn.as_str())),
                ("Type", Some(kind)),
            ],
        };
        Ok(fields
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| format!("{name}\n{v}\n")))
            .collect())
    }

    /// `Timestamp` as Unix seconds.
    pub fn timestamp_secs(&self) -> Result<u64, SnsError> {
        let bad = || SnsError::BadTimestamp(self.timestamp.clone());
        let at = time::OffsetDateTime::parse(
            &self.timestamp,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|_| bad())?;
        u64::try_from(at.unix_timestamp()).map_err(|_| bad())
    }
}

/// An https URL on an SNS host, `https://sns.<region>.amazonaws.com/...` (or
/// `.amazonaws.com.cn`), with no user info and no port but the default: the only URLs this
/// module ever fetches. Region names are checked in shape (`us-east-1`, `us-gov-west-1`,
/// `cn-north-1`), so a look-alike such as `sns.us-east-1.amazonaws.com.evil.com` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsUrl(Url);

impl SnsUrl {
    /// A `SigningCertURL`: an SNS URL whose path ends in `.pem`, with no query or fragment.
    pub fn signing_cert(text: &str) -> Result<Self, SnsError> {
        Self::parse(text)
            .filter(|u| {
                u.0.path().ends_with(".pem") && u.0.query().is_none() && u.0.fragment().is_none()
            })
            .ok_or_else(|| SnsError::CertificateUrl(text.to_owned()))
    }

    /// A `SubscribeURL`: an SNS URL.
    pub fn subscribe(text: &str) -> Result<Self, SnsError> {
        Self::parse(text).ok_or_else(|| SnsError::SubscribeUrl(text.to_owned()))
    }

    fn parse(text: &str) -> Option<Self> {
        let url = Url::parse(text).ok()?;
        let ok = url.scheme() == "https"
            && url.username().is_empty()
            && url.password().is_none()
            && url.port().is_none()
            && url.host_str().is_some_and(is_sns_host);
        ok.then_some(Self(url))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The last segment of the path, as written in the URL (percent-encoded, never `..`): a
    /// signing certificate's file name.
    pub fn file_name(&self) -> &str {
        self.0.path_segments().and_then(|mut s| s.next_back()).unwrap_or_default()
    }
}

/// `sns.<region>.amazonaws.com` or `sns.<region>.amazonaws.com.cn`, the region being three or
/// more dash-separated lowercase words, the last a number.
fn is_sns_host(host: &str) -> bool {
    let Some(rest) = host.strip_prefix("sns.") else {
        return false;
    };
    let Some(region) =
        rest.strip_suffix(".amazonaws.com").or_else(|| rest.strip_suffix(".amazonaws.com.cn"))
    else {
        return false;
    };
    let words: Vec<&str> = region.split('-').collect();
    words.len() >= 3
        && words.iter().all(|w| {
            !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && words.last().is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()))
}

/// Why a GET to SNS failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// GETs from SNS's own hosts: signing certificates, and `SubscribeURL`s. It is only ever given
/// checked [`SnsUrl`]s.
#[async_trait]
pub trait CertFetcher: Send + Sync {
    /// The PEM document at a signing certificate URL.
    async fn certificate(&self, url: &SnsUrl) -> Result<Vec<u8>, FetchError>;
    /// GETs a `SubscribeURL`, which confirms the subscription.
    async fn confirm_subscription(&self, url: &SnsUrl) -> Result<(), FetchError>;
}

/// The production [`CertFetcher`]: HTTPS only (rustls, the webpki roots), no redirects, a
/// 5-second timeout, and an in-process cache of certificates by URL.
#[derive(Debug)]
pub struct HttpsFetcher {
    client: reqwest::Client,
    cache: Mutex<HashMap<String, Vec<u8>>>,
}

impl HttpsFetcher {
    /// A fetcher with its own HTTPS client.
    pub fn new() -> Result<Self, FetchError> {
        let client = crate::http_client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| FetchError(e.to_string()))?;
        Ok(Self { client, cache: Mutex::new(HashMap::new()) })
    }

    async fn get(&self, url: &SnsUrl) -> Result<Vec<u8>, FetchError> {
        let failed = |e: reqwest::Error| FetchError(format!("GET {}: {e}", url.as_str()));
        let response = self.client.get(url.as_str()).send().await.map_err(failed)?;
        let response = response.error_for_status().map_err(failed)?;
        let body = response.bytes().await.map_err(failed)?;
        if body.len() > MAX_CERT_BYTES {
            return Err(FetchError(format!("GET {}: the answer is too large", url.as_str())));
        }
        Ok(body.to_vec())
    }
}

#[async_trait]
impl CertFetcher for HttpsFetcher {
    async fn certificate(&self, url: &SnsUrl) -> Result<Vec<u8>, FetchError> {
        let cached =
            self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(url.as_str()).cloned();
        if let Some(pem) = cached {
            return Ok(pem);
        }
        let pem = self.get(url).await?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CERT_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(url.as_str().to_owned(), pem.clone());
        Ok(pem)
    }

    async fn confirm_subscription(&self, url: &SnsUrl) -> Result<(), FetchError> {
        self.get(url).await.map(|_| ())
    }
}

/// The [`CertFetcher`] of a function that can't reach SNS's hosts (`MFA_SNS_CERTIFICATE_DIR`):
/// signing certificates are read from a directory, by the file name of their `SigningCertURL`
/// (`SimpleNotificationService-<id>.pem`), instead of fetched; subscriptions are still confirmed
/// by `confirm`. It serves only with a trust anchor (the configuration requires
/// `MFA_SNS_TRUST_ANCHOR_PEM` with it): a file in a directory proves nothing by where it came
/// from, so the anchor is what makes its certificate trusted.
pub struct CertificateDir {
    dir: PathBuf,
    confirm: Arc<dyn CertFetcher>,
}

impl CertificateDir {
    /// Certificates from `dir`; `SubscribeURL`s GET through `confirm`.
    pub fn new(dir: PathBuf, confirm: Arc<dyn CertFetcher>) -> Self {
        Self { dir, confirm }
    }
}

#[async_trait]
impl CertFetcher for CertificateDir {
    async fn certificate(&self, url: &SnsUrl) -> Result<Vec<u8>, FetchError> {
        let path = self.dir.join(url.file_name());
        let pem = tokio::fs::read(&path)
            .await
            .map_err(|e| FetchError(format!("{} (for {}): {e}", path.display(), url.as_str())))?;
        if pem.len() > MAX_CERT_BYTES {
            return Err(FetchError(format!("{}: the file is too large", path.display())));
        }
        Ok(pem)
    }

    async fn confirm_subscription(&self, url: &SnsUrl) -> Result<(), FetchError> {
        self.confirm.confirm_subscription(url).await
    }
}

/// A message whose signature, topic, age and certificate were checked by [`SnsVerifier`]; only
/// it makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedMessage(SnsMessage);

impl std::ops::Deref for VerifiedMessage {
    type Target = SnsMessage;

    fn deref(&self) -> &SnsMessage {
        &self.0
    }
}

/// Verifies SNS messages of one topic (see the module docs).
pub struct SnsVerifier {
    topic_arn: String,
    anchor: Option<Vec<u8>>,
    fetcher: Arc<dyn CertFetcher>,
}

impl std::fmt::Debug for SnsVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnsVerifier")
            .field("topic_arn", &self.topic_arn)
            .field("pinned", &self.anchor.is_some())
            .finish_non_exhaustive()
    }
}

/// The DER of the first certificate in a PEM document.
fn pem_certificate(pem: &[u8]) -> Result<Vec<u8>, String> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem).map_err(|e| e.to_string())?;
    parse_x509_certificate(&block.contents).map_err(|e| e.to_string())?;
    Ok(block.contents)
}

impl SnsVerifier {
    /// A verifier accepting messages of `topic_arn`, fetching certificates with `fetcher`.
    /// `trust_anchor_pem` pins trust to one certificate (a CA, or the signing certificate
    /// itself); without it a certificate is trusted for having been fetched over TLS from an SNS
    /// host. A bad anchor is a [`ConfigError`] naming `MFA_SNS_TRUST_ANCHOR_PEM`.
    pub fn new(
        topic_arn: String,
        trust_anchor_pem: Option<&str>,
        fetcher: Arc<dyn CertFetcher>,
    ) -> Result<Self, ConfigError> {
        let anchor = trust_anchor_pem
            .map(|pem| {
                pem_certificate(pem.as_bytes()).map_err(|e| ConfigError {
                    name: "MFA_SNS_TRUST_ANCHOR_PEM",
                    problem: format!("is not a PEM certificate: {e}"),
                })
            })
            .transpose()?;
        Ok(Self { topic_arn, anchor, fetcher })
    }

    /// Checks `body` as posted by SNS at `now` (Unix seconds) and returns the message, or says
    /// why it is refused. Fetches the signing certificate (only from an [`SnsUrl`]).
    pub async fn verify(&self, body: &[u8], now: u64) -> Result<VerifiedMessage, SnsError> {
        let message = SnsMessage::parse(body)?;
        if message.topic_arn != self.topic_arn {
            return Err(SnsError::WrongTopic(message.topic_arn));
        }
        if message.timestamp_secs()?.abs_diff(now) > MAX_MESSAGE_AGE {
            return Err(SnsError::Stale);
        }
        let signed = message.string_to_sign()?;
        let url = SnsUrl::signing_cert(&message.signing_cert_url)?;
        let pem =
            self.fetcher.certificate(&url).await.map_err(|e| SnsError::CertificateFetch(e.0))?;
        let der = pem_certificate(&pem).map_err(SnsError::BadCertificate)?;
        let (_, cert) =
            parse_x509_certificate(&der).map_err(|e| SnsError::BadCertificate(e.to_string()))?;
        self.check_trust(&cert)?;
        let now_asn1 = i64::try_from(now)
            .ok()
            .and_then(|n| ASN1Time::from_timestamp(n).ok())
            .ok_or(SnsError::CertificateExpired)?;
        if !cert.validity().is_valid_at(now_asn1) {
            return Err(SnsError::CertificateExpired);
        }
        let key = cert.public_key();
        if key.algorithm.algorithm != OID_PKCS1_RSAENCRYPTION {
            return Err(SnsError::BadCertificate("its key is not an RSA key".into()));
        }
        let signature = B64.decode(message.signature.trim()).map_err(|_| SnsError::BadSignature)?;
        UnparsedPublicKey::new(message.signature_version.algorithm(), &key.subject_public_key.data)
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| SnsError::BadSignature)?;
        Ok(VerifiedMessage(message))
    }

    /// With a trust anchor: `cert` must be it, or be issued by it (a CA) and signed by its key.
    fn check_trust(&self, cert: &X509Certificate<'_>) -> Result<(), SnsError> {
        let Some(anchor_der) = &self.anchor else {
            return Ok(());
        };
        if cert.as_raw() == anchor_der.as_slice() {
            return Ok(());
        }
        let (_, anchor) = parse_x509_certificate(anchor_der).map_err(|_| SnsError::Untrusted)?;
        let issued = anchor.is_ca()
            && cert.issuer().as_raw() == anchor.subject().as_raw()
            && cert.verify_signature(Some(anchor.public_key())).is_ok();
        if issued {
            Ok(())
        } else {
            Err(SnsError::Untrusted)
        }
    }

    /// Confirms a verified `SubscriptionConfirmation` by GETting its `SubscribeURL`, which must
    /// be an [`SnsUrl`].
    pub async fn confirm_subscription(&self, message: &VerifiedMessage) -> Result<(), SnsError> {
        let text = message.subscribe_url.as_deref().unwrap_or_default();
        let url = SnsUrl::subscribe(text)?;
        self.fetcher.confirm_subscription(&url).await.map_err(|e| SnsError::Confirm(e.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_on_sns_hosts_are_certificate_urls() {
        for good in [
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
            "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
            "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
            "https://SNS.EU-WEST-2.AMAZONAWS.COM/SimpleNotificationService-abc.pem",
            "https://sns.us-east-1.amazonaws.com:443/SimpleNotificationService-abc.pem",
        ] {
            assert!(SnsUrl::signing_cert(good).is_ok(), "{good}");
        }
        for bad in [
            "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
            "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-abc.pem",
            "https://sns.us-east-1.amazonaws.com.cn.evil.com/x.pem",
            "https://evil.com/sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com@evil.com/x.pem",
            "https://user@sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com:8443/x.pem",
            "https://sns.us-east-1.amazonaws.com./x.pem",
            "https://sns.evil.amazonaws.com/x.pem",
            "https://sns..amazonaws.com/x.pem",
            "https://xsns.us-east-1.amazonaws.com/x.pem",
            "https://s3.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com/x.txt",
            "https://sns.us-east-1.amazonaws.com/x.pem?a=b",
            "https://sns.us-east-1.amazonaws.com/x.pem#a",
            "file:///etc/passwd.pem",
            "not a url",
        ] {
            assert_eq!(
                SnsUrl::signing_cert(bad),
                Err(SnsError::CertificateUrl(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn subscribe_urls_follow_the_same_host_rules() {
        let good = "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:t&Token=x";
        assert!(SnsUrl::subscribe(good).is_ok());
        for bad in [
            "http://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription",
            "https://sns.us-west-2.amazonaws.com.evil.com/?Action=ConfirmSubscription",
            "https://169.254.169.254/latest/meta-data/",
        ] {
            assert!(SnsUrl::subscribe(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn string_to_sign_follows_the_documented_field_order() {
        let mut message = SnsMessage {
            kind: MessageType::Notification,
            message_id: "id".into(),
            token: Some("tok".into()),
            topic_arn: "arn".into(),
            subject: None,
            message: "hello\nworld".into(),
            timestamp: "2012-04-26T20:45:04.751Z".into(),
            signature_version: SignatureVersion::V1,
            signature: String::new(),
            signing_cert_url: String::new(),
            subscribe_url: Some("https://sns.us-east-1.amazonaws.com/?x".into()),
            unsubscribe_url: None,
        };
        assert_eq!(
            message.string_to_sign().unwrap(),
            "Message\nhello\nworld\nMessageId\nid\nTimestamp\n2012-04-26T20:45:04.751Z\nTopicArn\narn\nType\nNotification\n"
        );
        message.subject = Some("subj".into());
        assert!(message
            .string_to_sign()
            .unwrap()
            .contains("MessageId\nid\nSubject\nsubj\nTimestamp"));
        message.kind = MessageType::SubscriptionConfirmation;
        assert_eq!(
            message.string_to_sign().unwrap(),
            "Message\nhello\nworld\nMessageId\nid\nSubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?x\nTimestamp\n2012-04-26T20:45:04.751Z\nToken\ntok\nTopicArn\narn\nType\nSubscriptionConfirmation\n"
        );
        message.token = None;
        assert!(matches!(message.string_to_sign(), Err(SnsError::Malformed(_))));
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let message = |ts: &str| SnsMessage {
            kind: MessageType::Notification,
            message_id: String::new(),
            token: None,
            topic_arn: String::new(),
            subject: None,
            message: String::new(),
            timestamp: ts.into(),
            signature_version: SignatureVersion::V2,
            signature: String::new(),
            signing_cert_url: String::new(),
            subscribe_url: None,
            unsubscribe_url: None,
        };
        assert_eq!(message("2012-04-26T20:45:04.751Z").timestamp_secs(), Ok(1_335_473_104));
        assert_eq!(message("1970-01-01T00:00:00Z").timestamp_secs(), Ok(0));
        assert!(message("yesterday").timestamp_secs().is_err());
        assert!(message("1969-12-31T23:59:59Z").timestamp_secs().is_err());
    }
}
