//! Throttling: failures counted before the check, locks that grow, a block at 100, resets, and
//! the second-factor and recovery-code budgets kept apart.

use std::sync::Arc;

use mfa_core::throttle::{locked_until, FREE_FAILURES, MAX_CONSECUTIVE_FAILURES};
use mfa_service::model::{Attempt, Budget};

use crate::support::*;
use crate::TestStore;

const ALLOWED: Attempt = Attempt::Allowed;
const FACTOR: Budget = Budget::SecondFactor;
const RECOVERY: Budget = Budget::RecoveryCodes;

fn locked(until: u64) -> Attempt {
    Attempt::Locked { until }
}

pub async fn throttle_locks_after_five_failures_and_lock_grows<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    assert_eq!(store.failures(&user, FACTOR).await.unwrap(), 0);
    for count in 1..=FREE_FAILURES {
        assert_eq!(store.begin_attempt(&user, FACTOR, NOW).await.unwrap(), ALLOWED);
        assert_eq!(store.failures(&user, FACTOR).await.unwrap(), count);
    }
    assert_eq!(store.begin_attempt(&user, FACTOR, NOW).await.unwrap(), locked(NOW + 30));
    assert_eq!(store.begin_attempt(&user, FACTOR, NOW + 29).await.unwrap(), locked(NOW + 30));
    assert_eq!(
        store.failures(&user, FACTOR).await.unwrap(),
        FREE_FAILURES,
        "attempts refused by the lock are not counted"
    );

    assert_eq!(store.begin_attempt(&user, FACTOR, NOW + 30).await.unwrap(), ALLOWED);
    assert_eq!(store.failures(&user, FACTOR).await.unwrap(), FREE_FAILURES + 1);
    assert_eq!(store.begin_attempt(&user, FACTOR, NOW + 31).await.unwrap(), locked(NOW + 90));
}

pub async fn throttle_success_resets_the_count<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    store.succeed(&user, FACTOR).await.unwrap();
    assert_eq!(store.failures(&user, FACTOR).await.unwrap(), 0);

    for _ in 0..3 {
        assert_eq!(store.begin_attempt(&user, FACTOR, NOW).await.unwrap(), ALLOWED);
    }
    store.succeed(&user, FACTOR).await.unwrap();
    assert_eq!(store.failures(&user, FACTOR).await.unwrap(), 0);
    for _ in 0..FREE_FAILURES {
        assert_eq!(store.begin_attempt(&user, FACTOR, NOW).await.unwrap(), ALLOWED);
    }
    assert_eq!(store.begin_attempt(&user, FACTOR, NOW).await.unwrap(), locked(NOW + 30));

    // A reset lifts a lock too.
    store.succeed(&user, FACTOR).await.unwrap();
    assert_eq!(store.begin_attempt(&user, FACTOR, NOW).await.unwrap(), ALLOWED);
    assert_eq!(store.failures(&user, FACTOR).await.unwrap(), 1);
}

