//! Sending budgets: one message counted against several budgets at once, all or none, each
//! scope and window counted apart.

use std::sync::Arc;

use mfa_service::model::{
    Answer, Challenge, ChallengePurpose, Delivery, FactorKind, SendLimit, SendScope,
};
use mfa_service::ports::StoreError;

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
    assert_eq!(take_sends(&*store, &limits, NOW).await.unwrap(), None);
    assert_eq!(take_sends(&*store, &limits, NOW).await.unwrap(), None);
    assert_eq!(
        take_sends(&*store, &limits, NOW).await.unwrap(),
        Some(1),
        "the user's hourly budget is the one used up"
    );
    for (limit, expected) in [(&phone, 2), (&hourly, 2), (&daily, 2)] {
        assert_eq!(count(&*store, limit).await, expected, "a refusal counts nowhere: {limit:?}");
    }
    // The hour and the day of one user are counted apart.
    assert_eq!(take_sends(&*store, std::slice::from_ref(&daily), NOW).await.unwrap(), None);
    assert_eq!((count(&*store, &hourly).await, count(&*store, &daily).await), (2, 3));
    // The next hour has the user's hourly budget again, within the same day.
    let next_hour = NOW - NOW % HOUR + HOUR;
    assert_eq!(take_sends(&*store, &limits, next_hour).await.unwrap(), None);
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
        assert_eq!(take_sends(&*store, &[limit(scope.clone(), HOUR, 1)], NOW).await.unwrap(), None);
    }
    for scope in scopes {
        let one = limit(scope, HOUR, 1);
        assert_eq!(count(&*store, &one).await, 1, "{one:?}");
        assert_eq!(take_sends(&*store, &[one], NOW).await.unwrap(), Some(0));
    }
    let address = format!("{}@example.com", unique("Grace"));
    let mixed = limit(SendScope::Emails(address.clone()), HOUR, 1);
    take_sends(&*store, &[mixed], NOW).await.unwrap();
    let lower = limit(SendScope::Emails(address.to_lowercase()), HOUR, 1);
    assert_eq!(count(&*store, &lower).await, 1, "an address is counted whatever its case");
}

pub async fn a_zero_budget_allows_nothing<S: TestStore>(store: Arc<S>) {
    let open = limit(SendScope::User(unique_user()), HOUR, 5);
    let shut = limit(SendScope::Texts(unique_phone()), HOUR, 0);
    assert_eq!(take_sends(&*store, &[open.clone(), shut], NOW).await.unwrap(), Some(1));
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
            take_sends(&*store, &limits, NOW).await.unwrap()
        }
    })
    .await;
    assert_eq!(taken.iter().filter(|t| t.is_none()).count(), 3, "{taken:?}");
    assert!(taken.iter().flatten().all(|full| *full == 1), "{taken:?}");
    assert_eq!(count(&*store, &limit(SendScope::User(user), HOUR, 3)).await, 3);
    assert_eq!(count(&*store, &shard).await - before, 3);
}

pub async fn a_code_is_counted_with_its_challenge_and_its_logins_message_or_not_at_all<
    S: TestStore,
>(
    store: Arc<S>,
) {
    let user = unique_user();
    let phone = unique_phone();
    let texts = limit(SendScope::Texts(phone.clone()), HOUR, 1);
    let hourly = limit(SendScope::User(user.clone()), HOUR, 5);
    let limits = [texts.clone(), hourly.clone()];
    let login = new_login(&user);
    store.insert_login(&login).await.unwrap();
    let code = |id: ChallengeId| Challenge {
        id,
        user: user.clone(),
        factor_id: unique_factor(),
        created_at: NOW,
        expires_at: NOW + 300,
        consumed_at: None,
        purpose: ChallengePurpose::Login { login_id: login.id.clone(), token_ttl: None },
        answer: Answer::SentCode { hash: "ab".repeat(32) },
        attempts: 0,
        factor_kind: Some(FactorKind::Sms),
    };
    let first = code(unique_challenge());
    let sending = Sending {
        limits: &limits,
        not_opted_out: Some(&phone),
        login_message: Some((&login.id, Delivery::Sms)),
        challenge: Some(&first),
    };

    // Opted out: nothing written, not the count, the login's text or the challenge.
    store.opt_out(&phone, NOW).await.unwrap();
    assert_eq!(store.take_sends(&sending, NOW).await.unwrap(), Some(SendRefused::OptedOut));
    store.opt_in(&phone).await.unwrap();
    let untouched = (count(&*store, &texts).await, count(&*store, &hourly).await);
    assert_eq!(untouched, (0, 0));
    assert_eq!(store.get_login(&login.id).await.unwrap(), Some(login.clone()));
    assert_eq!(store.get_challenge(&first.id).await.unwrap(), None);

    // Written together.
    assert_eq!(store.take_sends(&sending, NOW).await.unwrap(), None);
    assert_eq!((count(&*store, &texts).await, count(&*store, &hourly).await), (1, 1));
    assert!(store.get_login(&login.id).await.unwrap().unwrap().sms_sent);
    assert_eq!(store.get_challenge(&first.id).await.unwrap(), Some(first.clone()));

    // The login had its text: nothing written.
    let second = code(unique_challenge());
    let again = Sending { challenge: Some(&second), limits: &limits[1..], ..sending };
    assert_eq!(store.take_sends(&again, NOW).await.unwrap(), Some(SendRefused::LoginHadMessage));
    assert_eq!(store.get_challenge(&second.id).await.unwrap(), None);
    // Without the login's text, the user's budget alone counts it.
    let other = Sending { login_message: None, ..again };
    assert_eq!(store.take_sends(&other, NOW).await.unwrap(), None);
    // The number's budget is used up: nothing written.
    let third = code(unique_challenge());
    let full = Sending { login_message: None, challenge: Some(&third), ..sending };
    assert_eq!(store.take_sends(&full, NOW).await.unwrap(), Some(SendRefused::Full(0)));
    assert_eq!((count(&*store, &texts).await, count(&*store, &hourly).await), (1, 2));
    assert_eq!(store.get_challenge(&third.id).await.unwrap(), None);
    // A challenge id taken is an error, with nothing counted.
    let taken = Sending { challenge: Some(&first), limits: &limits[1..], ..other };
    assert!(matches!(store.take_sends(&taken, NOW).await, Err(StoreError::AlreadyExists)));
    assert_eq!(count(&*store, &hourly).await, 2);
}
