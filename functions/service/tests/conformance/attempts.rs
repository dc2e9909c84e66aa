//! Checking a code in two requests: the read of a challenge (or recovery set) with its throttle,
//! then one write of the outcome, conditional on the count read, with its challenge, factor
//! and audit event, all or nothing.

use std::sync::Arc;

use mfa_service::model::{
    AuditAction, AuditEvent, Budget, Challenge, FactorStatus, Login, ThrottleState,
};
use mfa_service::ports::Fail;

use crate::support::*;
use crate::TestStore;

const FACTOR: Budget = Budget::SecondFactor;
const RECOVERY: Budget = Budget::RecoveryCodes;
/// How many attempts a sent code allows in these tests.
const MAX: u32 = 3;

fn event(user: &UserId, action: AuditAction) -> AuditEvent {
    AuditEvent {
        id: unique("aud"),
        user: user.clone(),
        at: NOW,
        action,
        factor_id: None,
        app: None,
    }
}

/// An active TOTP factor of a new user, and a sign-in challenge of it.
async fn challenged<S: TestStore>(store: &S) -> (UserId, FactorId, Challenge) {
    let user = unique_user();
    let factor = pending_totp(&user, NOW);
    store.insert_factor(&factor).await.unwrap();
    assert!(store.activate_factor(&user, &factor.id, &plain(Some(1), NOW)).await.unwrap());
    let challenge = stored_app_challenge(store, &user, &factor.id).await;
    (user, factor.id, challenge)
}

fn fail<'a>(user: &'a UserId, seen: u32, challenge: Option<&'a ChallengeId>) -> Fail<'a> {
    Fail { user, budget: FACTOR, seen, now: NOW, challenge, event: None }
}

fn code_use<'a>(challenge: &'a Challenge, step: Option<u64>) -> Used<'a> {
    use_of(&challenge.id, challenge, step, Some(MAX))
}

fn use_of<'a>(
    id: &'a ChallengeId,
    challenge: &'a Challenge,
    step: Option<u64>,
    max_attempts: Option<u32>,
) -> Used<'a> {
    Used::Challenge { id, factor: &challenge.factor_id, step, max_attempts, now: NOW + 1 }
}

pub async fn an_attempt_reads_its_challenge_and_throttle_in_one<S: TestStore>(store: Arc<S>) {
    let (user, _, challenge) = challenged(&*store).await;
    let read = store.challenge_attempt(&user, &challenge.id).await.unwrap();
    assert_eq!(read.challenge.as_ref(), Some(&challenge));
    assert_eq!(read.throttle, ThrottleState::default());
    let missing = store.challenge_attempt(&user, &unique_challenge()).await.unwrap();
    assert_eq!(missing.challenge, None);

    for _ in 0..5 {
        assert!(
            store.begin_attempt(&user, FACTOR, NOW).await.unwrap()
                == mfa_service::model::Attempt::Allowed
        );
    }
    let read = store.challenge_attempt(&user, &challenge.id).await.unwrap();
    // The README: five failures are free, the sixth locks for 30 seconds.
    assert_eq!(read.throttle.failures, 5);
    assert_eq!(
        store.begin_attempt(&user, FACTOR, NOW).await.unwrap(),
        mfa_service::model::Attempt::Locked { until: NOW + 30 }
    );
    let read = store.challenge_attempt(&user, &challenge.id).await.unwrap();
    assert_eq!(read.throttle, ThrottleState { failures: 5, locked_until: Some(NOW + 30) });
    assert_eq!(read.throttle.locked_at(NOW + 29), Some(NOW + 30));
    assert_eq!(read.throttle.locked_at(NOW + 30), None);

    let set = recovery_set(10);
    store.replace_recovery_set(&user, &set).await.unwrap();
    let login = Login { token_ttl: Some(60), ..new_login(&user) };
    store.insert_login(&login).await.unwrap();
    let read = store.recovery_attempt(&user, Some(&login.id)).await.unwrap();
    assert_eq!(
        (read.set, read.login, read.throttle),
        (Some(set.clone()), Some(login), ThrottleState::default())
    );
    let read = store.recovery_attempt(&user, Some(&unique_login())).await.unwrap();
    assert_eq!((read.set, read.login), (Some(set), None));
    let none = store.recovery_attempt(&unique_user(), None).await.unwrap();
    assert_eq!((none.set, none.login, none.throttle), (None, None, ThrottleState::default()));
}

pub async fn a_failure_counts_locks_and_audits_in_one_write<S: TestStore>(store: Arc<S>) {
    let (user, _, challenge) = challenged(&*store).await;
    let failed = event(&user, AuditAction::VerifyFailed);
    for seen in 0..4 {
        let event = (seen == 0).then_some(&failed);
        let fail = Fail { event, ..fail(&user, seen, Some(&challenge.id)) };
        assert!(store.fail_attempt(&fail).await.unwrap());
    }
    let read = store.challenge_attempt(&user, &challenge.id).await.unwrap();
    assert_eq!(read.challenge.unwrap().attempts, 4);
    assert_eq!(read.throttle, ThrottleState { failures: 4, locked_until: None });
    assert!(store.fail_attempt(&fail(&user, 4, None)).await.unwrap());
    let read = store.challenge_attempt(&user, &challenge.id).await.unwrap();
    // Five failures lock for 30 seconds (README), and a failure without a challenge counts on
    // the account only.
    assert_eq!(read.throttle, ThrottleState { failures: 5, locked_until: Some(NOW + 30) });
    assert_eq!(read.challenge.unwrap().attempts, 4);
    assert_eq!(store.latest_events(&user, 10).await.unwrap(), [failed]);
}

