//! Recovery codes: one current set per user, each code consumed once, replaced sets dead.

use std::sync::Arc;

use crate::support::*;
use crate::TestStore;

/// The user's used codes, in order of index.
async fn used<S: TestStore>(store: &S, user: &UserId) -> Vec<u32> {
    let mut used = store.get_recovery_set(user).await.unwrap().unwrap().used;
    used.sort_unstable();
    used
}

pub async fn recovery_code_is_consumed_once<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let set = recovery_set(10);
    store.replace_recovery_set(&user, &set).await.unwrap();

    assert!(use_recovery_code(&*store, &user, &set.id, 3).await.unwrap());
    assert!(!use_recovery_code(&*store, &user, &set.id, 3).await.unwrap());
    assert!(use_recovery_code(&*store, &user, &set.id, 0).await.unwrap());
    assert!(
        !use_recovery_code(&*store, &user, &set.id, 10).await.unwrap(),
        "there is no code 10 in a set of 10"
    );
    assert!(!use_recovery_code(&*store, &user, &set.id, u32::MAX).await.unwrap());
    assert!(!use_recovery_code(&*store, &user, "rcs_other", 4).await.unwrap());
    assert!(!use_recovery_code(&*store, &unique_user(), &set.id, 4).await.unwrap());

    let stored = store.get_recovery_set(&user).await.unwrap().unwrap();
    assert_eq!(stored.hashes, set.hashes);
    assert_eq!(stored.remaining(), 8);
    assert_eq!(used(&*store, &user).await, [0, 3]);
}

pub async fn recovery_code_is_consumed_once_under_concurrency<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let set = recovery_set(10);
    store.replace_recovery_set(&user, &set).await.unwrap();
    let answers = concurrently(&store, RACERS, |store| {
        let (user, id) = (user.clone(), set.id.clone());
        async move { use_recovery_code(&*store, &user, &id, 5).await }
    })
    .await;
    assert_eq!(winners(answers), 1);
    assert_eq!(used(&*store, &user).await, [5]);
}

pub async fn recovery_codes_consumed_together_are_all_kept<S: TestStore>(store: Arc<S>) {
    // Different codes used at the same moment: no use may overwrite another.
    let user = unique_user();
    let set = recovery_set(10);
    store.replace_recovery_set(&user, &set).await.unwrap();
    let next = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let answers = concurrently(&store, 10, |store| {
        let (user, id) = (user.clone(), set.id.clone());
        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move { use_recovery_code(&*store, &user, &id, index).await }
    })
    .await;
    assert_eq!(winners(answers), 10);
    assert_eq!(used(&*store, &user).await, (0..10).collect::<Vec<_>>());
    assert_eq!(store.get_recovery_set(&user).await.unwrap().unwrap().remaining(), 0);
}

pub async fn replaced_recovery_set_kills_old_codes<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let old = recovery_set(10);
    store.replace_recovery_set(&user, &old).await.unwrap();
    assert!(use_recovery_code(&*store, &user, &old.id, 0).await.unwrap());

    let new = recovery_set(10);
    store.replace_recovery_set(&user, &new).await.unwrap();
    assert_eq!(store.get_recovery_set(&user).await.unwrap(), Some(new.clone()));
    assert!(!use_recovery_code(&*store, &user, &old.id, 1).await.unwrap());
    assert!(use_recovery_code(&*store, &user, &new.id, 0).await.unwrap());
    assert_eq!(used(&*store, &user).await, [0]);
}
