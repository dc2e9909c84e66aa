//! Orgs: an admin sets which orgs a user belongs to, and the login decision, enrollment and
//! tokens follow the strictest of their policies, whatever the caller sends.

use mfa_client::api::{
    AuthMethod, ChallengeRequest, Decision, EnrollRequest, FactorKind, LoginRequest,
    MembershipsBody, PolicyBody,
};
use mfa_e2e::{code, code_from_uri, now, password, refused, unique_user, Stack};

use crate::stack;

/// A policy with the service's defaults but `require_mfa`.
fn policy(require_mfa: bool) -> PolicyBody {
    PolicyBody { require_mfa, ..PolicyBody::default() }
}

/// Puts `org`'s policy; the stored policy as answered.
async fn put_policy(s: &Stack, org: &str, policy: &PolicyBody) -> PolicyBody {
    s.admin().admin_set_policy(org, policy).await.unwrap()
}

/// Makes `user` a member of `orgs`.
async fn join(s: &Stack, user: &str, orgs: &[&str]) {
    let body = MembershipsBody { orgs: orgs.iter().map(|o| (*o).to_owned()).collect() };
    let stored = s.admin().admin_set_memberships(user, &body).await.unwrap();
    assert_eq!(stored, body);
}

async fn decide(s: &Stack, user: &str, auth_method: AuthMethod) -> Decision {
    let login = LoginRequest { auth_method, mfa_token: None };
    s.verify().login(user, &login).await.unwrap().decision
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_member_of_an_org_that_requires_mfa_must_enroll_whatever_the_caller_sends() {
    let s = stack();
    let (member, outsider, org) =
        (unique_user("member"), unique_user("outsider"), unique_user("acme"));
    // (What a policy left out defaults to is seen on the wire: tests/e2e/wire.rs.)
    assert_eq!(put_policy(&s, &org, &policy(true)).await, policy(true));
    join(&s, &member, &[&org]).await;
    let listed = s.get(|| s.admin().admin_memberships(&member)).await.unwrap();
    assert_eq!(listed, MembershipsBody { orgs: vec![org.clone()] });

    // Nothing the caller sends names the org: the stored membership decides. (A login body
    // naming an org is refused: tests/e2e/bad_input.rs.)
    assert_eq!(decide(&s, &member, AuthMethod::Password).await, Decision::EnrollRequired);
    assert_eq!(decide(&s, &outsider, AuthMethod::Password).await, Decision::EnrollSuggested);
    assert_eq!(decide(&s, &member, AuthMethod::Sso).await, Decision::Allow);

    // Leaving the org leaves its policy.
    join(&s, &member, &[]).await;
    assert_eq!(decide(&s, &member, AuthMethod::Password).await, Decision::EnrollSuggested);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn an_org_can_give_members_sign_ins_before_enrollment_is_required() {
    let s = stack();
    let org = unique_user("grace");
    let strict = PolicyBody { grace_logins: 1, ..policy(true) };
    assert_eq!(put_policy(&s, &org, &strict).await, strict);
    assert_eq!(s.get(|| s.admin().admin_policy(&org)).await.unwrap(), strict);
    // The first sign-in without a factor suggests enrolling; the next ones require it.
    let (ada, bob) = (unique_user("ada"), unique_user("bob"));
    join(&s, &ada, &[&org]).await;
    join(&s, &bob, &[&org]).await;
    assert_eq!(decide(&s, &ada, AuthMethod::Password).await, Decision::EnrollSuggested);
    assert_eq!(decide(&s, &ada, AuthMethod::Password).await, Decision::EnrollRequired);
    assert_eq!(decide(&s, &ada, AuthMethod::Password).await, Decision::EnrollRequired);
    let bobs = decide(&s, &bob, AuthMethod::Password).await;
    assert_eq!(bobs, Decision::EnrollSuggested, "each member has their own");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn the_strictest_policy_of_the_users_orgs_wins() {
    let s = stack();
    let user = unique_user("two-orgs");
    let (strict_kinds, strict_count) = (unique_user("no-sms"), unique_user("one-method"));
    let no_sms = PolicyBody {
        allowed_factors: Some(vec![FactorKind::Totp, FactorKind::Webauthn]),
        sso_exempt: false,
        ..policy(false)
    };
    assert_eq!(put_policy(&s, &strict_kinds, &no_sms).await, no_sms);
    let one_method =
        PolicyBody { max_factors: Some(1), token_ttl_seconds: Some(120), ..policy(true) };
    assert_eq!(put_policy(&s, &strict_count, &one_method).await, one_method);
    join(&s, &user, &[&strict_kinds, &strict_count]).await;

    // One org refuses SMS and email.
    for factor in [
        EnrollRequest::Sms { phone: "+1 201 555 0123".into(), label: None, delivery: None },
        EnrollRequest::Email { email: "ada@example.com".into(), label: None },
    ] {
        refused(s.enroll().enroll(&user, &factor, None).await, 403, "policy-forbids");
    }
    let totp = EnrollRequest::Totp { label: None, account_name: None };
    // 201 Created.
    let enrolled = s.enroll().enroll(&user, &totp, None).await.unwrap();
    let (id, uri) = (&enrolled.factor.id, enrolled.otpauth_uri.as_deref().unwrap());
    s.enroll().activate(&user, id, &code(&code_from_uri(uri, now()))).await.unwrap();

    // The other allows one method at a time.
    refused(s.enroll().enroll(&user, &totp, None).await, 403, "policy-forbids");

    // SSO is exempt only if every org exempts it; tokens live the shortest lifetime.
    assert_eq!(decide(&s, &user, AuthMethod::Sso).await, Decision::Challenge);
    let login = s.verify().login(&user, &password()).await.unwrap();
    assert_eq!(login.decision, Decision::Challenge, "{login:?}");
    let ask = ChallengeRequest { login_id: login.login_id, factor_id: id.clone(), delivery: None };
    let challenge = s.verify().challenge(&user, &ask).await.unwrap();
    let proof = code(&code_from_uri(uri, now() + 30));
    let verified = s.verify().verify(&user, &challenge.challenge_id, &proof).await.unwrap();
    s.check_token_lasting(&verified.mfa_token, &user, id, &["otp"], 120).await;
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_policy_that_makes_no_sense_is_refused_and_changes_nothing() {
    let s = stack();
    let org = unique_user("odd");
    // (A factor kind that doesn't exist: tests/e2e/bad_input.rs.)
    for odd in [
        PolicyBody { max_factors: Some(0), ..policy(true) },
        PolicyBody { allowed_factors: Some(vec![]), ..policy(true) },
        PolicyBody { token_ttl_seconds: Some(10), ..policy(true) },
        PolicyBody { token_ttl_seconds: Some(100_000_000), ..policy(true) },
    ] {
        let refusal = s.admin().admin_set_policy(&org, &odd).await;
        let problem = refused(refusal, 400, "invalid-request");
        assert!(!problem.detail.is_empty(), "{odd:?}");
    }
    let stored = s.get(|| s.admin().admin_policy(&org)).await.unwrap();
    assert!(!stored.require_mfa, "nothing was stored: {stored:?}");
    let members = MembershipsBody { orgs: vec!["not an id!".into()] };
    let user = unique_user("bad-org");
    refused(s.admin().admin_set_memberships(&user, &members).await, 400, "invalid-request");
    let kept = s.get(|| s.admin().admin_memberships(&user)).await.unwrap();
    assert!(kept.orgs.is_empty(), "{kept:?}");
}
