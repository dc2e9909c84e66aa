//! Factors: insert once, activate once from pending, the TOTP replay guard, listing, deletion,
//! an SMS factor's number changed once.

use std::sync::Arc;

use mfa_service::model::{
    Answer, Challenge, ChallengePurpose, Factor, FactorStatus, Method, WebauthnKey, WebauthnKind,
};
use mfa_service::ports::StoreError;

use crate::support::*;
use crate::TestStore;

pub async fn factor_insert_twice_is_refused<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let factor = pending_totp(&user, NOW);
    store.insert_factor(&factor).await.unwrap();
    let changed = Factor { label: Some("Intruder".to_owned()), ..factor.clone() };
    let again = store.insert_factor(&changed).await;
    assert!(matches!(again, Err(StoreError::AlreadyExists)), "{again:?}");
    assert_eq!(store.get_factor(&user, &factor.id).await.unwrap(), Some(factor));
}

pub async fn factor_round_trips_every_field<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let full = Factor {
        status: FactorStatus::Active,
        label: Some("Work phone — ünïcode".to_owned()),
        activated_at: Some(NOW + 1),
        method: Method::Totp { secret: "v1:k:ünïcode".to_owned(), last_step: Some(u64::MAX - 1) },
        ..pending_totp(&user, NOW)
    };
    let bare = Factor { label: None, ..pending_totp(&user, NOW) };
    let sms = pending_sms(&user, &unique_phone(), NOW);
    let email = Factor {
        method: Method::Email {
            email: "ünïcode.user+mfa@example.com".to_owned(),
            activation: Some(unique_challenge()),
        },
        ..pending_totp(&user, NOW)
    };
    for factor in [&full, &bare, &sms, &email] {
        store.insert_factor(factor).await.unwrap();
        assert_eq!(store.get_factor(&user, &factor.id).await.unwrap().as_ref(), Some(factor));
    }
    let stranger = unique_user();
    assert_eq!(store.get_factor(&stranger, &full.id).await.unwrap(), None);
    assert_eq!(store.get_factor(&user, &fid("fac_missing")).await.unwrap(), None);
}

pub async fn factor_activates_once_and_only_from_pending<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let factor = pending_totp(&user, NOW);
    store.insert_factor(&factor).await.unwrap();

    assert!(!store
        .activate_factor(&user, &fid("fac_missing"), &plain(Some(1), NOW))
        .await
        .unwrap());
    assert!(store.activate_factor(&user, &factor.id, &plain(Some(100), NOW + 5)).await.unwrap());
    let active = store.get_factor(&user, &factor.id).await.unwrap().unwrap();
    assert_eq!(active.status, FactorStatus::Active);
    assert_eq!(active.activated_at, Some(NOW + 5));
    assert_eq!(last_step(&active), Some(100));

    assert!(!store.activate_factor(&user, &factor.id, &plain(Some(200), NOW + 6)).await.unwrap());
    assert_eq!(
        store.get_factor(&user, &factor.id).await.unwrap(),
        Some(active),
        "a refused activation changes nothing"
    );

    let stepless = pending_totp(&user, NOW);
    store.insert_factor(&stepless).await.unwrap();
    assert!(store.activate_factor(&user, &stepless.id, &plain(None, NOW)).await.unwrap());
    let stepless = store.get_factor(&user, &stepless.id).await.unwrap().unwrap();
    assert_eq!((stepless.status, last_step(&stepless)), (FactorStatus::Active, None));
    assert!(use_step(&*store, &user, &stepless.id, 0).await.unwrap());
}

pub async fn factor_activation_is_won_once_under_concurrency<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let factor = pending_totp(&user, NOW);
    store.insert_factor(&factor).await.unwrap();
    let answers = concurrently(&store, RACERS, |store| {
        let (user, id) = (user.clone(), factor.id.clone());
        async move { store.activate_factor(&user, &id, &plain(Some(7), NOW)).await }
    })
    .await;
    assert_eq!(winners(answers), 1);
}

