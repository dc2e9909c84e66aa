//! The OpenAPI 3.1 document of the API, generated from the handlers and types.

use std::sync::OnceLock;

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::handlers as h;

/// The API document.
#[derive(OpenApi)]
#[openapi(
    info(title = "mfa-service", version = "1", description = "Multi-factor authentication for your users: enroll, challenge, verify."),
    paths(h::enroll, h::activate, h::list, h::delete, h::new_recovery_codes, h::start_phone_change, h::continue_phone_change, h::login, h::challenge,
        h::verify, h::verify_recovery, h::start_step_up, h::finish_step_up, h::start_passkey_sign_in, h::verify_passkey_sign_in, h::jwks, h::admin_reset_factor, h::admin_unlock,
        h::admin_set_policy, h::admin_policy, h::admin_set_memberships, h::admin_memberships, h::admin_audit, h::sms_webhook),
    modifiers(&ApiKeyScheme)
)]
pub struct ApiDoc;

struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// `GET /v1/openapi.json`: the document is built once per process, on first request.
pub async fn serve() -> Json<&'static utoipa::openapi::OpenApi> {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    Json(DOCUMENT.get_or_init(ApiDoc::openapi))
}