pub async fn a_write_on_a_stale_count_writes_nothing<S: TestStore>(store: Arc<S>) {
    let (user, _, challenge) = challenged(&*store).await;
    assert!(store.fail_attempt(&fail(&user, 0, Some(&challenge.id))).await.unwrap());
    // Another attempt read 0 before that failure was counted: its writes are refused.
    let failed = event(&user, AuditAction::VerifyFailed);
    let stale = Fail { event: Some(&failed), ..fail(&user, 0, Some(&challenge.id)) };
    assert!(!store.fail_attempt(&stale).await.unwrap());
    let verified = event(&user, AuditAction::Verified);
    let pass = Pass {
        user: &user,
        budget: FACTOR,
        seen: 0,
        used: code_use(&challenge, None),
        event: Some(&verified),
    };
    assert_eq!(store.pass_attempt(&pass).await.unwrap(), Passed::ThrottleMoved);
    let read = store.challenge_attempt(&user, &challenge.id).await.unwrap();
    let stored = read.challenge.unwrap();
    assert_eq!((stored.consumed_at, stored.attempts), (None, 1));
    assert_eq!(read.throttle.failures, 1);
    assert_eq!(store.latest_events(&user, 10).await.unwrap(), []);

    // On the count as it is, the success goes through: used up, count reset, event stored.
    let pass = Pass { seen: 1, ..pass };
    assert_eq!(store.pass_attempt(&pass).await.unwrap(), Passed::Yes);
    let read = store.challenge_attempt(&user, &challenge.id).await.unwrap();
    let stored = read.challenge.unwrap();
    assert_eq!((stored.consumed_at, stored.attempts), (Some(NOW + 1), 2));
    assert_eq!(read.throttle, ThrottleState::default());
    assert_eq!(store.latest_events(&user, 10).await.unwrap(), std::slice::from_ref(&verified));
    assert_eq!(
        store.pass_attempt(&Pass { seen: 0, event: None, ..pass }).await.unwrap(),
        Passed::AlreadyUsed
    );
}

pub async fn a_pass_needs_an_open_challenge_with_attempts_and_an_active_factor<S: TestStore>(
    store: Arc<S>,
) {
    let (user, factor, challenge) = challenged(&*store).await;
    for seen in 0..MAX {
        assert!(store.fail_attempt(&fail(&user, seen, Some(&challenge.id))).await.unwrap());
    }
    let pass = Pass {
        user: &user,
        budget: FACTOR,
        seen: MAX,
        used: code_use(&challenge, None),
        event: None,
    };
    assert_eq!(
        store.pass_attempt(&pass).await.unwrap(),
        Passed::AlreadyUsed,
        "a code with no attempts left"
    );
    let unlimited = use_of(&challenge.id, &challenge, None, None);
    assert_eq!(store.pass_attempt(&Pass { used: unlimited, ..pass }).await.unwrap(), Passed::Yes);

    let other = stored_app_challenge(&*store, &user, &factor).await;
    let nowhere = unique_challenge();
    let missing = use_of(&nowhere, &other, None, Some(MAX));
    assert_eq!(
        store.pass_attempt(&Pass { used: missing, seen: 0, ..pass }).await.unwrap(),
        Passed::AlreadyUsed
    );
    assert!(store.delete_factor(&user, &factor, FactorStatus::Active).await.unwrap());
    let pass = Pass { used: code_use(&other, None), seen: 0, ..pass };
    assert_eq!(store.pass_attempt(&pass).await.unwrap(), Passed::FactorRefused);
    let stored = store.challenge_attempt(&user, &other.id).await.unwrap().challenge.unwrap();
    assert_eq!(stored.consumed_at, None, "a refused pass uses nothing up");
}

pub async fn a_challenge_passes_once_under_concurrency<S: TestStore>(store: Arc<S>) {
    let (user, _, challenge) = challenged(&*store).await;
    let answers = concurrently(&store, RACERS, |store| {
        let (user, challenge) = (user.clone(), challenge.clone());
        async move {
            let pass = Pass {
                user: &user,
                budget: FACTOR,
                seen: 0,
                used: code_use(&challenge, None),
                event: None,
            };
            store.pass_attempt(&pass).await.map(|passed| passed == Passed::Yes)
        }
    })
    .await;
    assert_eq!(winners(answers), 1);
}

pub async fn of_concurrent_failures_each_counts_once<S: TestStore>(store: Arc<S>) {
    // Racers that read the same count: one writes, the others must read again; retrying as
    // the domain does, every failure is counted exactly once.
    let user = unique_user();
    concurrently(&store, 10, |store| {
        let user = user.clone();
        async move {
            loop {
                let seen = store.recovery_attempt(&user, None).await.unwrap().throttle.failures;
                let fail = Fail { budget: RECOVERY, ..fail(&user, seen, None) };
                if store.fail_attempt(&fail).await.unwrap() {
                    break;
                }
            }
        }
    })
    .await;
    assert_eq!(store.failures(&user, RECOVERY).await.unwrap(), 10);
    assert_eq!(store.failures(&user, FACTOR).await.unwrap(), 0, "budgets are apart");
}
