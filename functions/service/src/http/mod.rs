//! The HTTP API v1: one axum router per function group, sharing the error mapping
//! ([`problem`]), caller authentication ([`auth`]), extractors ([`extract`]) and the conversions
//! between wire bodies and domain types ([`wire`]).
//!
//! | group | routes |
//! |---|---|
//! | enroll | `POST /v1/users/{user}/factors`, `POST /v1/users/{user}/factors/{id}/activate` |
//! | verify | `POST .../login`, `POST .../challenges`, `POST .../challenges/{id}/verify`, `POST .../recovery-codes/verify`, `POST .../step-ups[/{id}/verify]`, `POST /v1/passkey-sign-ins[/{id}/verify]`, `GET /.well-known/jwks.json`, `GET /v1/openapi.json` |
//! | manage | `GET .../factors`, `DELETE .../factors/{id}`, `POST .../recovery-codes`, `POST .../factors/{id}/phone-change[/{challenge}]` |
//! | admin | `DELETE /v1/admin/users/{user}/factors/{id}`, `POST /v1/admin/users/{user}/unlock`, `GET /v1/admin/users/{user}/audit`, `GET`/`PUT /v1/admin/users/{user}/orgs`, `GET`/`PUT /v1/admin/orgs/{org}/policy`, `POST`/`GET /v1/admin/api-keys`, `DELETE /v1/admin/api-keys/{id}` |
//! | sms webhook | `POST /v1/webhooks/sms`: inbound texts from SNS, authenticated by SNS's signature, not an API key |

// Each group's routes but the JWKS need an API key with the group's scope (`verify`, `enroll`,
// `manage`, `admin`); the SMS webhook is authenticated by SNS's signature.

pub mod auth;
pub mod extract;
pub mod handlers;
pub mod openapi;
pub mod problem;
pub mod wire;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::api_key::ApiKeys;
use crate::domain::Mfa;
use crate::sns_verify::SnsVerifier;
use problem::ApiError;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What every handler can reach.
#[derive(Debug)]
pub struct AppState {
    /// The domain.
    pub mfa: Mfa,
    /// The callers' API keys.
    pub api_keys: ApiKeys,
    /// Verifies what SNS posts to the SMS webhook; `None` when `MFA_INBOUND_TOPIC_ARN` is unset,
    /// and the webhook then answers 503.
    pub sms_webhook: Option<SnsVerifier>,
}

/// A function group: the routes one Lambda function serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Enrollment and activation.
    Enroll,
    /// Login decision, challenges, verification, JWKS and the OpenAPI document.
    Verify,
    /// Listing and deleting factors, new recovery codes.
    Manage,
    /// Administration.
    Admin,
    /// Inbound texts (STOP, HELP, START) from SNS.
    SmsWebhook,
}

impl Group {
    /// Every group.
    pub const ALL: [Group; 5] =
        [Group::Enroll, Group::Verify, Group::Manage, Group::Admin, Group::SmsWebhook];

    /// The group's routes.
    pub fn routes(self, state: &Arc<AppState>) -> Router<Arc<AppState>> {
        match self {
            Group::Enroll => enroll_routes(state),
            Group::Verify => verify_routes(state),
            Group::Manage => manage_routes(state),
            Group::Admin => admin_routes(state),
            Group::SmsWebhook => sms_webhook_routes(state),
        }
    }
}

/// One Lambda function, as a type: its group and its routes. A function's binary names its
/// type (`runtime::run_lambda::<functions::Verify>()`), so that the group is a constant there and
/// the binary links only the handlers it serves (and the webhook's HTTPS client only in the
/// webhook's function).
pub trait Function {
    /// The function's group.
    const GROUP: Group;
    /// Its routes.
    fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>>;
}

/// The five Lambda functions.
pub mod functions {
    use super::*;

    macro_rules! function {
        ($name:ident, $routes:ident) => {
            #[doc = concat!("The `", stringify!($name), "` group's function.")]
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl Function for $name {
                const GROUP: Group = Group::$name;
                fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
                    $routes(state)
                }
            }
        };
    }

    function!(Enroll, enroll_routes);
    function!(Verify, verify_routes);
    function!(Manage, manage_routes);
    function!(Admin, admin_routes);
    function!(SmsWebhook, sms_webhook_routes);
}

