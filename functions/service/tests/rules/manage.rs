//! Managing factors, as the README's route table states it: deleting an active factor needs "a
//! step-up token for `delete_factor` of this factor, proved by it" (a pending one needs none);
//! new recovery codes need a step-up "proved by any factor, not a recovery code", and "the old
//! set stops working"; an admin resets "a lost factor without step-up" and clears the failure
//! count, and an unlock clears "both lockouts (second factors and recovery codes)".

use mfa_service::domain::{Error, StepUpFor};
use mfa_service::model::{AuditAction, Operation};

use crate::harness::{assert_locked_until, assert_step_up_required, Channel, Harness, Member};
use crate::lockout::{fail, Failing, FIRST_LOCK, LOCKING_FAILURES};

/// The subject of a removal's notice (README, Notices).
const REMOVED: &str = "was removed from your account's sign-in methods";

/// A well-formed recovery code that is no one's.
const WRONG_RECOVERY_CODE: &str = "0000-0000-0000-0000";

/// A step-up for removing the member's factor of `channel`, proved by it.
pub async fn to_remove(h: &Harness, member: &Member, channel: Channel) -> String {
    let target = Some(member.factor(channel).clone());
    h.step_up_with(member, StepUpFor { operation: Operation::DeleteFactor, target }, channel).await
}

/// An active factor goes only with a token for its removal, which only it can prove, and the
/// user is told (README, Notices: "the user deletes a factor (a removed email address is told
/// too)"); a pending one goes without a token.
pub async fn an_active_factor_is_removed_only_with_its_own_step_up(h: &Harness) {
    let member = h.member().await;
    let email = member.factor(Channel::Email).clone();
    assert_step_up_required(h.mfa.delete(&member.user, &email, None).await);
    // Another factor can't even start a step-up for its removal.
    let wanted = StepUpFor { operation: Operation::DeleteFactor, target: Some(email.clone()) };
    let by_sms = h.mfa.start_step_up(&member.user, wanted, member.factor(Channel::Text), None);
    let by_sms = by_sms.await;
    assert!(matches!(by_sms, Err(Error::BadRequest(_))), "{by_sms:?}");
    // Nor does a token for removing another factor.
    let for_sms = to_remove(h, &member, Channel::Text).await;
    assert_step_up_required(h.mfa.delete(&member.user, &email, Some(&for_sms)).await);
    let listed = |factors: Vec<mfa_service::model::Factor>| factors.into_iter().map(|f| f.id);
    assert!(listed(h.mfa.list(&member.user).await.unwrap()).any(|id| id == email));

    // A pending factor goes without a token, and no one is told: it was no sign-in method.
    let removed =
        || h.sent_to(member.email_address()).into_iter().filter(|m| m.contains(REMOVED)).count();
    let add = StepUpFor { operation: Operation::AddFactor, target: None };
    let token = h.step_up_with(&member, add, Channel::Text).await;
    let pending = h.add_app(&member, &token).await.unwrap();
    h.mfa.delete(&member.user, &pending.id, None).await.unwrap();
    assert!(!listed(h.mfa.list(&member.user).await.unwrap()).any(|id| id == pending.id));
    assert_eq!(removed(), 0);

    let by_itself = to_remove(h, &member, Channel::Email).await;
    h.mfa.delete(&member.user, &email, Some(&by_itself)).await.unwrap();
    assert!(!listed(h.mfa.list(&member.user).await.unwrap()).any(|id| id == email));
    // "a removed email address is told too".
    assert_eq!(removed(), 1);
}

/// New recovery codes take a step-up proved by a factor, not by a recovery code; the new set
/// works and the old one no longer does.
pub async fn new_recovery_codes_need_a_factor_and_end_the_old_set(h: &Harness) {
    let member = h.member().await;
    let code = &member.recovery_codes[0];
    let by_code =
        h.mfa.verify_recovery(&member.user, code, None, Some(Operation::NewRecoveryCodes));
    let by_code = by_code.await;
    assert!(matches!(by_code, Err(Error::BadRequest(_))), "{by_code:?}");
    assert_step_up_required(h.mfa.new_recovery_codes(&member.user, None).await);
    let token = h.step_up(&member, Operation::NewRecoveryCodes).await;
    let codes = h.mfa.new_recovery_codes(&member.user, Some(&token)).await.unwrap();
    // "comes with 10 recovery codes" (README, "Quick start").
    assert_eq!(codes.len(), 10);
    let old = h.recover(&member, &member.recovery_codes[1]).await;
    assert!(matches!(old, Err(Error::CodeRejected)), "{old:?}");
    h.recover(&member, &codes[0]).await.unwrap();
}

/// An admin's reset removes a factor without a step-up, clears the failures that locked the
/// second factor, and is audited with the factor.
pub async fn an_admin_reset_removes_the_factor_and_clears_the_failures(h: &Harness) {
    let member = h.member().await;
    fail(h, &member, Failing::SignIn(Channel::App), LOCKING_FAILURES).await;
    let locked = h.sign_in(&member, Channel::Email).await;
    assert_locked_until(locked, h.now() + FIRST_LOCK);
    let app = member.factor(Channel::App).clone();
    h.mfa.admin_reset_factor(&member.user, &app).await.unwrap();
    assert!(h.mfa.list(&member.user).await.unwrap().iter().all(|f| f.id != app));
    h.sign_in(&member, Channel::Email).await.unwrap();
    let events = h.mfa.admin_audit(&member.user).await.unwrap();
    let reset = events.iter().find(|e| e.action == AuditAction::FactorReset);
    assert_eq!(reset.and_then(|e| e.factor_id.clone()), Some(app), "{events:?}");
}

/// An admin's unlock opens both lockouts at once: the second factor's and the recovery codes'.
pub async fn an_admin_unlock_clears_both_lockouts(h: &Harness) {
    let member = h.member().await;
    fail(h, &member, Failing::SignIn(Channel::App), LOCKING_FAILURES).await;
    for _ in 0..LOCKING_FAILURES {
        let wrong = h.recover(&member, WRONG_RECOVERY_CODE).await;
        assert!(matches!(wrong, Err(Error::CodeRejected)), "{wrong:?}");
    }
    assert_locked_until(h.sign_in(&member, Channel::Email).await, h.now() + FIRST_LOCK);
    assert_locked_until(h.recover(&member, &member.recovery_codes[0]).await, h.now() + FIRST_LOCK);
    h.mfa.admin_unlock(&member.user).await.unwrap();
    h.sign_in(&member, Channel::Email).await.unwrap();
    h.recover(&member, &member.recovery_codes[0]).await.unwrap();
    let events = h.mfa.admin_audit(&member.user).await.unwrap();
    assert!(events.iter().any(|e| e.action == AuditAction::Unlocked), "{events:?}");
}
