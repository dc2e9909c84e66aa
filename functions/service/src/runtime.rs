//! Start-up: logging, configuration, the store, and serving, for the Lambda functions and for
//! `mfa-local`. Everything here runs once per process, never per request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand_core::OsRng;

use crate::config::{Config, ConfigError};
use crate::domain::{Mfa, Ports};
use crate::http::{router, serve, AppState, Function, Group};
use crate::ports::{EmailSender, NumberLookup, SmsSender, Store, SystemClock, VoiceSender};
use crate::secret::Secret;
use crate::senders::{email::SesSender, outbox::Outbox, sms::SnsSender, voice::EndUserMessaging};
use crate::sns_verify::{CertFetcher, CertificateDir, HttpsFetcher, SnsVerifier};
use crate::store::{dynamo::DynamoStore, embedded::EmbeddedStore};
use crate::telemetry;
use mfa_core::keys::{api_key, api_key_entry, key_entry};

/// Any start-up failure, as a message for the operator.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// JSON logs (for CloudWatch) or human ones, filtered by `RUST_LOG` (default `info`).
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    if json {
        builder.json().without_time().init();
    } else {
        builder.init();
    }
}

/// Where messages go out.
pub struct Senders {
    /// Texts.
    pub sms: Arc<dyn SmsSender>,
    /// Calls.
    pub voice: Arc<dyn VoiceSender>,
    /// Emails.
    pub email: Arc<dyn EmailSender>,
    /// Number lookups (none: numbers are not looked up).
    pub lookup: Option<Arc<dyn NumberLookup>>,
}

impl Senders {
    /// Every message to `outbox`; no lookups.
    pub fn outbox(outbox: Arc<Outbox>) -> Self {
        Self { sms: outbox.clone(), voice: outbox.clone(), email: outbox, lookup: None }
    }
}

/// The shared state over `store` and `senders`, with the system clock and the OS RNG, without
/// the SMS webhook's verifier (see [`sms_webhook_verifier`]).
pub fn state(
    config: &Config,
    store: Arc<dyn Store>,
    senders: Senders,
) -> Result<AppState, StartError> {
    let Senders { sms, voice, email, lookup } = senders;
    let ports = Ports {
        store,
        clock: Arc::new(SystemClock),
        rng: Box::new(OsRng),
        sms,
        voice,
        email,
        lookup,
    };
    let mfa = Mfa::new(config, ports)?;
    Ok(AppState { mfa, api_keys: config.api_keys.clone(), sms_webhook: None })
}

/// The SMS webhook's verifier (fetching certificates over HTTPS, or reading them from
/// `MFA_SNS_CERTIFICATE_DIR`), when `MFA_INBOUND_TOPIC_ARN` is set.
pub fn sms_webhook_verifier(config: &Config) -> Result<Option<SnsVerifier>, StartError> {
    let Some(topic) = &config.sms.inbound_topic_arn else { return Ok(None) };
    let https: Arc<dyn CertFetcher> =
        Arc::new(HttpsFetcher::new().map_err(|e| format!("HTTPS client: {e}"))?);
    let fetcher = match &config.sms.sns_certificate_dir {
        Some(dir) => Arc::new(CertificateDir::new(dir.clone(), https)),
        None => https,
    };
    let anchor = config.sms.sns_trust_anchor_pem.as_deref();
    Ok(Some(SnsVerifier::new(topic.clone(), anchor, fetcher)?))
}

/// A function serving the SMS webhook needs `MFA_INBOUND_TOPIC_ARN`, the one topic it accepts
/// messages of; `mfa-local` does without (its webhook answers 503).
fn check_webhook_config(groups: &[Group], config: &Config) -> Result<(), ConfigError> {
    if groups.contains(&Group::SmsWebhook) && config.sms.inbound_topic_arn.is_none() {
        return Err(ConfigError {
            name: "MFA_INBOUND_TOPIC_ARN",
            problem: "is not set: the SMS webhook accepts messages of this SNS topic only".into(),
        });
    }
    Ok(())
}

