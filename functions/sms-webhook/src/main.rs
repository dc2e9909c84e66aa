//! Lambda function serving the inbound SMS webhook of the MFA service, `POST /v1/webhooks/sms`
//! (see `mfa_service::http` and `mfa_service::sns_verify`). It refuses to start without
//! `MFA_INBOUND_TOPIC_ARN`.

#[tokio::main]
async fn main() -> Result<(), mfa_service::runtime::StartError> {
    mfa_service::runtime::run_lambda::<mfa_service::http::functions::SmsWebhook>().await
}
