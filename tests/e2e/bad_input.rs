//! Bad input gets a clear 4xx problem document and changes nothing.

use mfa_e2e::{unique_user, Function::*};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::stack;

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn missing_or_wrong_api_keys_are_refused() {
    let s = stack();
    let user = unique_user("auth");
    let path = format!("/v1/users/{user}/factors");
    for key in ["", "mfa_wrong"] {
        let answer = s
            .send(Method::POST, Enroll, &path, Some(&json!({"type":"totp"})), Some(key), &[])
            .await;
        // An empty key sends no Authorization header at all.
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{key:?}: {:?}", answer.body);
        assert_eq!(answer.content_type, "application/problem+json");
    }
    let listed = s.send(Method::GET, Manage, &path, None, None, &[]).await;
    assert_eq!(listed.body["factors"], json!([]), "refused requests changed nothing");

    // Only the JWKS and the OpenAPI document (and the SMS webhook, signed by SNS) answer
    // without a key.
    let doc = s.send(Method::GET, Verify, "/v1/openapi.json", None, Some(""), &[]).await;
    assert_eq!(doc.status, StatusCode::OK, "{:?}", doc.body);
    assert_eq!(doc.body["openapi"], "3.1.0");
    assert!(doc.body["paths"]["/v1/users/{user}/factors"]["post"].is_object(), "{:?}", doc.body);
    let jwks = s.send(Method::GET, Verify, "/.well-known/jwks.json", None, Some(""), &[]).await;
    assert_eq!(jwks.status, StatusCode::OK, "{:?}", jwks.body);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn malformed_requests_get_problem_documents_and_change_nothing() {
    let s = stack();
    let user = unique_user("bad");
    let factors = format!("/v1/users/{user}/factors");
    let cases = [
        (json!({"type":"carrier-pigeon"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"type":"totp","label": 7}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"type":"totp","extra": true}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"type":"totp","label": ""}), StatusCode::BAD_REQUEST),
        (json!({"type":"totp","account_name": "a:b"}), StatusCode::BAD_REQUEST),
        (json!([1, 2]), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"type":"totp","label": "x".repeat(20_000)}), StatusCode::PAYLOAD_TOO_LARGE),
    ];
    for (body, status) in cases {
        let answer = s.post(Enroll, &factors, body.clone()).await;
        assert_eq!(answer.status, status, "{body}: {:?}", answer.body);
        assert_eq!(answer.content_type, "application/problem+json");
        assert_eq!(answer.body["status"], status.as_u16());
        assert!(answer.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let listed = s.send(Method::GET, Manage, &factors, None, None, &[]).await;
    assert_eq!(listed.body["factors"], json!([]));

    let bad_user = s.post(Enroll, "/v1/users/has%20space/factors", json!({"type":"totp"})).await;
    assert_eq!(bad_user.status, StatusCode::BAD_REQUEST, "{:?}", bad_user.body);

    let unknown = s
        .post(
            Verify,
            &format!("/v1/users/{user}/challenges/chl_nope/verify"),
            json!({"code":"123456"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{:?}", unknown.body);
    let shape = s
        .post(
            Verify,
            &format!("/v1/users/{user}/challenges/chl_nope/verify"),
            json!({"code":"12ab"}),
        )
        .await;
    assert_eq!(shape.status, StatusCode::BAD_REQUEST, "{:?}", shape.body);
    let login = s
        .post(
            Verify,
            &format!("/v1/users/{user}/challenges"),
            json!({"login_id":"lgn_nope","factor_id":"fac_nope"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::NOT_FOUND, "{:?}", login.body);
    let recovery = s
        .post(Verify, &format!("/v1/users/{user}/recovery-codes/verify"), json!({"code":"short"}))
        .await;
    assert_eq!(recovery.status, StatusCode::BAD_REQUEST, "{:?}", recovery.body);

    // Ids in a body are checked as ids in a path are: never a storage error.
    let long = "x".repeat(3000);
    let id_cases = [
        (format!("/v1/users/{user}/challenges"), json!({"login_id": long, "factor_id": "fac_1"})),
        (format!("/v1/users/{user}/challenges"), json!({"login_id": "lgn_1", "factor_id": "a b"})),
        (
            format!("/v1/users/{user}/step-ups"),
            json!({"operation": "add_factor", "with_factor_id": long}),
        ),
        (
            format!("/v1/users/{user}/recovery-codes/verify"),
            json!({"code": "ABCD-EFGH-JKMN-PQRS", "login_id": "lgn/1"}),
        ),
    ];
    for (path, body) in id_cases {
        let answer = s.post(Verify, &path, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path} {body}: {:?}", answer.body);
        assert_eq!(answer.content_type, "application/problem+json");
    }
    let policy = format!("/v1/admin/orgs/{}/policy", unique_user("org"));
    let extra = json!({"require_mfa": true, "requireMfa": false});
    let answer = s.send(Method::PUT, Admin, &policy, Some(&extra), None, &[]).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", answer.body);
    let kept = s.send(Method::GET, Admin, &policy, None, None, &[]).await;
    assert_eq!(kept.body["require_mfa"], false, "nothing was set: {:?}", kept.body);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn someone_elses_challenge_is_not_found() {
    let s = stack();
    let (ada, eve) = (unique_user("ada"), unique_user("eve"));
    let enrolled =
        s.post(Enroll, &format!("/v1/users/{ada}/factors"), json!({"type":"totp"})).await;
    let factor = enrolled.body["factor"]["id"].as_str().unwrap();
    // Eve can't activate Ada's factor, even knowing its id.
    let answer = s
        .post(
            Enroll,
            &format!("/v1/users/{eve}/factors/{factor}/activate"),
            json!({"code":"123456"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{:?}", answer.body);
    let route = s.send(Method::GET, Verify, "/v1/nothing-here", None, None, &[]).await;
    assert_eq!(route.status, StatusCode::NOT_FOUND);
    assert_eq!(route.content_type, "application/problem+json");
}
