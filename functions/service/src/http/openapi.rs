//! The OpenAPI 3.1 document of the API, generated from the routes (each listed once, with its
//! handler's `#[utoipa::path]`, in [`super::Group`]'s routers) and types, and committed as
//! `docs/openapi.json`, which a test keeps equal to the code and `GET /v1/openapi.json` serves.
//!
//! Every error answer is the one `Problem` response (`application/problem+json`). The handlers
//! list the problems their domain calls give; `EdgeProblems` adds, to every operation they can
//! reach, those given before a handler runs.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi, ToResponse};

use super::problem::Problem;
use super::Group;

/// The document's parts that are not paths: its info and security scheme.
#[derive(OpenApi)]
#[openapi(
    info(title = "mfa-service", version = "1", description = "Multi-factor authentication for your users: enroll, challenge, verify."),
    components(responses(Problem)),
    modifiers(&ApiKeyScheme)
)]
struct ApiDoc;

/// The committed document (`docs/openapi.json`).
pub const COMMITTED: &str = include_str!("../../../../docs/openapi.json");

/// The document of every group's routes, as the code states it.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for group in Group::ALL {
        doc.merge(group.document());
    }
    EdgeProblems.modify(&mut doc);
    doc
}

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

/// The problems answered before a handler runs, on the operations they can reach: 401 and 403
/// (a key without the route's scope) where an API key is needed ([`super::auth`]); 400 for a malformed path id ([`super::extract`]); for a
/// body, 400 when it can't be read and 413 over [`super::MAX_BODY_BYTES`], and for a JSON body
/// 415 without `Content-Type: application/json` and 422 when it is not the expected JSON
/// (axum's `Json` rejections, mapped in [`super::problem`]).
struct EdgeProblems;

impl EdgeProblems {
    fn statuses(operation: &Operation) -> Vec<u16> {
        let mut statuses = Vec::new();
        if operation.security.is_some() {
            statuses.extend([401, 403]);
        }
        let in_path =
            |p: &RefOr<Parameter>| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path);
        if operation.parameters.iter().flatten().any(in_path) {
            statuses.push(400);
        }
        if let Some(body) = &operation.request_body {
            statuses.extend([400, 413]);
            if matches!(body, RefOr::T(body) if body.content.contains_key("application/json")) {
                statuses.extend([415, 422]);
            }
        }
        statuses
    }
}

impl Modify for EdgeProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let (name, _) = Problem::response();
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                for status in Self::statuses(operation) {
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
                }
            }
        }
    }
}

/// `GET /v1/openapi.json`: the committed document, as it is.
pub async fn serve() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], COMMITTED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn generated() -> Value {
        serde_json::to_value(document()).unwrap()
    }

    /// `MFA_WRITE_OPENAPI=1 cargo test -p mfa-service --lib openapi` writes the file anew.
    #[test]
    fn the_committed_document_is_the_code_s() {
        let code = serde_json::to_string_pretty(&document()).unwrap() + "\n";
        if std::env::var_os("MFA_WRITE_OPENAPI").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
            std::fs::write(path, &code).unwrap();
        }
        assert!(
            code == COMMITTED,
            "docs/openapi.json differs from the routes and types in the code: review the \
             change, then write it with `MFA_WRITE_OPENAPI=1 cargo test -p mfa-service --lib openapi`"
        );
    }

    fn statuses(doc: &Value, path: &str, method: &str) -> Vec<String> {
        let responses = doc["paths"][path][method]["responses"].as_object().unwrap();
        responses.keys().cloned().collect()
    }

    #[test]
    fn every_error_answer_is_the_problem_response() {
        let doc = generated();
        let problem = &doc["components"]["responses"]["Problem"]["content"];
        assert!(problem["application/problem+json"]["schema"].is_object(), "{problem}");
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for (status, response) in operation["responses"].as_object().unwrap() {
                    if status.as_str() >= "400" {
                        let want = json!({"$ref": "#/components/responses/Problem"});
                        assert_eq!(response, &want, "{method} {path} {status}");
                    }
                }
            }
        }
    }

    #[test]
    fn operations_list_the_problems_answered_before_their_handler() {
        let doc = generated();
        // An API key, a path id and a JSON body.
        let login = statuses(&doc, "/v1/users/{user}/login", "post");
        for status in ["400", "401", "413", "415", "422"] {
            assert!(login.contains(&status.to_owned()), "login: {status} in {login:?}");
        }
        // An API key (401 without, 403 without the route's scope) and a path id, no body.
        let listed = statuses(&doc, "/v1/users/{user}/factors", "get");
        assert_eq!(listed, ["200", "400", "401", "403"]);
        // No key, a body of any type.
        assert_eq!(
            statuses(&doc, "/v1/webhooks/sms", "post"),
            ["200", "400", "403", "413", "502", "503"]
        );
        // No key, no path id, no body.
        assert_eq!(statuses(&doc, "/.well-known/jwks.json", "get"), ["200"]);
    }
}
