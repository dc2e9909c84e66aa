//! Lambda function serving the admin routes of the MFA service (see `mfa_service::http`).

#[tokio::main]
async fn main() -> Result<(), mfa_service::runtime::StartError> {
    mfa_service::runtime::run_lambda::<mfa_service::http::functions::Admin>().await
}
