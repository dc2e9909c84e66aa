//! mfa-local: every route of the MFA service on 127.0.0.1:8080 (`MFA_LOCAL_ADDR`), over the
//! embedded store in `.mfa-local/` (`MFA_LOCAL_DATA_DIR`), a demo sign-in page at `/demo/`
//! ([`demo`]), the API reference at `/docs` ([`reference`]) and metrics at `/metrics`
//! ([`metrics`]). Takes its API key from `MFA_LOCAL_API_KEY`, or makes one and prints it.

mod demo;
mod metrics;
mod reference;

#[tokio::main]
async fn main() -> Result<(), mfa_service::runtime::StartError> {
    let settings = mfa_service::runtime::LocalSettings::from_env()?;
    let http = mfa_service::http_client::builder()
        .build()
        .map_err(|e| format!("the demo's HTTP client: {e}"))?;
    let reference = reference::router().map_err(|e| format!("docs/openapi.json: {e}"))?;
    let metrics = metrics::install().map_err(|e| format!("the metrics recorder: {e}"))?;
    mfa_service::runtime::run_local(settings, |api| {
        demo::router(api, http).merge(reference).merge(metrics)
    })
    .await
}
