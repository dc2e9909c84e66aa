//! Phone numbers: opt-outs per number, at most `max` sends per number and window, and claims of
//! the SNS deliveries that carry inbound texts.

use std::sync::Arc;

use mfa_service::model::{SendLimit, SendScope};

use crate::support::*;
use crate::TestStore;

/// The send window of these tests, in seconds.
const WINDOW: u64 = 3600;
/// The sends allowed per window in these tests.
const MAX_SENDS: u32 = 3;
/// The start of the window that contains `NOW`.
const START: u64 = NOW - NOW % WINDOW;

/// Counts one text to `phone` at `at` against a budget of `max` a window: whether it was.
async fn take<S: TestStore>(store: &S, phone: &str, at: u64, window: u64, max: u32) -> bool {
    let limit = SendLimit { scope: SendScope::Texts(phone.to_owned()), window, max };
    take_sends(store, &[limit], at).await.unwrap().is_none()
}

/// Counts one text to `phone` at `at`, [`MAX_SENDS`] a window.
async fn send<S: TestStore>(store: &S, phone: &str, at: u64) -> bool {
    take(store, phone, at, WINDOW, MAX_SENDS).await
}

/// Whether `phone` is opted out.
async fn opted_out<S: TestStore>(store: &S, phone: &str) -> bool {
    store.is_opted_out(phone).await.unwrap()
}

pub async fn opt_out_and_opt_in_round_trip_per_number<S: TestStore>(store: Arc<S>) {
    let (phone, other) = (unique_phone(), unique_phone());
    assert!(!opted_out(&*store, &phone).await);
    store.opt_in(&phone).await.unwrap();
    assert!(!opted_out(&*store, &phone).await, "opting in a number that never opted out is fine");

    store.opt_out(&phone, NOW).await.unwrap();
    assert!(opted_out(&*store, &phone).await);
    assert!(!opted_out(&*store, &other).await, "an opt-out is one number's");
    store.opt_out(&phone, NOW + 1).await.unwrap();
    assert!(opted_out(&*store, &phone).await, "a second STOP keeps the number out");

    store.opt_out(&other, NOW).await.unwrap();
    store.opt_in(&phone).await.unwrap();
    assert!(!opted_out(&*store, &phone).await);
    assert!(opted_out(&*store, &other).await, "opting one number in leaves the others out");
    store.opt_in(&phone).await.unwrap();
    assert!(!opted_out(&*store, &phone).await);

    store.opt_out(&phone, NOW + 2).await.unwrap();
    assert!(opted_out(&*store, &phone).await, "a number can opt out again");
}

pub async fn send_slots_are_capped_per_window_and_number<S: TestStore>(store: Arc<S>) {
    let (phone, other) = (unique_phone(), unique_phone());
    for at in [START, START + 1, START + WINDOW - 1] {
        assert!(send(&*store, &phone, at).await, "send at {at}");
    }
    assert!(!send(&*store, &phone, START + 10).await, "the window's sends are used up");
    assert!(!send(&*store, &phone, START + WINDOW - 1).await);
    assert!(send(&*store, &other, START).await, "numbers are counted apart");

    // The next window starts afresh, and does not reopen the one before.
    for _ in 0..MAX_SENDS {
        assert!(send(&*store, &phone, START + WINDOW).await);
    }
    assert!(!send(&*store, &phone, START + 2 * WINDOW - 1).await);
    assert!(!send(&*store, &phone, START).await);
    assert!(send(&*store, &phone, START + 2 * WINDOW).await);

    // `max` is the caller's: a larger one allows exactly the difference.
    assert!(take(&*store, &phone, START, WINDOW, MAX_SENDS + 1).await);
    assert!(!take(&*store, &phone, START, WINDOW, MAX_SENDS + 1).await);
    assert!(!take(&*store, &unique_phone(), NOW, WINDOW, 0).await, "max 0");
}

pub async fn send_slots_and_opt_outs_are_kept_apart<S: TestStore>(store: Arc<S>) {
    // The domain checks opt-outs itself; the two records of one number must not clobber each other.
    let phone = unique_phone();
    store.opt_out(&phone, NOW).await.unwrap();
    for _ in 0..MAX_SENDS {
        assert!(send(&*store, &phone, NOW).await);
    }
    assert!(opted_out(&*store, &phone).await, "counting sends keeps the opt-out");
    store.opt_in(&phone).await.unwrap();
    store.opt_out(&phone, NOW + 1).await.unwrap();
    store.opt_in(&phone).await.unwrap();
    assert!(!send(&*store, &phone, NOW).await, "opting out and in keeps the window's count");
}

pub async fn send_slots_are_capped_under_concurrency<S: TestStore>(store: Arc<S>) {
    let phone = unique_phone();
    for at in [START, START + WINDOW] {
        let answers = concurrently(&store, RACERS, |store| {
            let phone = phone.clone();
            async move {
                let limit =
                    SendLimit { scope: SendScope::Texts(phone), window: WINDOW, max: MAX_SENDS };
                take_sends(&*store, &[limit], at).await.map(|full| full.is_none())
            }
        })
        .await;
        assert_eq!(winners(answers), MAX_SENDS as usize, "window at {at}");
    }
}

/// How long the delivery claims of these tests last.
const HOLD: u64 = 7200;

pub async fn deliveries_are_claimed_once_until_released_or_expired<S: TestStore>(store: Arc<S>) {
    let (id, other) = (unique("sns-message"), unique("sns-message"));
    assert!(store.claim_delivery(&id, NOW, NOW + HOLD).await.unwrap());
    assert!(!store.claim_delivery(&id, NOW + 1, NOW + 1 + HOLD).await.unwrap(), "claimed");
    assert!(store.claim_delivery(&other, NOW, NOW + HOLD).await.unwrap(), "ids are kept apart");

    store.release_delivery(&id).await.unwrap();
    assert!(store.claim_delivery(&id, NOW + 2, NOW + 2 + HOLD).await.unwrap(), "released");
    assert!(!store.claim_delivery(&id, NOW + 1 + HOLD, NOW + 1 + 2 * HOLD).await.unwrap());
    assert!(
        store.claim_delivery(&id, NOW + 2 + HOLD, NOW + 2 + 2 * HOLD).await.unwrap(),
        "an expired claim is taken over"
    );
    assert!(!store.claim_delivery(&id, NOW + 3 + HOLD, NOW + 3 + 2 * HOLD).await.unwrap());
    assert!(!store.claim_delivery(&other, NOW + 1, NOW + 1 + HOLD).await.unwrap());
    store.release_delivery(&unique("sns-message")).await.unwrap();
}

pub async fn a_delivery_is_claimed_once_under_concurrency<S: TestStore>(store: Arc<S>) {
    let id = unique("sns-message");
    let answers = concurrently(&store, RACERS, |store| {
        let id = id.clone();
        async move { store.claim_delivery(&id, NOW, NOW + HOLD).await }
    })
    .await;
    assert_eq!(winners(answers), 1);
}