/// Enrollment and activation: the `mfa-enroll` function's routes.
fn enroll_routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    use handlers as h;
    Router::new()
        .route("/v1/users/{user}/factors", post(h::enroll))
        .route("/v1/users/{user}/factors/{id}/activate", post(h::activate))
        .route_layer(from_fn_with_state(Arc::clone(state), auth::require_enroll))
}

/// Login decision, challenges, verification, JWKS and the OpenAPI document: the `mfa-verify` function's routes.
fn verify_routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    use handlers as h;
    Router::new()
        .route("/v1/users/{user}/login", post(h::login))
        .route("/v1/users/{user}/challenges", post(h::challenge))
        .route("/v1/users/{user}/challenges/{id}/verify", post(h::verify))
        .route("/v1/users/{user}/recovery-codes/verify", post(h::verify_recovery))
        .route("/v1/users/{user}/step-ups", post(h::start_step_up))
        .route("/v1/users/{user}/step-ups/{id}/verify", post(h::finish_step_up))
        .route("/v1/passkey-sign-ins", post(h::start_passkey_sign_in))
        .route("/v1/passkey-sign-ins/{id}/verify", post(h::verify_passkey_sign_in))
        .route("/v1/openapi.json", get(openapi::serve))
        .route_layer(from_fn_with_state(Arc::clone(state), auth::require_verify))
        .route("/.well-known/jwks.json", get(h::jwks))
}

/// Listing and deleting factors, new recovery codes, phone changes: the `mfa-manage` function's routes.
fn manage_routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    use handlers as h;
    Router::new()
        .route("/v1/users/{user}/factors", get(h::list))
        .route("/v1/users/{user}/factors/{id}", delete(h::delete))
        .route("/v1/users/{user}/recovery-codes", post(h::new_recovery_codes))
        .route("/v1/users/{user}/factors/{id}/phone-change", post(h::start_phone_change))
        .route(
            "/v1/users/{user}/factors/{id}/phone-change/{challenge}",
            post(h::continue_phone_change),
        )
        .route_layer(from_fn_with_state(Arc::clone(state), auth::require_manage))
}

/// Administration: the `mfa-admin` function's routes.
fn admin_routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    use handlers as h;
    Router::new()
        .route("/v1/admin/users/{user}/factors/{id}", delete(h::admin_reset_factor))
        .route("/v1/admin/users/{user}/unlock", post(h::admin_unlock))
        .route("/v1/admin/users/{user}/audit", get(h::admin_audit))
        .route(
            "/v1/admin/users/{user}/orgs",
            put(h::admin_set_memberships).get(h::admin_memberships),
        )
        .route("/v1/admin/orgs/{org}/policy", put(h::admin_set_policy).get(h::admin_policy))
        .route("/v1/admin/api-keys", post(h::admin_create_key).get(h::admin_keys))
        .route("/v1/admin/api-keys/{id}", delete(h::admin_revoke_key))
        .route_layer(from_fn_with_state(Arc::clone(state), auth::require_admin))
}

/// Inbound texts from SNS: the `mfa-sms-webhook` function's route.
fn sms_webhook_routes(_state: &Arc<AppState>) -> Router<Arc<AppState>> {
    use handlers as h;
    Router::new().route("/v1/webhooks/sms", post(h::sms_webhook))
}

/// The router of the given groups, with the shared limits and fallbacks.
pub fn router(groups: &[Group], state: Arc<AppState>) -> Router {
    let merged = groups.iter().fold(Router::new(), |r, g| r.merge(g.routes(&state)));
    serve(merged, state)
}

/// `routes` with the shared limits and fallbacks.
pub fn serve(routes: Router<Arc<AppState>>, state: Arc<AppState>) -> Router {
    routes
        .fallback(|| async { ApiError::Route(StatusCode::NOT_FOUND) })
        .method_not_allowed_fallback(|| async { ApiError::Route(StatusCode::METHOD_NOT_ALLOWED) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
