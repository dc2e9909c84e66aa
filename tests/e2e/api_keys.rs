//! API keys for one app: an admin makes one with some scopes, the app's requests are refused
//! outside them, the audit log names the app, and a revoked key stops working at once.

use mfa_client::api::{
    AuditAction, ChallengeRequest, Decision, EnrollRequest, NewKeyRequest, Scope,
};
use mfa_e2e::{code, code_from_uri, now, password, refused, unique_user, Function::*};

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