pub async fn throttle_lets_no_concurrent_attempt_past_the_lock<S: TestStore>(store: Arc<S>) {
    // Up to the free allowance, every concurrent attempt goes ahead and is counted.
    let user = unique_user();
    let answers = concurrently(&store, FREE_FAILURES as usize, |store| {
        let user = user.clone();
        async move { store.begin_attempt(&user, FACTOR, NOW).await.unwrap() }
    })
    .await;
    assert_eq!(answers, vec![ALLOWED; FREE_FAILURES as usize]);
    assert_eq!(store.failures(&user, FACTOR).await.unwrap(), FREE_FAILURES);
    assert_eq!(store.begin_attempt(&user, FACTOR, NOW).await.unwrap(), locked(NOW + 30));

    // Beyond it, exactly the free allowance goes ahead: the attempt that reaches it locks the
    // account in the same write, and every other racer sees the lock.
    let user = unique_user();
    let answers = concurrently(&store, RACERS, |store| {
        let user = user.clone();
        async move { store.begin_attempt(&user, FACTOR, NOW).await.unwrap() }
    })
    .await;
    let allowed = answers.iter().filter(|answer| **answer == ALLOWED).count();
    assert_eq!(allowed, FREE_FAILURES as usize, "{answers:?}");
    assert_eq!(store.failures(&user, FACTOR).await.unwrap(), FREE_FAILURES);
    let until = locked_until(FREE_FAILURES, NOW).unwrap();
    for answer in answers.iter().filter(|answer| **answer != ALLOWED) {
        assert_eq!(*answer, locked(until));
    }
    assert_eq!(store.begin_attempt(&user, FACTOR, NOW).await.unwrap(), locked(until));

    // When that lock ends, one racer goes ahead and the next lock holds the rest.
    let answers = concurrently(&store, RACERS, |store| {
        let user = user.clone();
        async move { store.begin_attempt(&user, FACTOR, until).await.unwrap() }
    })
    .await;
    assert_eq!(answers.iter().filter(|answer| **answer == ALLOWED).count(), 1, "{answers:?}");
    assert_eq!(store.failures(&user, FACTOR).await.unwrap(), FREE_FAILURES + 1);
}

pub async fn throttle_blocks_after_100_failures<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let mut now = NOW;
    let mut counted = 0;
    for _ in 0..1000 {
        if counted == MAX_CONSECUTIVE_FAILURES {
            break;
        }
        match store.begin_attempt(&user, FACTOR, now).await.unwrap() {
            Attempt::Allowed => counted += 1,
            Attempt::Locked { until } => {
                assert!(until > now && until <= now + 3600, "{until} at {now}");
                now = until;
            }
        }
    }
    assert_eq!(store.failures(&user, FACTOR).await.unwrap(), MAX_CONSECUTIVE_FAILURES);
    let years_later = now + 10 * 365 * 86_400;
    assert_eq!(store.begin_attempt(&user, FACTOR, years_later).await.unwrap(), locked(u64::MAX));

    store.succeed(&user, FACTOR).await.unwrap();
    assert_eq!(store.begin_attempt(&user, FACTOR, now).await.unwrap(), ALLOWED);
}

pub async fn second_factor_and_recovery_budgets_are_kept_apart<S: TestStore>(store: Arc<S>) {
    // Someone with the password blocks the second factor: the recovery codes still work.
    let user = unique_user();
    let mut now = NOW;
    while store.failures(&user, FACTOR).await.unwrap() < MAX_CONSECUTIVE_FAILURES {
        if let Attempt::Locked { until } = store.begin_attempt(&user, FACTOR, now).await.unwrap() {
            now = until;
        }
    }
    assert_eq!(store.begin_attempt(&user, FACTOR, now).await.unwrap(), locked(u64::MAX));
    assert_eq!(store.failures(&user, RECOVERY).await.unwrap(), 0);
    assert_eq!(store.begin_attempt(&user, RECOVERY, now).await.unwrap(), ALLOWED);
    // A success on one budget leaves the other as it is.
    store.succeed(&user, RECOVERY).await.unwrap();
    assert_eq!(store.begin_attempt(&user, FACTOR, now).await.unwrap(), locked(u64::MAX));

    // And the reverse: recovery codes locked, the second factor still goes ahead.
    let user = unique_user();
    for _ in 0..FREE_FAILURES {
        assert_eq!(store.begin_attempt(&user, RECOVERY, NOW).await.unwrap(), ALLOWED);
    }
    assert_eq!(store.begin_attempt(&user, RECOVERY, NOW).await.unwrap(), locked(NOW + 30));
    assert_eq!(store.begin_attempt(&user, FACTOR, NOW).await.unwrap(), ALLOWED);
    store.succeed(&user, FACTOR).await.unwrap();
    assert_eq!(store.begin_attempt(&user, RECOVERY, NOW).await.unwrap(), locked(NOW + 30));
}
