//! Passwordless sign-ins: inserted once, answered once (also under concurrency); user handles
//! name their user.

use std::sync::Arc;

use mfa_service::model::PasskeySignIn;
use mfa_service::ports::StoreError;

use crate::support::*;
use crate::TestStore;

fn sign_in() -> PasskeySignIn {
    PasskeySignIn {
        id: unique_challenge(),
        created_at: NOW,
        expires_at: NOW + 300,
        consumed_at: None,
        state: r#"{"ast":"ünïcode state"}"#.to_owned(),
    }
}

pub async fn passkey_sign_in_round_trips_and_is_inserted_once<S: TestStore>(store: Arc<S>) {
    let sign_in = sign_in();
    store.insert_passkey_sign_in(&sign_in).await.unwrap();
    assert_eq!(store.get_passkey_sign_in(&sign_in.id).await.unwrap(), Some(sign_in.clone()));
    let again =
        store.insert_passkey_sign_in(&PasskeySignIn { state: "x".into(), ..sign_in.clone() }).await;
    assert!(matches!(again, Err(StoreError::AlreadyExists)), "{again:?}");
    assert_eq!(store.get_passkey_sign_in(&cid("chl_missing")).await.unwrap(), None);
}

pub async fn passkey_sign_in_is_consumed_once_under_concurrency<S: TestStore>(store: Arc<S>) {
    assert!(!store.consume_passkey_sign_in(&cid("chl_missing"), NOW).await.unwrap());
    assert_eq!(store.get_passkey_sign_in(&cid("chl_missing")).await.unwrap(), None);
    let sign_in = sign_in();
    store.insert_passkey_sign_in(&sign_in).await.unwrap();
    let answers = concurrently(&store, RACERS, |store| {
        let id = sign_in.id.clone();
        async move { store.consume_passkey_sign_in(&id, NOW + 1).await }
    })
    .await;
    assert_eq!(winners(answers), 1);
    let stored = store.get_passkey_sign_in(&sign_in.id).await.unwrap().unwrap();
    assert_eq!(stored, PasskeySignIn { consumed_at: Some(NOW + 1), ..sign_in });
}

pub async fn user_handles_name_their_user<S: TestStore>(store: Arc<S>) {
    let (handle, other) = (unique("handle"), unique("handle"));
    assert_eq!(store.user_of_handle(&handle).await.unwrap(), None);
    let user = unique_user();
    store.put_user_handle(&handle, &user).await.unwrap();
    store.put_user_handle(&handle, &user).await.unwrap();
    assert_eq!(store.user_of_handle(&handle).await.unwrap(), Some(user));
    assert_eq!(store.user_of_handle(&other).await.unwrap(), None);
}
