//! Organisations, as the README's "Organisations" table states their policy: the login decision,
//! enrollment and tokens follow the strictest policy of the user's orgs, each field at its edge.
//! A policy that makes no sense is refused ("`max_factors` 0, an empty `allowed_factors`, a
//! lifetime out of range"), and a user belongs to at most 50 orgs (README, route table).

use mfa_service::domain::answers::IssuedToken;
use mfa_service::domain::Error;
use mfa_service::ids::{OrgId, UserId};
use mfa_service::model::{AuthMethod, Decision, FactorKind, OrgPolicy};

use crate::common;
use crate::harness::{Channel, Harness};

/// `token_ttl_seconds`: "from 60 to the service's lifetime" (`MFA_TOKEN_TTL_SECONDS`, `600`).
const SHORTEST_TOKEN_TTL: u64 = 60;
/// The service's lifetime: `MFA_TOKEN_TTL_SECONDS`'s default.
const SERVICE_TOKEN_TTL: u64 = 600;

/// "at most 50" orgs a user belongs to.
const MOST_ORGS: usize = 50;

/// A policy with the README's defaults but `require_mfa`.
fn policy(require_mfa: bool) -> OrgPolicy {
    OrgPolicy {
        require_mfa,
        grace_logins: 0,
        allowed_factors: None,
        max_factors: None,
        sso_exempt: true,
        token_ttl_seconds: None,
        notices: true,
    }
}

fn org(name: &str) -> OrgId {
    OrgId::parse(name).unwrap()
}

/// Sets the policy of `name` and makes `user` a member of that org alone.
async fn join(h: &Harness, user: &UserId, name: &str, policy: OrgPolicy) {
    h.mfa.admin_set_policy(&org(name), policy).await.unwrap();
    h.mfa.admin_set_memberships(user, vec![org(name)]).await.unwrap();
}

/// The login decision for `user`, by `method`, with `mfa_token`.
async fn decide(h: &Harness, user: &UserId, method: AuthMethod, token: Option<&str>) -> Decision {
    h.mfa.login(user, method, token).await.unwrap().decision
}

/// `require_mfa` with `grace_logins`: a user without a factor gets that many sign-ins answered
/// `enroll_suggested`, then `enroll_required`; in no org, always `enroll_suggested`.
pub async fn an_org_requires_enrollment_after_its_grace_logins(h: &Harness) {
    let (member, loner) = (common::new_user(), common::new_user());
    join(h, &member, "grace", OrgPolicy { grace_logins: 2, ..policy(true) }).await;
    for expected in [Decision::EnrollSuggested, Decision::EnrollSuggested, Decision::EnrollRequired]
    {
        assert_eq!(decide(h, &member, AuthMethod::Password, None).await, expected);
        assert_eq!(decide(h, &loner, AuthMethod::Password, None).await, Decision::EnrollSuggested);
    }
}

/// `sso_exempt` (default `true`): an SSO sign-in skips the second factor; `false`: it is
/// decided as a password sign-in. A password sign-in is challenged either way.
pub async fn sso_skips_the_second_factor_unless_the_org_says_not(h: &Harness) {
    let (exempt, not_exempt) = (h.member().await, h.member().await);
    join(h, &exempt.user, "exempt", policy(true)).await;
    join(h, &not_exempt.user, "strict", OrgPolicy { sso_exempt: false, ..policy(true) }).await;
    assert_eq!(decide(h, &exempt.user, AuthMethod::Sso, None).await, Decision::Allow);
    assert_eq!(decide(h, &not_exempt.user, AuthMethod::Sso, None).await, Decision::Challenge);
    for member in [&exempt, &not_exempt] {
        assert_eq!(decide(h, &member.user, AuthMethod::Password, None).await, Decision::Challenge);
    }
}