pub async fn totp_step_only_moves_forward<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let factor = pending_totp(&user, NOW);
    store.insert_factor(&factor).await.unwrap();
    assert!(
        !use_step(&*store, &user, &factor.id, 10).await.unwrap(),
        "a pending factor can't be used"
    );
    assert!(store.activate_factor(&user, &factor.id, &plain(Some(10), NOW)).await.unwrap());

    assert!(!use_step(&*store, &user, &factor.id, 10).await.unwrap());
    assert!(!use_step(&*store, &user, &factor.id, 9).await.unwrap());
    assert!(use_step(&*store, &user, &factor.id, 11).await.unwrap());
    assert!(!use_step(&*store, &user, &factor.id, 11).await.unwrap());
    assert!(use_step(&*store, &user, &factor.id, 20).await.unwrap());
    assert!(!use_step(&*store, &user, &factor.id, 15).await.unwrap());
    let stored = store.get_factor(&user, &factor.id).await.unwrap().unwrap();
    assert_eq!(last_step(&stored), Some(20));

    assert!(!use_step(&*store, &user, &fid("fac_missing"), 30).await.unwrap());
    let stranger = unique_user();
    assert!(!use_step(&*store, &stranger, &factor.id, 30).await.unwrap());
}

pub async fn totp_step_is_accepted_once_under_concurrency<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let factor = pending_totp(&user, NOW);
    store.insert_factor(&factor).await.unwrap();
    store.activate_factor(&user, &factor.id, &plain(Some(10), NOW)).await.unwrap();
    let answers = concurrently(&store, RACERS, |store| {
        let (user, id) = (user.clone(), factor.id.clone());
        async move { use_step(&*store, &user, &id, 11).await }
    })
    .await;
    assert_eq!(winners(answers), 1);
    let stored = store.get_factor(&user, &factor.id).await.unwrap().unwrap();
    assert_eq!(last_step(&stored), Some(11));
}

/// Sorts `factors` the way `list_factors` must: by `created_at`, then id.
fn oldest_first(mut factors: Vec<Factor>) -> Vec<Factor> {
    factors.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    factors
}

pub async fn factors_are_listed_oldest_first_per_user<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    // A user whose id extends the first one's: a prefix scan must not mix them up.
    let neighbour = uid(&format!("{user}-2"));
    let mine: Vec<Factor> = [NOW + 30, NOW + 10, NOW + 20, NOW + 10, NOW]
        .into_iter()
        .map(|created_at| pending_totp(&user, created_at))
        .collect();
    let theirs = pending_totp(&neighbour, NOW - 1);
    store.insert_factor(&theirs).await.unwrap();
    for factor in &mine {
        store.insert_factor(factor).await.unwrap();
    }
    assert_eq!(store.list_factors(&user).await.unwrap(), oldest_first(mine));
    assert_eq!(store.list_factors(&neighbour).await.unwrap(), vec![theirs]);
    assert_eq!(store.list_factors(&unique_user()).await.unwrap(), vec![]);
}

pub async fn factor_list_spans_result_pages<S: TestStore>(store: Arc<S>) {
    // 24 factors of 50 kB each: more than DynamoDB returns in one Query page (1 MB).
    let user = unique_user();
    let label = "x".repeat(50_000);
    let mut factors = Vec::new();
    for i in 0..24 {
        let factor = Factor { label: Some(label.clone()), ..pending_totp(&user, NOW + 24 - i) };
        store.insert_factor(&factor).await.unwrap();
        factors.push(factor);
    }
    assert_eq!(store.list_factors(&user).await.unwrap(), oldest_first(factors));
}

