//! The whole TOTP flow, as a login backend drives it.

use mfa_client::api::{
    AuditAction, AuthMethod, ChallengeRequest, Decision, EnrollRequest, FactorKind, FactorStatus,
    LoginRequest, LoginResponse, Operation, RecoveryVerifyRequest, RecoveryVerifyResponse,
    StepUpRequest,
};
use mfa_e2e::{
    code, code_from_uri, now, password, refused, seen, seen_recovery_codes, unique_user, Secret,
    Stack,
};

use crate::stack;

const STEP: u64 = 30;

/// A TOTP factor named `label`.
fn totp(label: &str) -> EnrollRequest {
    EnrollRequest::Totp { label: Some(label.to_owned()), account_name: None }
}

/// Enrolls and activates a TOTP factor; returns (factor id, otpauth URI, recovery codes).
async fn enroll_active(s: &Stack, user: &str) -> (String, String, Vec<String>) {
    let phone = EnrollRequest::Totp {
        label: Some("Phone".into()),
        account_name: Some("ada@example.com".into()),
    };
    // 201 Created (tests/e2e/success_statuses.rs checks the status itself).
    let enrolled = s.enroll().enroll(user, &phone, None).await.unwrap();
    let factor = enrolled.factor.id.clone();
    let uri = enrolled.otpauth_uri.clone().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(":ada%40example.com?secret="), "{uri}");
    assert_eq!(enrolled.factor.status, FactorStatus::Pending);
    assert_eq!(enrolled.factor.kind, FactorKind::Totp);
    assert_eq!(enrolled.factor.label.as_deref(), Some("Phone"));
    assert!(enrolled.qr_svg.as_deref().unwrap().contains("<svg"));
    let proof = code(&code_from_uri(&uri, now()));
    let activated = s.enroll().activate(user, &factor, &proof).await.unwrap();
    assert_eq!(activated.factor.status, FactorStatus::Active);
    assert_eq!(activated.factor.id, factor);
    let codes = activated.recovery_codes.expect("the first factor comes with recovery codes");
    seen_recovery_codes(&codes);
    (factor, uri, codes)
}

async fn login(s: &Stack, user: &str) -> LoginResponse {
    s.verify().login(user, &password()).await.unwrap()
}

async fn challenge(s: &Stack, user: &str, login_id: &str, factor: &str) -> String {
    let ask = ChallengeRequest {
        login_id: login_id.to_owned(),
        factor_id: factor.to_owned(),
        delivery: None,
    };
    // 201 Created.
    let challenge = s.verify().challenge(user, &ask).await.unwrap();
    assert_eq!(challenge.delivery, "totp");
    challenge.challenge_id
}

