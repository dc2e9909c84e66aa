//! Sending budgets: one message counted against several budgets at once, all or none, each
//! scope and window counted apart.

use std::sync::Arc;

use mfa_service::model::{SendLimit, SendScope};

use crate::support::*;
use crate::TestStore;

const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

fn limit(scope: SendScope, window: u64, max: u32) -> SendLimit {
    SendLimit { scope, window, max }
}

async fn count<S: TestStore>(store: &S, limit: &SendLimit) -> u32 {
    store.sends(limit, NOW).await.unwrap()
}

pub async fn a_message_is_counted_against_every_budget_or_none<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let phone = limit(SendScope::Texts(unique_phone()), HOUR, 5);
    let hourly = limit(SendScope::User(user.clone()), HOUR, 2);
    let daily = limit(SendScope::User(user.clone()), DAY, 10);
    let limits = [phone.clone(), hourly.clone(), daily.clone()];
    assert_eq!(store.take_sends(&limits, NOW).await.unwrap(), None);
    assert_eq!(store.take_sends(&limits, NOW).await.unwrap(), None);
    assert_eq!(
        store.take_sends(&limits, NOW).await.unwrap(),
        Some(1),
        "the user's hourly budget is the one used up"
    );
    for (limit, expected) in [(&phone, 2), (&hourly, 2), (&daily, 2)] {
        assert_eq!(count(&*store, limit).await, expected, "a refusal counts nowhere: {limit:?}");
    }
    // The hour and the day of one user are counted apart.
    assert_eq!(store.take_sends(std::slice::from_ref(&daily), NOW).await.unwrap(), None);
    assert_eq!((count(&*store, &hourly).await, count(&*store, &daily).await), (2, 3));
    // The next hour has the user's hourly budget again, within the same day.
    let next_hour = NOW - NOW % HOUR + HOUR;
    assert_eq!(store.take_sends(&limits, next_hour).await.unwrap(), None);
    assert_eq!(store.sends(&daily, next_hour).await.unwrap(), 4);
}

pub async fn scopes_are_counted_apart<S: TestStore>(store: Arc<S>) {
    let phone = unique_phone();
    let org = OrgId::parse(&unique("org")).unwrap();
    let scopes = [
        SendScope::Texts(phone.clone()),
        SendScope::Calls(phone.clone()),
        SendScope::Replies(phone.clone()),
        SendScope::Emails(format!("{}@example.com", unique("ada"))),
        SendScope::User(unique_user()),
        SendScope::LockNotices(unique_user()),
        SendScope::Org(org),
    ];
    for scope in &scopes {
        assert_eq!(store.take_sends(&[limit(scope.clone(), HOUR, 1)], NOW).await.unwrap(), None);
    }
    for scope in scopes {
        let one = limit(scope, HOUR, 1);
        assert_eq!(count(&*store, &one).await, 1, "{one:?}");
        assert_eq!(store.take_sends(&[one], NOW).await.unwrap(), Some(0));
    }
    let address = format!("{}@example.com", unique("Grace"));
    let mixed = limit(SendScope::Emails(address.clone()), HOUR, 1);
    store.take_sends(&[mixed], NOW).await.unwrap();
    let lower = limit(SendScope::Emails(address.to_lowercase()), HOUR, 1);
    assert_eq!(count(&*store, &lower).await, 1, "an address is counted whatever its case");
}

pub async fn a_zero_budget_allows_nothing<S: TestStore>(store: Arc<S>) {
    let open = limit(SendScope::User(unique_user()), HOUR, 5);
    let shut = limit(SendScope::Texts(unique_phone()), HOUR, 0);
    assert_eq!(store.take_sends(&[open.clone(), shut], NOW).await.unwrap(), Some(1));
    assert_eq!(count(&*store, &open).await, 0);
}

pub async fn budgets_hold_under_concurrency<S: TestStore>(store: Arc<S>) {
    // Racers for several numbers of one user: the user's budget of 3 lets exactly 3 through,
    // and the shared deployment shard counts exactly those.
    let user = unique_user();
    let shard = limit(SendScope::Deployment(7), HOUR, u32::MAX);
    let before = count(&*store, &shard).await;
    let taken = concurrently(&store, RACERS, |store| {
        let user = user.clone();
        let shard = shard.clone();
        async move {
            let limits = [
                limit(SendScope::Texts(unique_phone()), HOUR, 5),
                limit(SendScope::User(user), HOUR, 3),
                shard,
            ];
            store.take_sends(&limits, NOW).await.unwrap()
        }
    })
    .await;
    assert_eq!(taken.iter().filter(|t| t.is_none()).count(), 3, "{taken:?}");
    assert!(taken.iter().flatten().all(|full| *full == 1), "{taken:?}");
    assert_eq!(count(&*store, &limit(SendScope::User(user), HOUR, 3)).await, 3);
    assert_eq!(count(&*store, &shard).await - before, 3);
}
