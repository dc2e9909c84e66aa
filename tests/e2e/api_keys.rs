//! API keys for one app: an admin makes one with some scopes, the app's requests are refused
//! outside them, the audit log names the app, and a revoked key stops working at once. Every
//! admin route (as the OpenAPI document and the README's table list them) refuses a key without
//! the admin scope, the `service` scopes included.

use std::collections::BTreeSet;

use mfa_client::api::{
    AuditAction, ChallengeRequest, Decision, EnrollRequest, NewKeyRequest, Scope,
};
use mfa_e2e::{
    code, code_from_uri, now, password, refused, seen, unique_user, Function::*, Secret, Stack,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::stack;

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn an_app_key_does_what_its_scopes_allow_and_is_named_in_the_audit_log() {
    let s = stack();
    let app = unique_user("portal");
    let asked = NewKeyRequest { app: app.clone(), scopes: vec![Scope::Verify] };
    // 201 Created.
    let made = s.admin().admin_create_key(&asked).await.unwrap();
    let (key, id) = (made.key.clone(), made.view.id.clone());
    seen(Secret::ApiKey, &key);
    assert_eq!(made.view.scopes, [Scope::Verify]);
    assert_eq!(made.view.app, app);
    let listed = s.get(|| s.admin().admin_keys()).await.unwrap();
    let ours = listed.keys.iter().find(|k| k.id == id).unwrap();
    assert_eq!(ours.app, app);
    assert_eq!(ours.scopes, [Scope::Verify]);
    // Never the key (on the wire too: tests/e2e/wire.rs).
    let whole = serde_json::to_string(&listed).unwrap();
    assert!(!whole.contains(&key), "never the key: {whole}");

    // The bootstrap key enrolls a user; the app's key may only verify.
    let user = unique_user("app-user");
    let totp = EnrollRequest::Totp { label: None, account_name: None };
    let enrolled = s.enroll().enroll(&user, &totp, None).await.unwrap();
    let (factor, uri) = (&enrolled.factor.id, enrolled.otpauth_uri.as_deref().unwrap());
    s.enroll().activate(&user, factor, &code(&code_from_uri(uri, now()))).await.unwrap();
    let by_app = |function| s.client_with_key(function, &key);
    let refusal = by_app(Enroll).enroll(&user, &totp, None).await;
    let problem = refused(refusal, 403, "forbidden");
    assert!(problem.detail.contains("enroll scope"), "{problem:?}");
    let admin = by_app(Admin);
    refused(s.get(|| admin.admin_audit(&user)).await, 403, "forbidden");

    let login = by_app(Verify).login(&user, &password()).await.unwrap();
    assert_eq!(login.decision, Decision::Challenge);
    let ask = ChallengeRequest {
        login_id: login.login_id.clone(),
        factor_id: factor.clone(),
        delivery: None,
    };
    let challenge = by_app(Verify).challenge(&user, &ask).await.unwrap();
    let proof = code(&code_from_uri(uri, now() + 30));
    let verified = by_app(Verify).verify(&user, &challenge.challenge_id, &proof).await.unwrap();
    s.check_token(&verified.mfa_token, &user, factor, &["otp"]).await;

    let audit = s.get(|| s.admin().admin_audit(&user)).await.unwrap();
    let events = &audit.events;
    let app_of =
        |action: AuditAction| events.iter().find(|e| e.action == action).map(|e| e.app.clone());
    assert_eq!(app_of(AuditAction::Verified), Some(Some(app.clone())), "{events:?}");
    assert_eq!(
        app_of(AuditAction::FactorEnrolled),
        Some(Some("configured".to_owned())),
        "{events:?}"
    );

    // Revoked (204): the next request is refused.
    s.admin().admin_revoke_key(&id).await.unwrap();
    refused(by_app(Verify).login(&user, &password()).await, 401, "unauthorized");
    refused(s.admin().admin_revoke_key(&id).await, 404, "not-found");
    // A forged key naming a real record, and a malformed key request, change nothing.
    let forged = s.client_with_key(Verify, &format!("mfa.{id}.mfa_forged"));
    refused(forged.login(&user, &password()).await, 401, "unauthorized");
    let nameless = unique_user("x");
    for bad in [
        NewKeyRequest { app: String::new(), scopes: vec![Scope::Verify] },
        NewKeyRequest { app: nameless.clone(), scopes: vec![] },
    ] {
        let refusal = s.admin().admin_create_key(&bad).await;
        refused(refusal, 400, "invalid-request");
    }
    let keys = s.get(|| s.admin().admin_keys()).await.unwrap();
    assert!(keys.keys.iter().all(|k| !k.app.is_empty() && k.app != nameless), "{keys:?}");
    // (A scope the API doesn't have: tests/e2e/bad_input.rs.)
}

/// Each `(method, path)` of the README's route table under `/v1/admin/`: its first column, e.g.
/// "`GET`, `PUT /v1/admin/orgs/{org}/policy`" (two routes).
fn readme_admin_routes() -> BTreeSet<(String, String)> {
    let readme = include_str!("../../README.md");
    let mut routes = BTreeSet::new();
    for line in readme.lines() {
        let Some(first) = line.strip_prefix("| `").and_then(|l| l.split(" |").next()) else {
            continue;
        };
        let first = first.replace('`', "");
        let Some((methods, path)) = first.rsplit_once(' ') else { continue };
        if path.starts_with("/v1/admin/") {
            routes.extend(methods.split(", ").map(|m| (m.to_owned(), path.to_owned())));
        }
    }
    routes
}

/// Each `(method, path)` of the OpenAPI document the stack serves whose operation is tagged
/// `admin`; panics unless these are exactly the document's paths under `/v1/admin/`.
async fn openapi_admin_routes(s: &Stack) -> BTreeSet<(String, String)> {
    let document = s.get(|| s.verify().openapi()).await.unwrap();
    let mut tagged = BTreeSet::new();
    let mut under = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let Some(tags) = operation["tags"].as_array() else { continue };
            let route = (method.to_uppercase(), path.clone());
            if tags.iter().any(|t| t == "admin") {
                tagged.insert(route.clone());
            }
            if path.starts_with("/v1/admin/") {
                under.insert(route);
            }
        }
    }
    assert_eq!(tagged, under, "the admin-scoped operations are those under /v1/admin/");
    tagged
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn every_admin_route_refuses_a_key_without_the_admin_scope() {
    let s = stack();
    let routes = openapi_admin_routes(&s).await;
    assert_eq!(routes, readme_admin_routes(), "the OpenAPI document and the README's table");
    // The README's table: 7 rows, 10 routes.
    assert_eq!(routes.len(), 10, "{routes:?}");

    // Keys an admin makes for apps: the `service` scopes (README: `verify+enroll+manage`), and
    // each of them alone; and the stack's configured `service` key, when it has one.
    let service = vec![Scope::Verify, Scope::Enroll, Scope::Manage];
    let mut made = Vec::new();
    let mut keys = Vec::new();
    for scopes in [service, vec![Scope::Verify], vec![Scope::Enroll], vec![Scope::Manage]] {
        let asked = NewKeyRequest { app: unique_user("scoped"), scopes: scopes.clone() };
        let key = s.admin().admin_create_key(&asked).await.unwrap();
        seen(Secret::ApiKey, &key.key);
        made.push(key.view.id);
        keys.push((format!("{scopes:?}"), key.key));
    }
    keys.extend(s.service_key.clone().map(|key| ("configured service".to_owned(), key)));

    let (user, org) = (unique_user("scoped-user"), unique_user("scoped-org"));
    for (method, template) in &routes {
        let path = template
            .replace("{user}", &user)
            .replace("{org}", &org)
            .replace("{id}", &unique_user("id"));
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = [Method::POST, Method::PUT].contains(&method).then(|| json!({}));
        for (scopes, key) in &keys {
            let answer = s.send(method.clone(), Admin, &path, body.as_ref(), Some(key), &[]).await;
            let what = format!("{method} {path} with a key of {scopes}: {answer:?}");
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{what}");
            assert_eq!(answer.content_type, "application/problem+json", "{what}");
            assert_eq!(answer.body["type"], "urn:mfa:problem:forbidden", "{what}");
            let detail = answer.body["detail"].as_str().unwrap_or_default();
            assert!(detail.contains("admin scope"), "{what}");
        }
        // The admin key gets past the scope check to the route itself.
        let answer = s.send(method.clone(), Admin, &path, body.as_ref(), None, &[]).await;
        let what = format!("{method} {path} with the admin key: {answer:?}");
        let refused = [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN];
        assert!(!refused.contains(&answer.status), "{what}");
        assert!(answer.status != StatusCode::METHOD_NOT_ALLOWED, "{what}");
        assert_ne!(answer.body["type"], "urn:mfa:problem:no-such-route", "{what}");
    }
    for id in made {
        s.admin().admin_revoke_key(&id).await.unwrap();
    }
}