/// Signs in with the recovery code `code`, asking for a step-up token for `step_up` too.
async fn recover(
    s: &Stack,
    user: &str,
    code: &str,
    step_up: Option<Operation>,
) -> Result<RecoveryVerifyResponse, mfa_client::Error> {
    let asked = RecoveryVerifyRequest { code: code.to_owned(), login_id: None, step_up };
    s.verify().verify_recovery(user, &asked).await
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn enroll_login_challenge_verify_and_replay() {
    let s = stack();
    let user = unique_user("flow");
    let before = login(&s, &user).await;
    assert_eq!(before.decision, Decision::EnrollSuggested);

    let (factor, uri, codes) = enroll_active(&s, &user).await;
    assert_eq!(codes.len(), 10);

    let decision = login(&s, &user).await;
    assert_eq!(decision.decision, Decision::Challenge);
    assert_eq!(decision.factors[0].id, factor);
    let login_id = &decision.login_id;

    // The activation used this step; the next step's code is fresh (window 1).
    let next = code_from_uri(&uri, now() + STEP);
    let first = challenge(&s, &user, login_id, &factor).await;
    let ok = s.verify().verify(&user, &first, &code(&next)).await.unwrap();
    let token = ok.mfa_token.as_str();
    // An app checks it against the JWKS; so does an oracle, claim by claim.
    let claims = s.check_token(token, &user, &factor, &["otp"]).await;
    assert_eq!(claims.exp, ok.expires_at);

    // The same code on a new challenge is a replay.
    let second = challenge(&s, &user, login_id, &factor).await;
    let replay = s.verify().verify(&user, &second, &code(&next)).await;
    refused(replay, 400, "code-rejected");

    // A token already held lets the user through another app without a new challenge.
    let held = |token: &str| LoginRequest {
        auth_method: AuthMethod::Password,
        mfa_token: Some(token.to_owned()),
    };
    let again = s.verify().login(&user, &held(token)).await.unwrap();
    assert_eq!(again.decision, Decision::Allow);
    // ... but not someone else's.
    let other = s.verify().login(&format!("{user}-x"), &held(token)).await.unwrap();
    assert_eq!(other.decision, Decision::EnrollSuggested);
    // Another user's valid token is theirs, not this user's: for an app, and for the service.
    let eve = unique_user("flow-eve");
    let (_, _, eve_codes) = enroll_active(&s, &eve).await;
    let eves = recover(&s, &eve, &eve_codes[0], None).await.unwrap().mfa_token;
    let eve_claims = s.check_token(&eves, &eve, "recovery_code", &["otp"]).await;
    assert_ne!(eve_claims.sub, user, "another user's token is not this user's");
    let borrowed = s.verify().login(&user, &held(&eves)).await.unwrap();
    assert_eq!(borrowed.decision, Decision::Challenge, "another user's token lets no one in");
    // Nor does another user's step-up token change anything.
    let eve_step_up = recover(&s, &eve, &eve_codes[1], Some(Operation::AddFactor)).await.unwrap();
    let eve_step_up = eve_step_up.step_up_token.unwrap();
    let adding = (Operation::AddFactor, None);
    s.check_step_up_token(&eve_step_up, &eve, adding, "recovery_code", &["otp"]);
    let refusal = s.enroll().enroll(&user, &totp("Eve's"), Some(&eve_step_up)).await;
    refused(refusal, 403, "step-up-required");
    // A token with a changed signature is nobody's.
    let forged = s.verify().login(&user, &held(&mfa_e2e::tampered(token))).await.unwrap();
    assert_eq!(forged.decision, Decision::Challenge);

    let jwks = s.get(|| s.verify().jwks()).await.unwrap();
    let key = &jwks.keys[0];
    let crv = serde_json::to_value(key).unwrap()["crv"].clone();
    assert_eq!(crv, "Ed25519", "{key:?}");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn five_failures_lock_the_account_and_a_new_challenge_does_not_reset() {
    let s = stack();
    let user = unique_user("lock");
    let (factor, uri, _) = enroll_active(&s, &user).await;
    let login_id = login(&s, &user).await.login_id;
    let right = code_from_uri(&uri, now() + STEP);
    let wrong = if right == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let c = challenge(&s, &user, &login_id, &factor).await;
        let answer = s.verify().verify(&user, &c, &code(wrong)).await;
        refused(answer, 400, "code-rejected");
    }
    let c = challenge(&s, &user, &login_id, &factor).await;
    let locked = refused(s.verify().verify(&user, &c, &code(&right)).await, 429, "locked");
    assert!(locked.retry_at.unwrap() > now(), "{locked:?}");

    // An administrator can unlock (204); then the right code works.
    s.admin().admin_unlock(&user).await.unwrap();
    let ok = s.verify().verify(&user, &c, &code(&right)).await.unwrap();
    s.check_token(&ok.mfa_token, &user, &factor, &["otp"]).await;
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_recovery_code_works_once_and_new_codes_need_step_up() {
    let s = stack();
    let user = unique_user("recovery");
    let (factor, uri, codes) = enroll_active(&s, &user).await;
    let typed = codes[3].to_lowercase().replace('-', " ");
    let first = recover(&s, &user, &typed, None).await.unwrap();
    assert_eq!(first.remaining, 9);
    assert!(first.step_up_token.is_none(), "none asked for");
    s.check_token(&first.mfa_token, &user, "recovery_code", &["otp"]).await;
    refused(recover(&s, &user, &codes[3], None).await, 400, "code-rejected");

    let refusal = s.manage().new_recovery_codes(&user, None).await;
    refused(refusal, 403, "step-up-required");
    // A sign-in's token changes nothing: only a step-up token asked for this change does.
    let by_sign_in = s.manage().new_recovery_codes(&user, Some(&first.mfa_token)).await;
    refused(by_sign_in, 403, "step-up-required");
    // A recovery code can't prove new codes: they end the old ones.
    let by_code = recover(&s, &user, &codes[5], Some(Operation::NewRecoveryCodes)).await;
    refused(by_code, 400, "invalid-request");
    let token = totp_step_up(&s, &user, Operation::NewRecoveryCodes, None, &factor, &uri).await;
    // 201 Created.
    let fresh = s.manage().new_recovery_codes(&user, Some(&token)).await.unwrap();
    assert_eq!(seen_recovery_codes(&fresh.recovery_codes).len(), 10);
    // The token is used up.
    refused(s.manage().new_recovery_codes(&user, Some(&token)).await, 403, "step-up-required");
    // The old set stops working.
    refused(recover(&s, &user, &codes[4], None).await, 400, "code-rejected");
    let works = recover(&s, &user, &fresh.recovery_codes[0], None).await.unwrap();
    assert_eq!(works.remaining, 9);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn adding_a_factor_next_to_an_active_one_needs_a_fresh_token() {
    let s = stack();
    let user = unique_user("second");
    let (_, _, codes) = enroll_active(&s, &user).await;
    let tablet = totp("Tablet");
    refused(s.enroll().enroll(&user, &tablet, None).await, 403, "step-up-required");
    let listed = s.get(|| s.manage().factors(&user)).await.unwrap();
    assert_eq!(listed.factors.len(), 1, "nothing was added");

    // With the first factor lost, a recovery code is the way to add another.
    let recovery = recover(&s, &user, &codes[0], Some(Operation::AddFactor)).await.unwrap();
    let sign_in = recovery.mfa_token.as_str();
    s.check_token(sign_in, &user, "recovery_code", &["otp"]).await;
    refused(s.enroll().enroll(&user, &tablet, Some(sign_in)).await, 403, "step-up-required");
    let token = recovery.step_up_token.as_deref().unwrap();
    s.check_step_up_token(token, &user, (Operation::AddFactor, None), "recovery_code", &["otp"]);
    // 201 Created.
    let added = s.enroll().enroll(&user, &tablet, Some(token)).await.unwrap();
    assert_eq!(added.factor.status, FactorStatus::Pending);
    let again = s.enroll().enroll(&user, &tablet, Some(token)).await;
    refused(again, 403, "step-up-required"); // used once
    let uri = added.otpauth_uri.as_deref().unwrap();
    let proof = code(&code_from_uri(uri, now()));
    let activated = s.enroll().activate(&user, &added.factor.id, &proof).await.unwrap();
    assert_eq!(activated.factor.status, FactorStatus::Active);
    assert!(activated.recovery_codes.is_none(), "only the first factor brings codes");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_factor_enrolled_before_another_was_activated_must_be_enrolled_again() {
    let s = stack();
    let user = unique_user("stale");
    let mut pending = Vec::new();
    for label in ["Phone", "Tablet"] {
        let enrolled = s.enroll().enroll(&user, &totp(label), None).await.unwrap();
        pending.push((enrolled.factor.id, enrolled.otpauth_uri.unwrap()));
    }
    // Most likely in the same second as both were enrolled: the rule is a condition of the
    // activation itself, not a comparison of times.
    for (i, (id, uri)) in pending.iter().enumerate() {
        let answer = s.enroll().activate(&user, id, &code(&code_from_uri(uri, now()))).await;
        if i == 0 {
            answer.unwrap_or_else(|e| panic!("factor {i}: {e}"));
        } else {
            refused(answer, 409, "conflict");
        }
    }
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn enrolling_again_with_every_recovery_code_used_brings_new_ones() {
    let s = stack();
    let user = unique_user("used-up");
    let (factor, _, codes) = enroll_active(&s, &user).await;
    for (i, code) in codes.iter().enumerate() {
        let used = recover(&s, &user, code, None).await.unwrap();
        assert_eq!(used.remaining, codes.len() - 1 - i);
    }
    // The phone is lost too: an administrator resets the factor (204), and the user enrolls
    // again.
    s.admin().admin_reset_factor(&user, &factor).await.unwrap();
    let (_, _, fresh) = enroll_active(&s, &user).await;
    assert_eq!(fresh.len(), 10);
    let works = recover(&s, &user, &fresh[0], None).await.unwrap();
    assert_eq!(works.remaining, 9);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn the_audit_log_tells_an_administrator_what_happened() {
    let s = stack();
    let user = unique_user("audit");
    let (factor, uri, codes) = enroll_active(&s, &user).await;
    let login_id = login(&s, &user).await.login_id;
    let c = challenge(&s, &user, &login_id, &factor).await;
    let right = code_from_uri(&uri, now() + STEP);
    let wrong = if right == "000000" { "111111" } else { "000000" };
    refused(s.verify().verify(&user, &c, &code(wrong)).await, 400, "code-rejected");
    s.verify().verify(&user, &c, &code(&right)).await.unwrap();
    recover(&s, &user, &codes[0], None).await.unwrap();

    let audit = s.get(|| s.admin().admin_audit(&user)).await.unwrap();
    let events = &audit.events;
    assert!(events.iter().all(|e| e.user == user), "{events:?}");
    let times: Vec<u64> = events.iter().map(|e| e.at).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
    // Events of one second come in any order among themselves.
    let name = |action: &AuditAction| serde_json::to_value(action).unwrap().to_string();
    let mut actions: Vec<String> = events.iter().map(|e| name(&e.action)).collect();
    actions.sort_unstable();
    let mut expected: Vec<String> = [
        AuditAction::FactorEnrolled,
        AuditAction::FactorActivated,
        AuditAction::VerifyFailed,
        AuditAction::Verified,
        AuditAction::RecoveryCodeUsed,
    ]
    .iter()
    .map(name)
    .collect();
    expected.sort_unstable();
    assert_eq!(actions, expected, "{events:?}");
    let about_factor =
        events.iter().filter(|e| e.factor_id.as_deref() == Some(factor.as_str())).count();
    assert_eq!(about_factor, 4, "all but the recovery code name the factor: {events:?}");

    let service_key = s.client_with_key(mfa_e2e::Function::Admin, "mfa_wrong");
    refused(s.get(|| service_key.admin_audit(&user)).await, 401, "unauthorized");
}

/// A step-up token for `operation` (to `target`) proved by the TOTP factor `factor`, with a
/// code of the next step (enrolling used the current one).
async fn totp_step_up(
    s: &Stack,
    user: &str,
    operation: Operation,
    target: Option<&str>,
    factor: &str,
    uri: &str,
) -> String {
    let asked = StepUpRequest {
        operation,
        factor_id: target.map(str::to_owned),
        with_factor_id: factor.to_owned(),
        delivery: None,
    };
    // 201 Created.
    let started = s.verify().start_step_up(user, &asked).await.unwrap();
    assert_eq!(started.delivery, "totp");
    let proof = code(&code_from_uri(uri, now() + STEP));
    let ok = s.verify().finish_step_up(user, &started.challenge_id, &proof).await.unwrap();
    let claims =
        s.check_step_up_token(&ok.step_up_token, user, (operation, target), factor, &["otp"]);
    assert_eq!(claims["exp"], ok.expires_at, "{ok:?}");
    ok.step_up_token
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn deleting_a_factor_needs_a_token_from_that_factor() {
    let s = stack();
    let user = unique_user("delete");
    let (factor, uri, codes) = enroll_active(&s, &user).await;
    refused(s.manage().delete_factor(&user, &factor, None).await, 403, "step-up-required");

    // A recovery code proves adding a factor, not deleting one.
    let refusal = recover(&s, &user, &codes[0], Some(Operation::DeleteFactor)).await;
    refused(refusal, 400, "invalid-request");
    let recovery = recover(&s, &user, &codes[0], Some(Operation::AddFactor)).await.unwrap();
    let for_adding = recovery.step_up_token.unwrap();
    seen(Secret::StepUpToken, &for_adding);
    let wrong = s.manage().delete_factor(&user, &factor, Some(&for_adding)).await;
    refused(wrong, 403, "step-up-required"); // another change
                                             // Only this factor proves its own deletion.
    let elsewhere = StepUpRequest {
        operation: Operation::DeleteFactor,
        factor_id: Some(factor.clone()),
        with_factor_id: "fac_other".into(),
        delivery: None,
    };
    refused(s.verify().start_step_up(&user, &elsewhere).await, 400, "invalid-request");

    let token =
        totp_step_up(&s, &user, Operation::DeleteFactor, Some(&factor), &factor, &uri).await;
    // 204 No Content.
    s.manage().delete_factor(&user, &factor, Some(&token)).await.unwrap();
    let listed = s.get(|| s.manage().factors(&user)).await.unwrap();
    assert!(listed.factors.is_empty(), "{listed:?}");
    refused(s.manage().delete_factor(&user, &factor, Some(&token)).await, 404, "not-found");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_step_up_token_dies_with_the_factor_that_earned_it() {
    let s = stack();
    let user = unique_user("reset-step-up");
    let (phone, phone_uri, codes) = enroll_active(&s, &user).await;
    // A second factor, added with a recovery code's step-up.
    let recovery = recover(&s, &user, &codes[0], Some(Operation::AddFactor)).await.unwrap();
    let token = recovery.step_up_token.unwrap();
    seen(Secret::StepUpToken, &token);
    let tablet = totp("Tablet");
    let added = s.enroll().enroll(&user, &tablet, Some(&token)).await.unwrap();
    let uri = added.otpauth_uri.as_deref().unwrap();
    let proof = code(&code_from_uri(uri, now()));
    s.enroll().activate(&user, &added.factor.id, &proof).await.unwrap();

    // The phone earns a step-up token, then an administrator resets the phone (204).
    let token = totp_step_up(&s, &user, Operation::AddFactor, None, &phone, &phone_uri).await;
    s.admin().admin_reset_factor(&user, &phone).await.unwrap();
    let refusal = s.enroll().enroll(&user, &tablet, Some(&token)).await;
    let problem = refused(refusal, 403, "step-up-required");
    assert!(problem.detail.contains("gone"), "{problem:?}");
}