/// An MFA token counts in the login decision while it is younger than the org's
/// `token_ttl_seconds` (one second short of it: `allow`; at it: `challenge`), though it was
/// earned before its user joined the org, under the service's longer lifetime (600 s); and
/// only for its own user, even one earned with a recovery code (which names no factor of its
/// user).
pub async fn an_mfa_token_counts_while_younger_than_the_orgs_lifetime(h: &Harness) {
    let (member, other) = (h.member().await, h.member().await);
    let ttl = 120;
    let short = OrgPolicy { token_ttl_seconds: Some(ttl), ..policy(true) };
    for (wait, expected) in [(ttl - 1, Decision::Allow), (ttl, Decision::Challenge)] {
        h.mfa.admin_set_memberships(&member.user, vec![]).await.unwrap();
        let token = h.sign_in(&member, Channel::App).await.unwrap().token;
        join(h, &member.user, "short", short.clone()).await;
        h.advance(wait);
        let decided = decide(h, &member.user, AuthMethod::Password, Some(&token)).await;
        assert_eq!(decided, expected, "{wait} s after it was issued");
    }
    let by_code = h.recover(&other, &other.recovery_codes[0]).await.unwrap().token.token;
    let mine = decide(h, &other.user, AuthMethod::Password, Some(&by_code)).await;
    let not_mine = decide(h, &member.user, AuthMethod::Password, Some(&by_code)).await;
    assert_eq!((mine, not_mine), (Decision::Allow, Decision::Challenge));
}

/// `allowed_factors`: the login decision offers only allowed factors, answers `enroll_required`
/// to a user whose factors are all of refused kinds, and takes an `mfa_token` only if it was
/// earned with an allowed factor or a recovery code; a challenge of a refused kind is refused.
pub async fn only_the_allowed_kinds_sign_in(h: &Harness) {
    let member = h.member().await;
    // Tokens earned before the policy: with the email factor, the app and a recovery code.
    let by_email = h.sign_in(&member, Channel::Email).await.unwrap().token;
    let by_app = h.sign_in(&member, Channel::App).await.unwrap().token;
    let by_code = h.recover(&member, &member.recovery_codes[0]).await.unwrap().token.token;
    let apps_only = OrgPolicy { allowed_factors: Some(vec![FactorKind::Totp]), ..policy(true) };
    join(h, &member.user, "apps", apps_only).await;

    let decided = h.mfa.login(&member.user, AuthMethod::Password, None).await.unwrap();
    assert_eq!(decided.decision, Decision::Challenge);
    let offered: Vec<_> = decided.factors.iter().map(|f| &f.id).collect();
    assert_eq!(offered, [member.factor(Channel::App)]);
    let refused = h.try_challenge_in(&member, &decided.login_id, Channel::Email).await;
    assert!(matches!(refused, Err(Error::PolicyForbids(_))), "{refused:?}");

    assert_eq!(
        decide(h, &member.user, AuthMethod::Password, Some(&by_email)).await,
        Decision::Challenge
    );
    for token in [&by_app, &by_code] {
        assert_eq!(
            decide(h, &member.user, AuthMethod::Password, Some(token)).await,
            Decision::Allow
        );
    }

    let keys_only =
        OrgPolicy { allowed_factors: Some(vec![FactorKind::Webauthn]), ..policy(false) };
    join(h, &member.user, "keys", keys_only).await;
    assert_eq!(decide(h, &member.user, AuthMethod::Password, None).await, Decision::EnrollRequired);
}

/// `max_factors`: at most this many active factors per member; enrolling one more is refused
/// (the member has three: a limit of 4 takes a fourth, 3 refuses it).
pub async fn an_org_caps_the_active_factors(h: &Harness) {
    let member = h.member().await;
    for (max, room) in [(3, false), (4, true)] {
        join(h, &member.user, "capped", OrgPolicy { max_factors: Some(max), ..policy(true) }).await;
        let token = h.step_up(&member, mfa_service::model::Operation::AddFactor).await;
        let added = h.add_app(&member, &token).await;
        if room {
            assert!(added.is_ok(), "{max}: {:?}", added.err());
        } else {
            assert!(matches!(added, Err(Error::PolicyForbids(_))), "{max}");
        }
    }
}