pub async fn factor_is_deleted_once<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let gone = pending_totp(&user, NOW);
    let kept = pending_totp(&user, NOW + 1);
    store.insert_factor(&gone).await.unwrap();
    store.insert_factor(&kept).await.unwrap();

    let pending = FactorStatus::Pending;
    assert!(!store.delete_factor(&unique_user(), &gone.id, pending).await.unwrap());
    assert!(!store.delete_factor(&user, &gone.id, FactorStatus::Active).await.unwrap());
    assert!(store.delete_factor(&user, &gone.id, pending).await.unwrap());
    assert_eq!(store.get_factor(&user, &gone.id).await.unwrap(), None);
    assert!(!store.delete_factor(&user, &gone.id, pending).await.unwrap());
    assert_eq!(store.list_factors(&user).await.unwrap(), vec![kept]);
}

pub async fn a_pending_delete_never_deletes_a_factor_activated_meanwhile<S: TestStore>(
    store: Arc<S>,
) {
    // The delete of a pending factor (no step-up) races its activation: never both.
    for _ in 0..8 {
        let user = unique_user();
        let factor = pending_totp(&user, NOW);
        store.insert_factor(&factor).await.unwrap();
        let (activate, delete) = {
            let (a, b) = (Arc::clone(&store), Arc::clone(&store));
            let (u1, u2, id1, id2) =
                (user.clone(), user.clone(), factor.id.clone(), factor.id.clone());
            tokio::join!(
                tokio::spawn(async move { a.activate_factor(&u1, &id1, &plain(None, NOW)).await }),
                tokio::spawn(
                    async move { b.delete_factor(&u2, &id2, FactorStatus::Pending).await }
                ),
            )
        };
        let (activated, deleted) = (activate.unwrap().unwrap(), delete.unwrap().unwrap());
        assert!(activated != deleted, "activated {activated}, deleted {deleted}");
        let stored = store.get_factor(&user, &factor.id).await.unwrap();
        assert_eq!(stored.map(|f| f.status), activated.then_some(FactorStatus::Active));
    }
}

pub async fn a_factor_enrolled_without_step_up_is_activated_only_alone<S: TestStore>(
    store: Arc<S>,
) {
    let user = unique_user();
    let alone =
        |created_at| Factor { enrolled_with_step_up: false, ..pending_totp(&user, created_at) };
    let (first, second) = (alone(NOW), alone(NOW));
    store.insert_factor(&first).await.unwrap();
    store.insert_factor(&second).await.unwrap();
    assert!(store.activate_factor(&user, &first.id, &plain(None, NOW)).await.unwrap());
    // Enrolled in the same second as the other's activation: still refused.
    assert!(!store.activate_factor(&user, &second.id, &plain(None, NOW)).await.unwrap());
    let stored = store.get_factor(&user, &second.id).await.unwrap().unwrap();
    assert_eq!(stored.status, FactorStatus::Pending, "a refused activation changes nothing");
    // With step-up, a factor activates next to an active one.
    let stepped_up = pending_totp(&user, NOW);
    store.insert_factor(&stepped_up).await.unwrap();
    assert!(store.activate_factor(&user, &stepped_up.id, &plain(None, NOW)).await.unwrap());
}

pub async fn of_factors_enrolled_without_step_up_one_activates_under_concurrency<S: TestStore>(
    store: Arc<S>,
) {
    let user = unique_user();
    let factors: Vec<Factor> = (0..RACERS)
        .map(|_| Factor { enrolled_with_step_up: false, ..pending_totp(&user, NOW) })
        .collect();
    for factor in &factors {
        store.insert_factor(factor).await.unwrap();
    }
    let ids: Vec<_> = factors.iter().map(|f| f.id.clone()).collect();
    let next = std::sync::Mutex::new(ids.into_iter());
    let answers = concurrently(&store, RACERS, |store| {
        let id = next.lock().unwrap().next().unwrap();
        let user = user.clone();
        async move { store.activate_factor(&user, &id, &plain(None, NOW)).await }
    })
    .await;
    assert_eq!(winners(answers), 1);
    let active = store.list_factors(&user).await.unwrap();
    assert_eq!(active.iter().filter(|f| f.status == FactorStatus::Active).count(), 1);
}