/// Reads the secret named by `MFA_SECRET_ARN`, if set: a Secrets Manager secret whose value is a
/// JSON object of configuration variables (`MFA_API_KEYS`, `MFA_DATA_KEYS`, `MFA_SIGNING_KEYS`,
/// ...). The process environment still wins over it.
async fn secret_variables(
    aws: &aws_config::SdkConfig,
) -> Result<HashMap<String, String>, StartError> {
    let Some(arn) = std::env::var("MFA_SECRET_ARN").ok().filter(|a| !a.is_empty()) else {
        return Ok(HashMap::new());
    };
    let client = aws_sdk_secretsmanager::Client::new(aws);
    let value = client.get_secret_value().secret_id(&arn).send().await.map_err(|e| {
        format!(
            "configuration MFA_SECRET_ARN: can't read {arn}: {}",
            aws_sdk_secretsmanager::error::DisplayErrorContext(e)
        )
    })?;
    let text = value.secret_string().unwrap_or_default();
    serde_json::from_str(text).map_err(|_| {
        format!("configuration MFA_SECRET_ARN: {arn} is not a JSON object of strings").into()
    })
}

/// Runs the Lambda function `F` (one of [`crate::http::functions`]) over DynamoDB. The SMS
/// webhook's function does not start without `MFA_INBOUND_TOPIC_ARN`: it would refuse every
/// message.
pub async fn run_lambda<F: Function>() -> Result<(), StartError> {
    init_logging(true);
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let secrets = secret_variables(&aws).await?;
    let config = Config::from_lookup(|name| {
        std::env::var(name).ok().or_else(|| secrets.get(name).cloned())
    })?;
    check_webhook_config(&[F::GROUP], &config)?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), config.table.clone());
    let sms = SnsSender::new(aws_sdk_sns::Client::new(&aws), config.sms.origination_number.clone());
    let from = config.email_from.clone().unwrap_or_default();
    let email = SesSender::new(aws_sdk_sesv2::Client::new(&aws), from);
    let messaging = Arc::new(EndUserMessaging::new(
        aws_sdk_pinpointsmsvoicev2::Client::new(&aws),
        config.voice.clone(),
    ));
    let senders = Senders {
        sms: Arc::new(sms),
        voice: messaging.clone(),
        email: Arc::new(email),
        lookup: (!config.allow_voip).then_some(messaging as Arc<dyn NumberLookup>),
    };
    let mut state = state(&config, Arc::new(store), senders)?;
    if matches!(F::GROUP, Group::SmsWebhook) {
        state.sms_webhook = sms_webhook_verifier(&config)?;
    }
    let state = Arc::new(state);
    let metrics = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(config.metrics_namespace.clone())
        .init()?;
    telemetry::cold_start();
    metrics_cloudwatch_embedded::lambda::service::run_http(metrics, serve(F::routes(&state), state))
        .await
}

/// Settings of `mfa-local`, from `MFA_LOCAL_*` variables.
#[derive(Debug, Clone)]
pub struct LocalSettings {
    /// Where to listen (`MFA_LOCAL_ADDR`, default `127.0.0.1:8080`).
    pub addr: SocketAddr,
    /// Where the store and generated keys live (`MFA_LOCAL_DATA_DIR`, default `.mfa-local`).
    pub data_dir: PathBuf,
    /// The API key callers use (`MFA_LOCAL_API_KEY`; made up and printed when unset).
    pub api_key: Option<Secret<String>>,
    /// Where texts, calls and emails go instead of being sent (`MFA_OUTBOX`, default
    /// `<data dir>/outbox.jsonl`).
    pub outbox: PathBuf,
}

impl LocalSettings {
    /// Reads the `MFA_LOCAL_*` variables.
    pub fn from_env() -> Result<Self, StartError> {
        let addr = std::env::var("MFA_LOCAL_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
        let addr = addr
            .parse()
            .map_err(|_| format!("configuration MFA_LOCAL_ADDR: {addr:?} is not host:port"))?;
        let data_dir = std::env::var_os("MFA_LOCAL_DATA_DIR")
            .map_or_else(|| ".mfa-local".into(), PathBuf::from);
        let api_key =
            std::env::var("MFA_LOCAL_API_KEY").ok().filter(|k| !k.is_empty()).map(Secret::new);
        let outbox = std::env::var_os("MFA_OUTBOX")
            .map_or_else(|| data_dir.join("outbox.jsonl"), PathBuf::from);
        Ok(Self { addr, data_dir, api_key, outbox })
    }
}

/// Reads `name` from `dir`, or writes `make()` there (owner-only) and returns it.
fn read_or_create(
    dir: &Path,
    name: &str,
    make: impl FnOnce() -> String,
) -> Result<String, StartError> {
    let path = dir.join(name);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok(text.trim().to_owned());
    }
    let value = make();
    std::fs::write(&path, &value)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(value)
}

