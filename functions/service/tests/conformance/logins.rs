//! Logins and challenges: inserted once, a challenge answered once.

use std::sync::Arc;

use mfa_service::model::{Challenge, Login};
use mfa_service::ports::StoreError;

use crate::support::{concurrently, unique, winners, NOW, RACERS};
use crate::TestStore;

fn login(user: &str) -> Login {
    Login { id: unique("lgn"), user: user.to_owned(), created_at: NOW, expires_at: NOW + 600 }
}

fn challenge(login: &Login) -> Challenge {
    Challenge {
        id: unique("chl"),
        user: login.user.clone(),
        login_id: login.id.clone(),
        factor_id: unique("fac"),
        created_at: NOW,
        expires_at: NOW + 300,
        consumed_at: None,
    }
}

pub async fn login_and_challenge_round_trip_and_insert_once<S: TestStore>(store: Arc<S>) {
    let login = login(&unique("user"));
    store.insert_login(&login).await.unwrap();
    assert_eq!(store.get_login(&login.id).await.unwrap(), Some(login.clone()));
    let again = store.insert_login(&login).await;
    assert!(matches!(again, Err(StoreError::AlreadyExists)), "{again:?}");
    assert_eq!(store.get_login("lgn_missing").await.unwrap(), None);

    let challenge = challenge(&login);
    store.insert_challenge(&challenge).await.unwrap();
    assert_eq!(store.get_challenge(&challenge.id).await.unwrap(), Some(challenge.clone()));
    let again = store.insert_challenge(&challenge).await;
    assert!(matches!(again, Err(StoreError::AlreadyExists)), "{again:?}");
    assert_eq!(store.get_challenge("chl_missing").await.unwrap(), None);
}

pub async fn challenge_is_consumed_once<S: TestStore>(store: Arc<S>) {
    assert!(!store.consume_challenge("chl_missing", NOW).await.unwrap());
    assert_eq!(
        store.get_challenge("chl_missing").await.unwrap(),
        None,
        "consuming a missing challenge must not create one"
    );

    let challenge = challenge(&login(&unique("user")));
    store.insert_challenge(&challenge).await.unwrap();
    assert!(store.consume_challenge(&challenge.id, NOW + 1).await.unwrap());
    assert!(!store.consume_challenge(&challenge.id, NOW + 2).await.unwrap());
    let stored = store.get_challenge(&challenge.id).await.unwrap().unwrap();
    assert_eq!(stored.consumed_at, Some(NOW + 1));
    assert_eq!(Challenge { consumed_at: None, ..stored }, challenge);
}

pub async fn challenge_is_consumed_once_under_concurrency<S: TestStore>(store: Arc<S>) {
    let challenge = challenge(&login(&unique("user")));
    store.insert_challenge(&challenge).await.unwrap();
    let answers = concurrently(&store, RACERS, |store| {
        let id = challenge.id.clone();
        async move { store.consume_challenge(&id, NOW).await }
    })
    .await;
    assert_eq!(winners(answers), 1);
}