pub async fn activation_and_the_first_recovery_set_are_one_write<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let (first, second) = (pending_totp(&user, NOW), pending_totp(&user, NOW));
    store.insert_factor(&first).await.unwrap();
    store.insert_factor(&second).await.unwrap();
    let set = recovery_set(10);
    let with_set = Activation { recovery: RecoveryWrite::Insert(&set), ..plain(Some(3), NOW) };
    assert!(store.activate_factor(&user, &first.id, &with_set).await.unwrap());
    assert_eq!(store.get_recovery_set(&user).await.unwrap(), Some(set.clone()));
    let stored = store.get_factor(&user, &first.id).await.unwrap().unwrap();
    assert_eq!((stored.status, last_step(&stored)), (FactorStatus::Active, Some(3)));

    // A set that is no longer the one expected refuses the whole activation.
    let other = recovery_set(10);
    for recovery in [
        RecoveryWrite::Insert(&other),
        RecoveryWrite::Replace { old: "rcs_not_current", new: &other },
    ] {
        let activation = Activation { recovery, ..plain(None, NOW) };
        assert!(!store.activate_factor(&user, &second.id, &activation).await.unwrap());
        let stored = store.get_factor(&user, &second.id).await.unwrap().unwrap();
        assert_eq!(stored.status, FactorStatus::Pending, "{recovery:?}");
        assert_eq!(store.get_recovery_set(&user).await.unwrap(), Some(set.clone()));
    }
    let replace = RecoveryWrite::Replace { old: &set.id, new: &other };
    let activation = Activation { recovery: replace, ..plain(None, NOW) };
    assert!(store.activate_factor(&user, &second.id, &activation).await.unwrap());
    assert_eq!(store.get_recovery_set(&user).await.unwrap(), Some(other));
}

/// A new SMS factor of `user` on `phone`, stored and activated.
async fn active_sms<S: TestStore>(store: &S, user: &UserId, phone: &str) -> Factor {
    let factor = pending_sms(user, phone, NOW);
    store.insert_factor(&factor).await.unwrap();
    assert!(store.activate_factor(user, &factor.id, &plain(None, NOW)).await.unwrap());
    store.get_factor(user, &factor.id).await.unwrap().unwrap()
}

pub async fn phone_changes_only_from_the_current_number_of_an_active_factor<S: TestStore>(
    store: Arc<S>,
) {
    let user = unique_user();
    let (old, new) = (unique_phone(), unique_phone());
    let pending = pending_sms(&user, &old, NOW);
    store.insert_factor(&pending).await.unwrap();
    assert!(
        !store.change_phone(&user, &pending.id, &old, &new).await.unwrap(),
        "a pending factor keeps its number"
    );
    assert_eq!(store.get_factor(&user, &pending.id).await.unwrap(), Some(pending));

    let active = active_sms(&*store, &user, &old).await;
    let stranger = unique_user();
    assert!(!store.change_phone(&user, &active.id, &unique_phone(), &new).await.unwrap());
    assert!(!store.change_phone(&stranger, &active.id, &old, &new).await.unwrap());
    assert!(!store.change_phone(&user, &fid("fac_missing"), &old, &new).await.unwrap());
    assert_eq!(store.get_factor(&stranger, &active.id).await.unwrap(), None);
    assert_eq!(
        store.get_factor(&user, &fid("fac_missing")).await.unwrap(),
        None,
        "changing a missing factor's number must not create one"
    );
    assert_eq!(
        store.get_factor(&user, &active.id).await.unwrap().as_ref(),
        Some(&active),
        "a refused change changes nothing"
    );

    assert!(store.change_phone(&user, &active.id, &old, &new).await.unwrap());
    let activation = match &active.method {
        Method::Sms { activation, .. } => activation.clone(),
        _ => None,
    };
    let changed =
        Factor { method: Method::Sms { phone: new.clone(), activation }, ..active.clone() };
    assert_eq!(store.get_factor(&user, &active.id).await.unwrap(), Some(changed));
    assert!(
        !store.change_phone(&user, &active.id, &old, &unique_phone()).await.unwrap(),
        "the old number is no longer the factor's"
    );
    assert!(store.change_phone(&user, &active.id, &new, &old).await.unwrap());
    assert_eq!(store.get_factor(&user, &active.id).await.unwrap(), Some(active));

    let totp = pending_totp(&user, NOW);
    store.insert_factor(&totp).await.unwrap();
    assert!(store.activate_factor(&user, &totp.id, &plain(None, NOW)).await.unwrap());
    assert!(
        !store.change_phone(&user, &totp.id, &old, &new).await.unwrap(),
        "a factor without a number has no number to change"
    );
}