/// What a running mfa-local is reached at, for routes of its own that call the API as an
/// integrator's backend would (mfa-local's demo page).
#[derive(Debug, Clone)]
pub struct LocalApi {
    /// `http://127.0.0.1:<port>`: the API's base URL.
    pub base_url: String,
    /// The admin-scoped API key.
    pub api_key: Secret<String>,
    /// The outbox file of texts and emails.
    pub outbox: std::path::PathBuf,
}

/// Runs every route on one address over the embedded store, and the routes that `extra` makes
/// for the running API. Data and signing keys are made on first start and kept in the data dir,
/// so tokens and secrets survive a restart; `MFA_*` variables still override them.
pub async fn run_local(
    settings: LocalSettings,
    extra: impl FnOnce(LocalApi) -> axum::Router,
) -> Result<(), StartError> {
    init_logging(false);
    std::fs::create_dir_all(&settings.data_dir)?;
    let data_key =
        read_or_create(&settings.data_dir, "data.key", || key_entry("local-data", &mut OsRng))?;
    let signing_key =
        read_or_create(&settings.data_dir, "signing.key", || key_entry("local-sig", &mut OsRng))?;
    let code_key =
        read_or_create(&settings.data_dir, "code.key", || key_entry("local-code", &mut OsRng))?;
    let (api_key, made_up) = match settings.api_key {
        Some(key) => (key, false),
        None => (Secret::new(api_key(&mut OsRng)), true),
    };
    let api_hash = api_key_entry("admin", api_key.expose());
    let config = Config::from_lookup(|name| {
        std::env::var(name).ok().or_else(|| match name {
            "MFA_API_KEYS" => Some(api_hash.clone()),
            "MFA_DATA_KEYS" => Some(data_key.clone()),
            "MFA_SIGNING_KEYS" => Some(signing_key.clone()),
            "MFA_CODE_KEY" => Some(code_key.clone()),
            "MFA_EMAIL_FROM" => Some("mfa-local@localhost".to_owned()),
            // Calls go to the outbox too, with the words they speak.
            "MFA_VOICE_ORIGINATION_IDENTITY" => Some("mfa-local".to_owned()),
            // Browsers allow WebAuthn on localhost over plain http (never on an IP address).
            "MFA_WEBAUTHN_RP_ID" => Some("localhost".to_owned()),
            "MFA_WEBAUTHN_ORIGINS" => Some(format!("http://localhost:{}", settings.addr.port())),
            _ => None,
        })
    })?;
    telemetry::cold_start();
    let store = EmbeddedStore::open(settings.data_dir.join("store.redb"))?;
    let outbox = Arc::new(Outbox::new(settings.outbox.clone()));
    let mut state = state(&config, Arc::new(store), Senders::outbox(outbox))?;
    state.sms_webhook = sms_webhook_verifier(&config)?;
    let app = router(&Group::ALL, Arc::new(state));
    let listener = tokio::net::TcpListener::bind(settings.addr).await?;
    let bound = listener.local_addr()?;
    let app = app.merge(extra(LocalApi {
        base_url: format!("http://{bound}"),
        api_key: api_key.clone(),
        outbox: settings.outbox.clone(),
    }));
    println!("mfa-local listening on http://{bound}");
    println!("texts, calls and emails go to the outbox {}", settings.outbox.display());
    if made_up {
        let api_key = api_key.expose();
        println!("API key (admin scope; set MFA_LOCAL_API_KEY to choose one): {api_key}");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(topic: Option<&str>) -> Config {
        let key = key_entry("k", &mut OsRng);
        let api = format!("service:{}", "a".repeat(64));
        Config::from_lookup(|name| match name {
            "MFA_API_KEYS" => Some(api.clone()),
            "MFA_DATA_KEYS" | "MFA_SIGNING_KEYS" | "MFA_CODE_KEY" => Some(key.clone()),
            "MFA_INBOUND_TOPIC_ARN" => topic.map(str::to_owned),
            _ => None,
        })
        .unwrap()
    }

    #[test]
    fn the_webhook_function_does_not_start_without_its_topic() {
        let err = check_webhook_config(&[Group::SmsWebhook], &config(None)).unwrap_err();
        assert_eq!(err.name, "MFA_INBOUND_TOPIC_ARN");
        assert!(check_webhook_config(&[Group::SmsWebhook], &config(Some("arn:t"))).is_ok());
        assert!(check_webhook_config(&[Group::Verify, Group::Admin], &config(None)).is_ok());
    }

    #[test]
    fn the_webhook_verifier_exists_only_with_a_topic() {
        assert!(sms_webhook_verifier(&config(None)).unwrap().is_none());
        assert!(sms_webhook_verifier(&config(Some("arn:t"))).unwrap().is_some());
    }
}
