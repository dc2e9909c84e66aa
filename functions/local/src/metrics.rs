//! `GET /metrics`: the service's counters (`mfa_service::telemetry`) in Prometheus text format,
//! from the recorder this installs for the process.

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder};

/// Installs the process's metrics recorder and answers its counters at `/metrics`.
pub fn install() -> Result<Router, BuildError> {
    let handle = PrometheusBuilder::new().install_recorder()?;
    let metrics = move || async move {
        ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render())
    };
    Ok(Router::new().route("/metrics", get(metrics)))
}
