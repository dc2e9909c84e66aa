//! API keys for one app: an admin makes one with some scopes, the app's requests are refused
//! outside them, the audit log names the app, and a revoked key stops working at once.

use mfa_e2e::{code_from_uri, now, unique_user, Function::*};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::stack;

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn an_app_key_does_what_its_scopes_allow_and_is_named_in_the_audit_log() {
    let s = stack();
    let app = unique_user("portal");
    let made = s
        .send(
            Method::POST,
            Admin,
            "/v1/admin/api-keys",
            Some(&json!({"app": app, "scopes": ["verify"]})),
            None,
            &[],
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    let key = made.body["key"].as_str().unwrap().to_owned();
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(made.body["scopes"], json!(["verify"]));
    let listed = s.send(Method::GET, Admin, "/v1/admin/api-keys", None, None, &[]).await;
    let ours = listed.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(ours["app"], app.as_str());
    assert!(ours.get("key").is_none() && !listed.body.to_string().contains(&key), "never the key");

    // The bootstrap key enrolls a user; the app's key may only verify.
    let user = unique_user("app-user");
    let factors = format!("/v1/users/{user}/factors");
    let enrolled = s.post(Enroll, &factors, json!({"type": "totp"})).await;
    let (factor, uri) = (
        enrolled.body["factor"]["id"].as_str().unwrap(),
        enrolled.body["otpauth_uri"].as_str().unwrap(),
    );
    let activated = s
        .post(
            Enroll,
            &format!("{factors}/{factor}/activate"),
            json!({"code": code_from_uri(uri, now())}),
        )
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{:?}", activated.body);
    let by_app = |method, function, path: String, body: Option<serde_json::Value>| {
        let (s, key) = (&s, key.clone());
        async move { s.send(method, function, &path, body.as_ref(), Some(&key), &[]).await }
    };
    let refused =
        by_app(Method::POST, Enroll, factors.clone(), Some(json!({"type": "totp"}))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert_eq!(refused.body["type"], "urn:mfa:problem:forbidden");
    assert!(
        refused.body["detail"].as_str().unwrap().contains("enroll scope"),
        "{:?}",
        refused.body
    );
    let admin = by_app(Method::GET, Admin, format!("/v1/admin/users/{user}/audit"), None).await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN);

    let login = by_app(
        Method::POST,
        Verify,
        format!("/v1/users/{user}/login"),
        Some(json!({"auth_method": "password"})),
    )
    .await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    let challenge = by_app(
        Method::POST,
        Verify,
        format!("/v1/users/{user}/challenges"),
        Some(json!({"login_id": login.body["login_id"], "factor_id": factor})),
    )
    .await;
    let challenge_id = challenge.body["challenge_id"].as_str().unwrap();
    let verified = by_app(
        Method::POST,
        Verify,
        format!("/v1/users/{user}/challenges/{challenge_id}/verify"),
        Some(json!({"code": code_from_uri(uri, now() + 30)})),
    )
    .await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);

    let audit =
        s.send(Method::GET, Admin, &format!("/v1/admin/users/{user}/audit"), None, None, &[]).await;
    let events = audit.body["events"].as_array().unwrap();
    let app_of =
        |action: &str| events.iter().find(|e| e["action"] == action).map(|e| e["app"].clone());
    assert_eq!(app_of("verified"), Some(json!(app)), "{events:?}");
    assert_eq!(app_of("factor_enrolled"), Some(json!("configured")), "{events:?}");

    // Revoked: the next request is refused.
    let revoked =
        s.send(Method::DELETE, Admin, &format!("/v1/admin/api-keys/{id}"), None, None, &[]).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{:?}", revoked.body);
    let after = by_app(
        Method::POST,
        Verify,
        format!("/v1/users/{user}/login"),
        Some(json!({"auth_method": "password"})),
    )
    .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{:?}", after.body);
    let again =
        s.send(Method::DELETE, Admin, &format!("/v1/admin/api-keys/{id}"), None, None, &[]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    // A forged key naming a real record, and a malformed key request, change nothing.
    let forged = format!("mfa.{id}.mfa_forged");
    let forged = s
        .send(
            Method::POST,
            Verify,
            &format!("/v1/users/{user}/login"),
            Some(&json!({"auth_method": "password"})),
            Some(&forged),
            &[],
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    for bad in [json!({"app": "", "scopes": ["verify"]}), json!({"app": "x", "scopes": []})] {
        let refused =
            s.send(Method::POST, Admin, "/v1/admin/api-keys", Some(&bad), None, &[]).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}: {:?}", refused.body);
    }
    let unknown = json!({"app": "x", "scopes": ["root"]});
    let refused =
        s.send(Method::POST, Admin, "/v1/admin/api-keys", Some(&unknown), None, &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", refused.body);
}
