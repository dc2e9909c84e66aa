//! The whole TOTP flow, as a login backend drives it.

use mfa_e2e::{code_from_uri, now, unique_user, Function::*, Stack};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::stack;

const STEP: u64 = 30;
/// The header of a step-up token.
const STEP_UP: &str = "Step-Up-Token";

/// Enrolls and activates a TOTP factor; returns (factor id, otpauth URI, recovery codes).
async fn enroll_active(s: &Stack, user: &str) -> (String, String, Vec<String>) {
    let enrolled = s
        .post(
            Enroll,
            &format!("/v1/users/{user}/factors"),
            json!({"type":"totp","label":"Phone","account_name":"ada@example.com"}),
        )
        .await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{:?}", enrolled.body);
    let factor = enrolled.body["factor"]["id"].as_str().unwrap().to_owned();
    let uri = enrolled.body["otpauth_uri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(":ada%40example.com?secret="), "{uri}");
    assert_eq!(enrolled.body["factor"]["status"], "pending");
    assert!(enrolled.body["qr_svg"].as_str().unwrap().contains("<svg"));
    let activated = s
        .post(
            Enroll,
            &format!("/v1/users/{user}/factors/{factor}/activate"),
            json!({"code": code_from_uri(&uri, now())}),
        )
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{:?}", activated.body);
    assert_eq!(activated.body["factor"]["status"], "active");
    let codes: Vec<String> = activated.body["recovery_codes"]
        .as_array()
        .expect("the first factor comes with recovery codes")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (factor, uri, codes)
}

async fn login(s: &Stack, user: &str) -> Value {
    let answer = s.login(user).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body
}

async fn challenge(s: &Stack, user: &str, login_id: &str, factor: &str) -> String {
    let answer = s.challenge(user, login_id, factor).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    answer.body["challenge_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn enroll_login_challenge_verify_and_replay() {
    let s = stack();
    let user = unique_user("flow");
    let before = login(&s, &user).await;
    assert_eq!(before["decision"], "enroll_suggested");

    let (factor, uri, codes) = enroll_active(&s, &user).await;
    assert_eq!(codes.len(), 10);

    let decision = login(&s, &user).await;
    assert_eq!(decision["decision"], "challenge");
    assert_eq!(decision["factors"][0]["id"], factor.as_str());
    let login_id = decision["login_id"].as_str().unwrap();

    // The activation used this step; the next step's code is fresh (window 1).
    let code = code_from_uri(&uri, now() + STEP);
    let first = challenge(&s, &user, login_id, &factor).await;
    let ok = s.verify(&user, &first, &code).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    let token = ok.body["mfa_token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3);

    // The same code on a new challenge is a replay.
    let second = challenge(&s, &user, login_id, &factor).await;
    let replay = s.verify(&user, &second, &code).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{:?}", replay.body);
    assert_eq!(replay.body["type"], "urn:mfa:problem:code-rejected");
    assert_eq!(replay.content_type, "application/problem+json");

    // A token already held lets the user through another app without a new challenge.
    let again = s
        .post(
            Verify,
            &format!("/v1/users/{user}/login"),
            json!({"auth_method":"password","mfa_token": token}),
        )
        .await;
    assert_eq!(again.body["decision"], "allow");
    // ... but not someone else's.
    let other = s
        .post(
            Verify,
            &format!("/v1/users/{user}-x/login"),
            json!({"auth_method":"password","mfa_token": token}),
        )
        .await;
    assert_eq!(other.body["decision"], "enroll_suggested");

    let jwks = s.send(Method::GET, Verify, "/.well-known/jwks.json", None, Some(""), &[]).await;
    assert_eq!(jwks.status, StatusCode::OK);
    assert_eq!(jwks.body["keys"][0]["crv"], "Ed25519");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn five_failures_lock_the_account_and_a_new_challenge_does_not_reset() {
    let s = stack();
    let user = unique_user("lock");
    let (factor, uri, _) = enroll_active(&s, &user).await;
    let login_id = login(&s, &user).await["login_id"].as_str().unwrap().to_owned();
    let right = code_from_uri(&uri, now() + STEP);
    let wrong = if right == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let c = challenge(&s, &user, &login_id, &factor).await;
        let answer = s.verify(&user, &c, wrong).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{:?}", answer.body);
    }
    let c = challenge(&s, &user, &login_id, &factor).await;
    let locked = s.verify(&user, &c, &right).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", locked.body);
    assert_eq!(locked.body["type"], "urn:mfa:problem:locked");
    assert!(locked.body["retry_at"].as_u64().unwrap() > now());

    // An administrator can unlock; then the right code works.
    let unlock = s
        .send(Method::POST, Admin, &format!("/v1/admin/users/{user}/unlock"), None, None, &[])
        .await;
    assert_eq!(unlock.status, StatusCode::NO_CONTENT, "{:?}", unlock.body);
    let ok = s.verify(&user, &c, &right).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_recovery_code_works_once_and_new_codes_need_step_up() {
    let s = stack();
    let user = unique_user("recovery");
    let (factor, uri, codes) = enroll_active(&s, &user).await;
    let path = format!("/v1/users/{user}/recovery-codes/verify");
    let typed = codes[3].to_lowercase().replace('-', " ");
    let first = s.post(Verify, &path, json!({"code": typed})).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["remaining"], 9);
    let second = s.post(Verify, &path, json!({"code": codes[3]})).await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST, "{:?}", second.body);

    let new_set = format!("/v1/users/{user}/recovery-codes");
    let refused = s.send(Method::POST, Manage, &new_set, None, None, &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert_eq!(refused.body["type"], "urn:mfa:problem:step-up-required");
    // A sign-in's token changes nothing: only a step-up token asked for this change does.
    let token = first.body["mfa_token"].as_str().unwrap();
    let by_sign_in = s.send(Method::POST, Manage, &new_set, None, None, &[(STEP_UP, token)]).await;
    assert_eq!(by_sign_in.status, StatusCode::FORBIDDEN, "{:?}", by_sign_in.body);
    assert_eq!(by_sign_in.body["type"], "urn:mfa:problem:step-up-required");
    // A recovery code can't prove new codes: they end the old ones.
    let asked = json!({"code": codes[5], "step_up": "new_recovery_codes"});
    let by_code = s.post(Verify, &path, asked).await;
    assert_eq!(by_code.status, StatusCode::BAD_REQUEST, "{:?}", by_code.body);
    let token = totp_step_up(&s, &user, "new_recovery_codes", None, &factor, &uri).await;
    let fresh = s.send(Method::POST, Manage, &new_set, None, None, &[(STEP_UP, &token)]).await;
    assert_eq!(fresh.status, StatusCode::CREATED, "{:?}", fresh.body);
    // The token is used up.
    let again = s.send(Method::POST, Manage, &new_set, None, None, &[(STEP_UP, &token)]).await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "{:?}", again.body);
    // The old set stops working.
    let old = s.post(Verify, &path, json!({"code": codes[4]})).await;
    assert_eq!(old.status, StatusCode::BAD_REQUEST, "{:?}", old.body);
    let new_code = fresh.body["recovery_codes"][0].as_str().unwrap();
    let works = s.post(Verify, &path, json!({"code": new_code})).await;
    assert_eq!(works.status, StatusCode::OK, "{:?}", works.body);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn adding_a_factor_next_to_an_active_one_needs_a_fresh_token() {
    let s = stack();
    let user = unique_user("second");
    let (_, _, codes) = enroll_active(&s, &user).await;
    let factors = format!("/v1/users/{user}/factors");
    let tablet = json!({"type":"totp","label":"Tablet"});
    let refused = s.post(Enroll, &factors, tablet.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert_eq!(refused.body["type"], "urn:mfa:problem:step-up-required");
    let listed = s.send(Method::GET, Manage, &factors, None, None, &[]).await;
    assert_eq!(listed.body["factors"].as_array().unwrap().len(), 1, "nothing was added");

    // With the first factor lost, a recovery code is the way to add another.
    let recovery_path = format!("/v1/users/{user}/recovery-codes/verify");
    let asked = json!({"code": codes[0], "step_up": "add_factor"});
    let recovery = s.post(Verify, &recovery_path, asked).await;
    assert_eq!(recovery.status, StatusCode::OK, "{:?}", recovery.body);
    let sign_in = recovery.body["mfa_token"].as_str().unwrap();
    let refused =
        s.send(Method::POST, Enroll, &factors, Some(&tablet), None, &[(STEP_UP, sign_in)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    let token = recovery.body["step_up_token"].as_str().unwrap();
    let added =
        s.send(Method::POST, Enroll, &factors, Some(&tablet), None, &[(STEP_UP, token)]).await;
    assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.body);
    let again =
        s.send(Method::POST, Enroll, &factors, Some(&tablet), None, &[(STEP_UP, token)]).await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "used once: {:?}", again.body);
    let id = added.body["factor"]["id"].as_str().unwrap();
    let uri = added.body["otpauth_uri"].as_str().unwrap();
    let activated = s
        .post(
            Enroll,
            &format!("{factors}/{id}/activate"),
            json!({"code": code_from_uri(uri, now())}),
        )
        .await;
    assert_eq!(activated.status, StatusCode::OK, "{:?}", activated.body);
    assert!(activated.body["recovery_codes"].is_null(), "only the first factor brings codes");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_factor_enrolled_before_another_was_activated_must_be_enrolled_again() {
    let s = stack();
    let user = unique_user("stale");
    let factors = format!("/v1/users/{user}/factors");
    let mut pending = Vec::new();
    for label in ["Phone", "Tablet"] {
        let enrolled = s.post(Enroll, &factors, json!({"type":"totp","label":label})).await;
        assert_eq!(enrolled.status, StatusCode::CREATED, "{:?}", enrolled.body);
        let id = enrolled.body["factor"]["id"].as_str().unwrap().to_owned();
        pending.push((id, enrolled.body["otpauth_uri"].as_str().unwrap().to_owned()));
    }
    // Most likely in the same second as both were enrolled: the rule is a condition of the
    // activation itself, not a comparison of times.
    for (i, (id, uri)) in pending.iter().enumerate() {
        let path = format!("{factors}/{id}/activate");
        let answer = s.post(Enroll, &path, json!({"code": code_from_uri(uri, now())})).await;
        let expected = if i == 0 { StatusCode::OK } else { StatusCode::CONFLICT };
        assert_eq!(answer.status, expected, "factor {i}: {:?}", answer.body);
    }
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn enrolling_again_with_every_recovery_code_used_brings_new_ones() {
    let s = stack();
    let user = unique_user("used-up");
    let (factor, _, codes) = enroll_active(&s, &user).await;
    let verify = format!("/v1/users/{user}/recovery-codes/verify");
    for (i, code) in codes.iter().enumerate() {
        let used = s.post(Verify, &verify, json!({"code": code})).await;
        assert_eq!(used.status, StatusCode::OK, "{:?}", used.body);
        assert_eq!(used.body["remaining"], codes.len() - 1 - i);
    }
    // The phone is lost too: an administrator resets the factor, and the user enrolls again.
    let reset = s
        .send(
            Method::DELETE,
            Admin,
            &format!("/v1/admin/users/{user}/factors/{factor}"),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{:?}", reset.body);
    let (_, _, fresh) = enroll_active(&s, &user).await;
    assert_eq!(fresh.len(), 10);
    let works = s.post(Verify, &verify, json!({"code": fresh[0]})).await;
    assert_eq!(works.status, StatusCode::OK, "{:?}", works.body);
    assert_eq!(works.body["remaining"], 9);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn the_audit_log_tells_an_administrator_what_happened() {
    let s = stack();
    let user = unique_user("audit");
    let (factor, uri, codes) = enroll_active(&s, &user).await;
    let login_id = login(&s, &user).await["login_id"].as_str().unwrap().to_owned();
    let c = challenge(&s, &user, &login_id, &factor).await;
    let right = code_from_uri(&uri, now() + STEP);
    let wrong = if right == "000000" { "111111" } else { "000000" };
    assert_eq!(s.verify(&user, &c, wrong).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(s.verify(&user, &c, &right).await.status, StatusCode::OK);
    let recovery = format!("/v1/users/{user}/recovery-codes/verify");
    assert_eq!(s.post(Verify, &recovery, json!({"code": codes[0]})).await.status, StatusCode::OK);

    let path = format!("/v1/admin/users/{user}/audit");
    let audit = s.send(Method::GET, Admin, &path, None, None, &[]).await;
    assert_eq!(audit.status, StatusCode::OK, "{:?}", audit.body);
    let events = audit.body["events"].as_array().unwrap();
    let times: Vec<u64> = events.iter().map(|e| e["at"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
    // Events of one second come in any order among themselves.
    let mut actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    actions.sort_unstable();
    let mut expected = vec![
        "factor_enrolled",
        "factor_activated",
        "verify_failed",
        "verified",
        "recovery_code_used",
    ];
    expected.sort_unstable();
    assert_eq!(actions, expected, "{events:?}");
    let about_factor = events.iter().filter(|e| e["factor_id"] == factor.as_str()).count();
    assert_eq!(about_factor, 4, "all but the recovery code name the factor: {events:?}");

    let service_key = s.send(Method::GET, Admin, &path, None, Some("mfa_wrong"), &[]).await;
    assert_eq!(service_key.status, StatusCode::UNAUTHORIZED);
}

/// A step-up token for `operation` (to `target`) proved by the TOTP factor `factor`, with a
/// code of the next step (enrolling used the current one).
async fn totp_step_up(
    s: &Stack,
    user: &str,
    operation: &str,
    target: Option<&str>,
    factor: &str,
    uri: &str,
) -> String {
    let started = s.step_up(user, operation, target, factor).await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    assert_eq!(started.body["delivery"], "totp");
    let id = started.body["challenge_id"].as_str().unwrap();
    let code = json!({"code": code_from_uri(uri, now() + STEP)});
    let ok = s.finish_step_up(user, id, code).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    ok.body["step_up_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn deleting_a_factor_needs_a_token_from_that_factor() {
    let s = stack();
    let user = unique_user("delete");
    let (factor, uri, codes) = enroll_active(&s, &user).await;
    let path = format!("/v1/users/{user}/factors/{factor}");
    let none = s.send(Method::DELETE, Manage, &path, None, None, &[]).await;
    assert_eq!(none.status, StatusCode::FORBIDDEN, "{:?}", none.body);

    // A recovery code proves adding a factor, not deleting one.
    let recovery_path = format!("/v1/users/{user}/recovery-codes/verify");
    let asked = json!({"code": codes[0], "step_up": "delete_factor"});
    let refused = s.post(Verify, &recovery_path, asked).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{:?}", refused.body);
    let asked = json!({"code": codes[0], "step_up": "add_factor"});
    let recovery = s.post(Verify, &recovery_path, asked).await;
    let for_adding = recovery.body["step_up_token"].as_str().unwrap().to_owned();
    let wrong = s.send(Method::DELETE, Manage, &path, None, None, &[(STEP_UP, &for_adding)]).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "another change: {:?}", wrong.body);
    // Only this factor proves its own deletion.
    let elsewhere = s.step_up(&user, "delete_factor", Some(&factor), "fac_other").await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST, "{:?}", elsewhere.body);

    let token = totp_step_up(&s, &user, "delete_factor", Some(&factor), &factor, &uri).await;
    let deleted = s.send(Method::DELETE, Manage, &path, None, None, &[(STEP_UP, &token)]).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{:?}", deleted.body);
    let listed =
        s.send(Method::GET, Manage, &format!("/v1/users/{user}/factors"), None, None, &[]).await;
    assert_eq!(listed.body["factors"], json!([]));
    let gone = s.send(Method::DELETE, Manage, &path, None, None, &[(STEP_UP, &token)]).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{:?}", gone.body);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_step_up_token_dies_with_the_factor_that_earned_it() {
    let s = stack();
    let user = unique_user("reset-step-up");
    let (phone, phone_uri, codes) = enroll_active(&s, &user).await;
    let factors = format!("/v1/users/{user}/factors");
    // A second factor, added with a recovery code's step-up.
    let asked = json!({"code": codes[0], "step_up": "add_factor"});
    let recovery = s.post(Verify, &format!("/v1/users/{user}/recovery-codes/verify"), asked).await;
    let token = recovery.body["step_up_token"].as_str().unwrap();
    let tablet = json!({"type":"totp","label":"Tablet"});
    let added =
        s.send(Method::POST, Enroll, &factors, Some(&tablet), None, &[(STEP_UP, token)]).await;
    assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.body);
    let (id, uri) =
        (added.body["factor"]["id"].as_str().unwrap(), added.body["otpauth_uri"].as_str().unwrap());
    let activate = json!({"code": code_from_uri(uri, now())});
    let activated = s.post(Enroll, &format!("{factors}/{id}/activate"), activate).await;
    assert_eq!(activated.status, StatusCode::OK, "{:?}", activated.body);

    // The phone earns a step-up token, then an administrator resets the phone.
    let token = totp_step_up(&s, &user, "add_factor", None, &phone, &phone_uri).await;
    let reset = format!("/v1/admin/users/{user}/factors/{phone}");
    let reset = s.send(Method::DELETE, Admin, &reset, None, None, &[]).await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{:?}", reset.body);
    let refused =
        s.send(Method::POST, Enroll, &factors, Some(&tablet), None, &[(STEP_UP, &token)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);
    assert!(refused.body["detail"].as_str().unwrap().contains("gone"), "{:?}", refused.body);
}
