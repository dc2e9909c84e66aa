//! `mfa secret`: the deployment's keys (`mfa_core::keys`) in its Secrets Manager secret (the
//! stack's `SecretArn`), which the functions read at start (`MFA_SECRET_ARN`). AWS credentials
//! and region come from the environment or `AWS_PROFILE`, as for the AWS CLI.

use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use clap::Subcommand;
use mfa_core::keys::{new_secret, NewSecret, SECRET_VARIABLES};
use rand_core::OsRng;
use serde_json::{json, Map, Value};

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Print new keys as JSON, {"secret": {...}, "api_keys": {...}}, and store nothing.
    Generate,
    /// Fill the deployment's secret with new keys and print its two API keys, once. Refuses a
    /// secret that holds keys already: new data keys would make every stored authenticator
    /// secret unreadable (to rotate a key, see infra/README.md).
    Init {
        /// The secret (the stack's `SecretArn` output).
        #[arg(long)]
        secret_arn: String,
        /// The inbound SMS topic (`InboundSmsTopicArn`): SNS is asked to confirm the webhook's
        /// subscription again, which could not start before the secret was filled.
        #[arg(long, requires = "webhook_url")]
        topic_arn: Option<String>,
        /// The webhook's URL (`SmsWebhookUrl`).
        #[arg(long, requires = "topic_arn")]
        webhook_url: Option<String>,
    },
}

/// Today's date as key ids carry it: `YYYYMMDD` (UTC).
fn today() -> String {
    let date = time::OffsetDateTime::now_utc().date();
    format!("{:04}{:02}{:02}", date.year(), u8::from(date.month()), date.day())
}

/// The secret's value: a JSON object of its variables.
fn value_of(secret: &NewSecret) -> Value {
    let variables: Map<String, Value> =
        secret.variables.iter().map(|(k, v)| ((*k).to_owned(), Value::String(v.clone()))).collect();
    Value::Object(variables)
}

pub async fn run(command: SecretCommand) -> Result<(), String> {
    let secret = new_secret(&today(), &mut OsRng);
    match command {
        SecretCommand::Generate => {
            let keys = json!({"service": secret.service_key, "admin": secret.admin_key});
            crate::print(&json!({"secret": value_of(&secret), "api_keys": keys}))
        }
        SecretCommand::Init { secret_arn, topic_arn, webhook_url } => {
            let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let secrets = aws_sdk_secretsmanager::Client::new(&aws);
            refuse_filled(&secrets, &secret_arn).await?;
            secrets
                .put_secret_value()
                .secret_id(&secret_arn)
                .secret_string(value_of(&secret).to_string())
                .send()
                .await
                .map_err(|e| format!("storing the keys in {secret_arn}: {}", describe(&e)))?;
            println!("Stored new keys in {secret_arn}.\n");
            println!("API keys: store them in your login backend's secret store now; only their hashes are kept.");
            println!("  service (enroll, login, verify, manage): {}", secret.service_key);
            println!("  admin (everything, plus /v1/admin):      {}", secret.admin_key);
            if let (Some(topic), Some(endpoint)) = (topic_arn, webhook_url) {
                aws_sdk_sns::Client::new(&aws)
                    .subscribe()
                    .topic_arn(&topic)
                    .protocol("https")
                    .endpoint(&endpoint)
                    .send()
                    .await
                    .map_err(|e| format!("subscribing {endpoint} to {topic}: {}", describe(&e)))?;
                println!("\nAsked SNS to confirm {endpoint} on {topic} again.");
            }
            Ok(())
        }
    }
}

/// Fails when the secret holds any of the service's keys already.
async fn refuse_filled(secrets: &aws_sdk_secretsmanager::Client, arn: &str) -> Result<(), String> {
    match secrets.get_secret_value().secret_id(arn).send().await {
        Ok(current) => {
            let held: Value =
                serde_json::from_str(current.secret_string().unwrap_or("{}")).unwrap_or_default();
            if SECRET_VARIABLES.iter().any(|name| held.get(name).is_some_and(|v| v != "")) {
                return Err(format!(
                    "{arn} already holds keys: refusing to replace them (the data keys decrypt what is stored). To rotate a key, see infra/README.md."
                ));
            }
            Ok(())
        }
        // A secret created empty has no value yet.
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(GetSecretValueError::ResourceNotFoundException(_))
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(format!("reading {arn}: {}", describe(&e))),
    }
}

/// An SDK error with its service's message.
fn describe<E: std::error::Error>(error: &E) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}