/// A policy that makes no sense is refused and changes nothing; the edges of what makes sense
/// are taken.
pub async fn a_policy_that_makes_no_sense_is_refused(h: &Harness) {
    let acme = org("acme");
    let kept = OrgPolicy { grace_logins: 3, ..policy(true) };
    h.mfa.admin_set_policy(&acme, kept.clone()).await.unwrap();
    let refused = [
        OrgPolicy { max_factors: Some(0), ..policy(true) },
        OrgPolicy { allowed_factors: Some(vec![]), ..policy(true) },
        OrgPolicy { token_ttl_seconds: Some(SHORTEST_TOKEN_TTL - 1), ..policy(true) },
        OrgPolicy { token_ttl_seconds: Some(SERVICE_TOKEN_TTL + 1), ..policy(true) },
    ];
    for bad in refused {
        let answer = h.mfa.admin_set_policy(&acme, bad.clone()).await;
        assert!(matches!(answer, Err(Error::BadRequest(_))), "{bad:?}: {answer:?}");
        assert_eq!(h.mfa.admin_policy(&acme).await.unwrap(), kept);
    }
    let taken = [
        OrgPolicy { max_factors: Some(1), ..policy(true) },
        OrgPolicy { token_ttl_seconds: Some(SHORTEST_TOKEN_TTL), ..policy(true) },
        OrgPolicy { token_ttl_seconds: Some(SERVICE_TOKEN_TTL), ..policy(true) },
    ];
    for good in taken {
        assert_eq!(h.mfa.admin_set_policy(&acme, good.clone()).await.unwrap(), good);
        assert_eq!(h.mfa.admin_policy(&acme).await.unwrap(), good);
    }
}

/// A user belongs to at most 50 orgs: 50 are taken, 51 refused (and the 50 kept).
pub async fn a_user_belongs_to_at_most_50_orgs(h: &Harness) {
    let user = common::new_user();
    let orgs = |n: usize| (0..n).map(|i| org(&format!("org-{i:02}"))).collect::<Vec<_>>();
    let mut fifty = h.mfa.admin_set_memberships(&user, orgs(MOST_ORGS)).await.unwrap();
    fifty.sort();
    let too_many = h.mfa.admin_set_memberships(&user, orgs(MOST_ORGS + 1)).await;
    assert!(matches!(too_many, Err(Error::BadRequest(_))), "{too_many:?}");
    let mut kept = h.mfa.admin_memberships(&user).await.unwrap();
    kept.sort();
    assert_eq!((kept.len(), kept), (MOST_ORGS, fifty));
}

/// A sign-in accepts challenges for `MFA_LOGIN_TTL_SECONDS` (3600 in this harness): one second
/// short of it a challenge starts, at it the login has expired.
pub async fn a_login_takes_challenges_until_it_expires(h: &Harness) {
    let member = h.member().await;
    let lifetime = 3600;
    for wait in [lifetime - 1, lifetime] {
        let login = h.mfa.login(&member.user, AuthMethod::Password, None).await.unwrap().login_id;
        h.advance(wait);
        let started = h.try_challenge_in(&member, &login, Channel::App).await;
        if wait < lifetime {
            assert!(started.is_ok(), "{started:?}");
        } else {
            assert!(matches!(started, Err(Error::Expired(_))), "{started:?}");
        }
    }
}

/// `token_ttl_seconds`: "how long members' MFA tokens live". A member's token lives the org's
/// 120 s rather than the service's 600 (its `exp - iat`, and the `expires_at` answered with it),
/// whether earned by a sign-in's challenge, or by a recovery code within a sign-in or without
/// one. A sign-in of another user is not the member's: a recovery code given with it is refused,
/// and stays unused.
pub async fn an_orgs_members_tokens_live_its_token_ttl(h: &Harness) {
    let member = h.member().await;
    let ttl = 120;
    join(h, &member.user, "short", OrgPolicy { token_ttl_seconds: Some(ttl), ..policy(true) })
        .await;
    let lives_ttl = |issued: &IssuedToken| {
        assert_eq!(issued.expires_at, h.now() + ttl);
        let claims = mfa_e2e::jwt_claims(&issued.token);
        let (iat, exp) = (claims["iat"].as_u64().unwrap(), claims["exp"].as_u64().unwrap());
        assert_eq!(exp - iat, ttl, "{claims}");
    };
    lives_ttl(&h.sign_in(&member, Channel::App).await.unwrap());

    let sign_in = |user: UserId| async move {
        h.mfa.login(&user, AuthMethod::Password, None).await.unwrap().login_id
    };
    let (mine, anothers) = (sign_in(member.user.clone()).await, sign_in(common::new_user()).await);
    let code = &member.recovery_codes[0];
    let refused = h.mfa.verify_recovery(&member.user, code, Some(&anothers), None).await;
    assert!(matches!(refused, Err(Error::NotFound(_))), "{refused:?}");
    let within = h.mfa.verify_recovery(&member.user, code, Some(&mine), None).await.unwrap();
    lives_ttl(&within.token);
    lives_ttl(&h.recover(&member, &member.recovery_codes[1]).await.unwrap().token);
}