pub async fn phone_change_is_won_once_under_concurrency<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let old = unique_phone();
    let factor = active_sms(&*store, &user, &old).await;
    let answers = concurrently(&store, RACERS, |store| {
        let (user, id, old, new) = (user.clone(), factor.id.clone(), old.clone(), unique_phone());
        async move {
            let won = store.change_phone(&user, &id, &old, &new).await.unwrap();
            (won, new)
        }
    })
    .await;
    let won: Vec<String> =
        answers.into_iter().filter_map(|(won, new)| won.then_some(new)).collect();
    assert_eq!(won.len(), 1, "{won:?}");
    let stored = store.get_factor(&user, &factor.id).await.unwrap().unwrap();
    assert_eq!(
        phone(&stored),
        won.first().map(String::as_str),
        "the winner's number is the one kept"
    );
}

/// A new pending WebAuthn factor of `user`.
fn pending_webauthn(user: &UserId) -> Factor {
    Factor {
        label: Some("Blue key".to_owned()),
        method: Method::Webauthn {
            kind: WebauthnKind::SecurityKey,
            key: None,
            activation: Some(unique_challenge()),
        },
        ..pending_totp(user, NOW)
    }
}

fn key(credential: &str) -> WebauthnKey {
    WebauthnKey { credential_id: "AQID".to_owned(), credential: credential.to_owned() }
}

