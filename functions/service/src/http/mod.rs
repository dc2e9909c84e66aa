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
use axum::routing::get;
use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api_key::{ApiKeys, Scope};
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
        self.api().router(state)
    }

    /// The OpenAPI paths of the group's routes.
    pub fn document(self) -> utoipa::openapi::OpenApi {
        self.api().document()
    }

    fn api(self) -> Api {
        match self {
            Group::Enroll => enroll_api(),
            Group::Verify => verify_api(),
            Group::Manage => manage_api(),
            Group::Admin => admin_api(),
            Group::SmsWebhook => sms_webhook_api(),
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
        ($name:ident, $api:ident) => {
            #[doc = concat!("The `", stringify!($name), "` group's function.")]
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl Function for $name {
                const GROUP: Group = Group::$name;
                fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
                    $api().router(state)
                }
            }
        };
    }

    function!(Enroll, enroll_api);
    function!(Verify, verify_api);
    function!(Manage, manage_api);
    function!(Admin, admin_api);
    function!(SmsWebhook, sms_webhook_api);
}

/// A group's routes, each listed once with its OpenAPI operation (utoipa-axum): those that
/// need an API key with the group's scope, and those that need none.
struct Api {
    scope: Option<Scope>,
    keyed: OpenApiRouter<Arc<AppState>>,
    open: OpenApiRouter<Arc<AppState>>,
}

impl Api {
    /// Routes that need a key with `scope`.
    fn keyed(scope: Scope, keyed: OpenApiRouter<Arc<AppState>>) -> Self {
        Self { scope: Some(scope), keyed, open: OpenApiRouter::new() }
    }

    /// Routes that need no key.
    fn open(open: OpenApiRouter<Arc<AppState>>) -> Self {
        Self { scope: None, keyed: OpenApiRouter::new(), open }
    }

    /// The routes, the keyed ones behind [`auth::require`].
    fn router(self, state: &Arc<AppState>) -> Router<Arc<AppState>> {
        let (keyed, _) = self.keyed.split_for_parts();
        let keyed = match self.scope {
            Some(scope) => {
                keyed.route_layer(from_fn_with_state((Arc::clone(state), scope), auth::require))
            }
            None => keyed,
        };
        keyed.merge(self.open.split_for_parts().0)
    }

    /// The routes' OpenAPI paths.
    fn document(self) -> utoipa::openapi::OpenApi {
        let mut doc = self.keyed.into_openapi();
        doc.merge(self.open.into_openapi());
        doc
    }
}

/// Enrollment and activation: the `mfa-enroll` function's routes.
fn enroll_api() -> Api {
    use handlers as h;
    Api::keyed(
        Scope::Enroll,
        OpenApiRouter::new().routes(routes!(h::enroll)).routes(routes!(h::activate)),
    )
}

/// Login decision, challenges, verification and step-ups (with a key); the JWKS and the OpenAPI
/// document (without): the `mfa-verify` function's routes.
fn verify_api() -> Api {
    use handlers as h;
    let keyed = OpenApiRouter::new()
        .routes(routes!(h::login))
        .routes(routes!(h::challenge))
        .routes(routes!(h::verify))
        .routes(routes!(h::verify_recovery))
        .routes(routes!(h::start_step_up))
        .routes(routes!(h::finish_step_up))
        .routes(routes!(h::start_passkey_sign_in))
        .routes(routes!(h::verify_passkey_sign_in));
    let open = OpenApiRouter::new()
        .routes(routes!(h::jwks))
        .route("/v1/openapi.json", get(openapi::serve));
    Api { open, ..Api::keyed(Scope::Verify, keyed) }
}

/// Listing and deleting factors, new recovery codes, phone changes: the `mfa-manage` function's routes.
fn manage_api() -> Api {
    use handlers as h;
    Api::keyed(
        Scope::Manage,
        OpenApiRouter::new()
            .routes(routes!(h::list))
            .routes(routes!(h::delete))
            .routes(routes!(h::new_recovery_codes))
            .routes(routes!(h::start_phone_change))
            .routes(routes!(h::continue_phone_change)),
    )
}

/// Administration: the `mfa-admin` function's routes.
fn admin_api() -> Api {
    use handlers as h;
    Api::keyed(
        Scope::Admin,
        OpenApiRouter::new()
            .routes(routes!(h::admin_reset_factor))
            .routes(routes!(h::admin_unlock))
            .routes(routes!(h::admin_audit))
            .routes(routes!(h::admin_set_memberships, h::admin_memberships))
            .routes(routes!(h::admin_set_policy, h::admin_policy))
            .routes(routes!(h::admin_create_key, h::admin_keys))
            .routes(routes!(h::admin_revoke_key)),
    )
}

/// Inbound texts from SNS, authenticated by SNS's signature: the `mfa-sms-webhook` function's
/// route.
fn sms_webhook_api() -> Api {
    Api::open(OpenApiRouter::new().routes(routes!(handlers::sms_webhook)))
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
