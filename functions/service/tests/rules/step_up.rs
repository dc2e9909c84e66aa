//! Step-up tokens, as the README's "Step-up" states them: a step-up token "is good for that one
//! change of that one user, for 5 minutes, once". Each is used here to add a factor (an app)
//! next to the member's active ones, which needs a token for `add_factor`.
//!
//! "For 5 minutes" is checked at its edge: used 299 s after it was issued the token works, used
//! 300 s after it is refused (as a JWT whose `exp` has come).

use mfa_service::domain::{Error, StepUpFor};
use mfa_service::ids::OrgId;
use mfa_service::model::{FactorKind, Operation, OrgPolicy};

use crate::harness::{assert_step_up_required, Channel, Harness};

/// "good for ... 5 minutes".
const LIFETIME: u64 = 5 * 60;

/// A token works 299 s after it was issued and is refused at 300 s; the `expires_at` answered
/// with it says so (300 s after it was issued).
pub async fn a_step_up_token_is_good_for_5_minutes(h: &Harness) {
    let member = h.member().await;
    let inside = h.step_up_issued(&member, Operation::AddFactor).await;
    assert_eq!(inside.expires_at, h.now() + LIFETIME);
    h.advance(LIFETIME - 1);
    h.add_app(&member, &inside.token).await.unwrap();
    let outside = h.step_up(&member, Operation::AddFactor).await;
    h.advance(LIFETIME);
    assert_step_up_required(h.add_app(&member, &outside).await);
}

/// Another user's token is refused, whether a factor or a recovery code earned it (a token
/// earned with a recovery code names no factor that only its user holds); its own user can still
/// use it.
pub async fn a_step_up_token_is_good_for_its_user_alone(h: &Harness) {
    let (ada, bob) = (h.member().await, h.member().await);
    let by_factor = h.step_up(&bob, Operation::AddFactor).await;
    let used =
        h.mfa.verify_recovery(&bob.user, &bob.recovery_codes[0], None, Some(Operation::AddFactor));
    let by_recovery_code = used.await.unwrap().step_up.unwrap().token;
    for token in [by_factor, by_recovery_code] {
        assert_step_up_required(h.add_app(&ada, &token).await);
        h.add_app(&bob, &token).await.unwrap();
    }
}

/// A token works once.
pub async fn a_step_up_token_is_good_once(h: &Harness) {
    let member = h.member().await;
    let token = h.step_up(&member, Operation::AddFactor).await;
    h.add_app(&member, &token).await.unwrap();
    assert_step_up_required(h.add_app(&member, &token).await);
}

/// A step-up by the app is a challenge that lives `MFA_CHALLENGE_TTL_SECONDS` (README,
/// Configuration: "`300`"): answered at 299 s it earns its token, at 300 s it is refused.
pub async fn an_app_step_up_lives_300_s(h: &Harness) {
    let member = h.member().await;
    let app = member.factor(Channel::App);
    for (wait, earns) in [(LIFETIME - 1, true), (LIFETIME, false)] {
        let add = StepUpFor { operation: Operation::AddFactor, target: None };
        let started = h.mfa.start_step_up(&member.user, add, app, None).await.unwrap();
        h.advance(wait);
        let code = h.app_code(&member);
        let answer = h.mfa.finish_step_up(&member.user, &started.challenge_id, &code);
        match answer.await {
            Ok(_) => assert!(earns, "answered after {wait} s"),
            Err(e) => assert!(!earns && matches!(e, Error::Expired(_)), "after {wait} s: {e:?}"),
        }
        h.advance(30); // the next code for the next round
    }
}

/// A factor of a kind the user's org does not allow proves no change but its own removal
/// (README, Organisations, `allowed_factors`: "a step-up proved by one (but for removing that
/// factor) ... 403 `policy-forbids`"): no step-up by it starts, a token it earned before the org
/// refused its kind is refused when used, and a token it earns to remove itself removes it.
pub async fn a_refused_kind_proves_only_its_own_removal(h: &Harness) {
    let member = h.member().await;
    let sms = member.factor(Channel::Text);
    let add = StepUpFor { operation: Operation::AddFactor, target: None };
    let earlier = h.step_up_with(&member, add.clone(), Channel::Text).await;
    let org = OrgId::parse(&format!("org-of-{}", member.user)).unwrap();
    let allowed = Some(vec![FactorKind::Totp, FactorKind::Email]);
    h.mfa
        .admin_set_policy(&org, OrgPolicy { allowed_factors: allowed, ..OrgPolicy::default() })
        .await
        .unwrap();
    h.mfa.admin_set_memberships(&member.user, vec![org]).await.unwrap();
    let refused = h.mfa.start_step_up(&member.user, add, sms, None).await;
    assert!(matches!(refused, Err(Error::PolicyForbids(_))), "{refused:?}");
    let used = h.add_app(&member, &earlier).await;
    assert!(matches!(used, Err(Error::PolicyForbids(_))), "{used:?}");
    let delete = StepUpFor { operation: Operation::DeleteFactor, target: Some(sms.clone()) };
    let token = h.step_up_with(&member, delete, Channel::Text).await;
    h.mfa.delete(&member.user, sms, Some(&token)).await.unwrap();
}

/// A token is refused once the factor that proved it is gone (README, "Step-up": "It is refused
/// once the factor that proved it is deleted or reset by an admin"), though the user has other
/// active factors.
pub async fn a_step_up_token_dies_with_its_factor(h: &Harness) {
    let member = h.member().await;
    let token = h.step_up(&member, Operation::AddFactor).await;
    h.mfa.admin_reset_factor(&member.user, member.factor(Channel::Email)).await.unwrap();
    assert_step_up_required(h.add_app(&member, &token).await);
}
