//! Outbound HTTP: reqwest over rustls, with aws-lc-rs (the AWS SDK's crypto) as rustls's
//! provider, so that the functions link one crypto library. Every reqwest client of the
//! workspace starts here: reqwest is built without a provider of its own, and would panic
//! without one installed.

/// A client builder, with aws-lc-rs installed as the process's rustls provider (if no
/// provider was installed before).
pub fn builder() -> reqwest::ClientBuilder {
    // An error only says that a provider is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder()
}
