//! Orgs: an admin sets which orgs a user belongs to, and the login decision, enrollment and
//! tokens follow the strictest of their policies, whatever the caller sends.

use mfa_e2e::{code_from_uri, jwt_claims, now, unique_user, Function::*, Stack};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::stack;

/// Puts `org`'s policy; the stored policy as answered.
async fn put_policy(s: &Stack, org: &str, policy: &Value) -> Value {
    let path = format!("/v1/admin/orgs/{org}/policy");
    let put = s.send(Method::PUT, Admin, &path, Some(policy), None, &[]).await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
    put.body
}

/// Makes `user` a member of `orgs`.
async fn join(s: &Stack, user: &str, orgs: &[&str]) {
    let path = format!("/v1/admin/users/{user}/orgs");
    let body = json!({ "orgs": orgs });
    let put = s.send(Method::PUT, Admin, &path, Some(&body), None, &[]).await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);
}

async fn decide(s: &Stack, user: &str, auth_method: &str) -> Value {
    let body = json!({ "auth_method": auth_method });
    let answer = s.post(Verify, &format!("/v1/users/{user}/login"), body).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body["decision"].clone()
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_member_of_an_org_that_requires_mfa_must_enroll_whatever_the_caller_sends() {
    let s = stack();
    let (member, outsider, org) =
        (unique_user("member"), unique_user("outsider"), unique_user("acme"));
    let stored = put_policy(&s, &org, &json!({"require_mfa": true})).await;
    assert_eq!(stored["sso_exempt"], true, "SSO is exempt unless the org says otherwise");
    assert_eq!(stored["notices"], true, "members are told of changes unless the org says not");
    join(&s, &member, &[&org]).await;
    let listed = s
        .send(Method::GET, Admin, &format!("/v1/admin/users/{member}/orgs"), None, None, &[])
        .await;
    assert_eq!(listed.body, json!({ "orgs": [org] }));

    // Nothing the caller sends names the org: the stored membership decides.
    assert_eq!(decide(&s, &member, "password").await, "enroll_required");
    assert_eq!(decide(&s, &outsider, "password").await, "enroll_suggested");
    let with_org = json!({"auth_method": "password", "org_id": org});
    let refused = s.post(Verify, &format!("/v1/users/{outsider}/login"), with_org).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", refused.body);
    assert_eq!(decide(&s, &member, "sso").await, "allow");

    // Leaving the org leaves its policy.
    join(&s, &member, &[]).await;
    assert_eq!(decide(&s, &member, "password").await, "enroll_suggested");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn an_org_can_give_members_sign_ins_before_enrollment_is_required() {
    let s = stack();
    let org = unique_user("grace");
    let strict =
        json!({"require_mfa": true, "grace_logins": 1, "sso_exempt": true, "notices": true});
    assert_eq!(put_policy(&s, &org, &strict).await, strict);
    let path = format!("/v1/admin/orgs/{org}/policy");
    assert_eq!(s.send(Method::GET, Admin, &path, None, None, &[]).await.body, strict);
    // The first sign-in without a factor suggests enrolling; the next ones require it.
    let (ada, bob) = (unique_user("ada"), unique_user("bob"));
    join(&s, &ada, &[&org]).await;
    join(&s, &bob, &[&org]).await;
    assert_eq!(decide(&s, &ada, "password").await, "enroll_suggested");
    assert_eq!(decide(&s, &ada, "password").await, "enroll_required");
    assert_eq!(decide(&s, &ada, "password").await, "enroll_required");
    assert_eq!(decide(&s, &bob, "password").await, "enroll_suggested", "each member has their own");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn the_strictest_policy_of_the_users_orgs_wins() {
    let s = stack();
    let user = unique_user("two-orgs");
    let (strict_kinds, strict_count) = (unique_user("no-sms"), unique_user("one-method"));
    put_policy(&s, &strict_kinds, &json!({"require_mfa": false, "allowed_factors": ["totp", "webauthn"], "sso_exempt": false})).await;
    put_policy(
        &s,
        &strict_count,
        &json!({"require_mfa": true, "max_factors": 1, "token_ttl_seconds": 120}),
    )
    .await;
    join(&s, &user, &[&strict_kinds, &strict_count]).await;
    let factors = format!("/v1/users/{user}/factors");

    // One org refuses SMS and email.
    for body in [
        json!({"type": "sms", "phone": "+1 201 555 0123"}),
        json!({"type": "email", "email": "ada@example.com"}),
    ] {
        let refused = s.post(Enroll, &factors, body).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
        assert_eq!(refused.body["type"], "urn:mfa:problem:policy-forbids");
    }
    let enrolled = s.post(Enroll, &factors, json!({"type": "totp"})).await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{:?}", enrolled.body);
    let (id, uri) = (
        enrolled.body["factor"]["id"].as_str().unwrap(),
        enrolled.body["otpauth_uri"].as_str().unwrap(),
    );
    let activate = json!({"code": code_from_uri(uri, now())});
    let activated = s.post(Enroll, &format!("{factors}/{id}/activate"), activate).await;
    assert_eq!(activated.status, StatusCode::OK, "{:?}", activated.body);

    // The other allows one method at a time.
    let second = s.post(Enroll, &factors, json!({"type": "totp"})).await;
    assert_eq!(second.status, StatusCode::FORBIDDEN, "{:?}", second.body);
    assert_eq!(second.body["type"], "urn:mfa:problem:policy-forbids");

    // SSO is exempt only if every org exempts it; tokens live the shortest lifetime.
    assert_eq!(decide(&s, &user, "sso").await, "challenge");
    let login = s.login(&user).await;
    assert_eq!(login.body["decision"], "challenge", "{:?}", login.body);
    let challenge = s.challenge(&user, login.body["login_id"].as_str().unwrap(), id).await;
    let challenge_id = challenge.body["challenge_id"].as_str().unwrap();
    let verified = s.verify(&user, challenge_id, &code_from_uri(uri, now() + 30)).await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);
    let claims = jwt_claims(verified.body["mfa_token"].as_str().unwrap());
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 120);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_policy_that_makes_no_sense_is_refused_and_changes_nothing() {
    let s = stack();
    let org = unique_user("odd");
    let path = format!("/v1/admin/orgs/{org}/policy");
    let (invalid, unreadable) = (StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY);
    for (odd, status) in [
        (json!({"require_mfa": true, "max_factors": 0}), invalid),
        (json!({"require_mfa": true, "allowed_factors": []}), invalid),
        (json!({"require_mfa": true, "allowed_factors": ["carrier_pigeon"]}), unreadable),
        (json!({"require_mfa": true, "token_ttl_seconds": 10}), invalid),
        (json!({"require_mfa": true, "token_ttl_seconds": 100_000_000}), invalid),
    ] {
        let refused = s.send(Method::PUT, Admin, &path, Some(&odd), None, &[]).await;
        assert_eq!(refused.status, status, "{odd}: {:?}", refused.body);
        assert_eq!(refused.content_type, "application/problem+json");
    }
    let stored = s.send(Method::GET, Admin, &path, None, None, &[]).await;
    assert_eq!(stored.body["require_mfa"], false, "nothing was stored: {:?}", stored.body);
    let members = format!("/v1/admin/users/{}/orgs", unique_user("bad-org"));
    let bad = s
        .send(Method::PUT, Admin, &members, Some(&json!({"orgs": ["not an id!"]})), None, &[])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{:?}", bad.body);
}