pub async fn webauthn_key_is_registered_once_and_only_on_a_pending_factor<S: TestStore>(
    store: Arc<S>,
) {
    let user = unique_user();
    let factor = pending_webauthn(&user);
    store.insert_factor(&factor).await.unwrap();
    let empty = key("{}");
    let registering = Activation { key: Some(&empty), ..plain(None, NOW) };
    assert!(!store.activate_factor(&user, &fid("fac_missing"), &registering).await.unwrap());
    assert!(!store.activate_factor(&unique_user(), &factor.id, &registering).await.unwrap());

    let answers = concurrently(&store, RACERS, |store| {
        let (user, id) = (user.clone(), factor.id.clone());
        async move {
            let first = key(r#"{"counter":0}"#);
            store
                .activate_factor(
                    &user,
                    &id,
                    &Activation { key: Some(&first), ..plain(None, NOW + 3) },
                )
                .await
        }
    })
    .await;
    assert_eq!(winners(answers), 1);
    let stored = store.get_factor(&user, &factor.id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.activated_at), (FactorStatus::Active, Some(NOW + 3)));
    let Method::Webauthn { key: Some(stored_key), kind, .. } = &stored.method else {
        panic!("{stored:?}")
    };
    assert_eq!((stored_key, *kind), (&key(r#"{"counter":0}"#), WebauthnKind::SecurityKey));
    assert!(
        !store.activate_factor(&user, &factor.id, &registering).await.unwrap(),
        "an active factor keeps its key"
    );
}

pub async fn webauthn_key_is_updated_only_from_the_credential_stored<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let factor = pending_webauthn(&user);
    store.insert_factor(&factor).await.unwrap();
    let (first, second) = (r#"{"counter":1}"#, r#"{"counter":2}"#);
    assert!(
        !store.update_webauthn_key(&user, &factor.id, "", first).await.unwrap(),
        "a pending factor has no key to update"
    );
    let registered = key(first);
    let registering = Activation { key: Some(&registered), ..plain(None, NOW) };
    assert!(store.activate_factor(&user, &factor.id, &registering).await.unwrap());
    assert!(!store.update_webauthn_key(&user, &factor.id, second, second).await.unwrap());
    assert!(!store.update_webauthn_key(&unique_user(), &factor.id, first, second).await.unwrap());
    assert!(!store.update_webauthn_key(&user, &fid("fac_missing"), first, second).await.unwrap());
    assert_eq!(store.get_factor(&user, &fid("fac_missing")).await.unwrap(), None);

    let answers = concurrently(&store, RACERS, |store| {
        let (user, id) = (user.clone(), factor.id.clone());
        async move { store.update_webauthn_key(&user, &id, first, second).await }
    })
    .await;
    assert_eq!(winners(answers), 1, "two uses of a key can't both store their counter");
    let stored = store.get_factor(&user, &factor.id).await.unwrap().unwrap();
    assert!(matches!(&stored.method, Method::Webauthn { key: Some(k), .. } if *k == key(second)));
}

pub async fn activation_uses_its_challenge_up_in_the_same_write<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let (first, second) = (pending_totp(&user, NOW), pending_totp(&user, NOW));
    store.insert_factor(&first).await.unwrap();
    store.insert_factor(&second).await.unwrap();
    let code = Challenge {
        id: unique_challenge(),
        user: user.clone(),
        factor_id: first.id.clone(),
        created_at: NOW,
        expires_at: NOW + 300,
        consumed_at: None,
        purpose: ChallengePurpose::Activation,
        answer: Answer::SentCode { hash: "ab".repeat(32) },
        attempts: 0,
        factor_kind: None,
    };
    store.insert_challenge(&code).await.unwrap();
    let with_code = Activation { challenge: Some(&code.id), ..plain(None, NOW + 1) };
    assert!(store.activate_factor(&user, &first.id, &with_code).await.unwrap());
    let used = store.get_challenge(&code.id).await.unwrap().unwrap();
    assert_eq!(used.consumed_at, Some(NOW + 1));
    // A challenge used up (or missing) refuses the whole activation.
    assert!(!store.activate_factor(&user, &second.id, &with_code).await.unwrap());
    let missing = unique_challenge();
    let with_missing = Activation { challenge: Some(&missing), ..plain(None, NOW) };
    assert!(!store.activate_factor(&user, &second.id, &with_missing).await.unwrap());
    let stored = store.get_factor(&user, &second.id).await.unwrap().unwrap();
    assert_eq!(stored.status, FactorStatus::Pending, "a refused activation changes nothing");
}

pub async fn a_limit_on_active_factors_holds_under_concurrency<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let limited = |now| Activation { max_active: Some(1), ..plain(None, now) };
    let factors: Vec<Factor> = (0..RACERS).map(|_| pending_totp(&user, NOW)).collect();
    for factor in &factors {
        store.insert_factor(factor).await.unwrap();
    }
    let next = std::sync::Mutex::new(factors.iter().map(|f| f.id.clone()).collect::<Vec<_>>());
    let answers = concurrently(&store, RACERS, |store| {
        let id = next.lock().unwrap().pop().unwrap();
        let user = user.clone();
        async move { store.activate_factor(&user, &id, &limited(NOW)).await }
    })
    .await;
    assert_eq!(winners(answers), 1, "one method at a time");
    // Deleting the active factor makes room again.
    let listed = store.list_factors(&user).await.unwrap();
    let active = listed.iter().find(|f| f.status == FactorStatus::Active).unwrap();
    assert!(store.delete_factor(&user, &active.id, FactorStatus::Active).await.unwrap());
    let pending = listed.iter().find(|f| f.status == FactorStatus::Pending).unwrap();
    assert!(store.activate_factor(&user, &pending.id, &limited(NOW + 1)).await.unwrap());
    let other = listed.iter().rfind(|f| f.status == FactorStatus::Pending && f.id != pending.id);
    assert!(!store.activate_factor(&user, &other.unwrap().id, &limited(NOW + 2)).await.unwrap());
}
