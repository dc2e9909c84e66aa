//! Organisation policies: a default until one is put, the grace sign-ins they allow, and which
//! orgs a user belongs to.

use std::sync::Arc;

use mfa_service::api_key::Scope;
use mfa_service::ids::{KeyId, OrgId};
use mfa_service::model::{AppKey, FactorKind, OrgPolicy};
use mfa_service::ports::StoreError;

use crate::support::*;
use crate::TestStore;

pub async fn policy_defaults_then_put_and_get<S: TestStore>(store: Arc<S>) {
    let org = unique_org();
    let other = unique_org();
    assert_eq!(store.get_policy(&org).await.unwrap(), OrgPolicy::default());

    let strict = OrgPolicy {
        require_mfa: true,
        grace_logins: 2,
        allowed_factors: Some(vec![FactorKind::Totp, FactorKind::Webauthn]),
        max_factors: Some(1),
        sso_exempt: false,
        token_ttl_seconds: Some(120),
        notices: false,
    };
    store.put_policy(&org, &strict).await.unwrap();
    assert_eq!(store.get_policy(&org).await.unwrap(), strict);
    assert_eq!(store.get_policy(&other).await.unwrap(), OrgPolicy::default());

    let lax = OrgPolicy { require_mfa: false, grace_logins: 0, ..OrgPolicy::default() };
    store.put_policy(&org, &lax).await.unwrap();
    assert_eq!(store.get_policy(&org).await.unwrap(), lax);
}

pub async fn grace_logins_are_taken_up_to_max_per_user_and_org<S: TestStore>(store: Arc<S>) {
    let (user, other_user) = (unique_user(), unique_user());
    let (org, other_org) = (unique_org(), unique_org());
    for _ in 0..2 {
        assert!(store.take_grace_login(&user, &org, 2).await.unwrap());
    }
    assert!(!store.take_grace_login(&user, &org, 2).await.unwrap(), "used up");
    assert!(store.take_grace_login(&other_user, &org, 2).await.unwrap(), "users are apart");
    assert!(store.take_grace_login(&user, &other_org, 2).await.unwrap(), "orgs are apart");
    assert!(store.take_grace_login(&user, &org, 3).await.unwrap(), "a larger max allows more");
    assert!(!store.take_grace_login(&user, &org, 3).await.unwrap());
    assert!(!store.take_grace_login(&unique_user(), &org, 0).await.unwrap(), "max 0");
}

pub async fn grace_logins_are_capped_under_concurrency<S: TestStore>(store: Arc<S>) {
    let (user, org) = (unique_user(), unique_org());
    let answers = concurrently(&store, RACERS, |store| {
        let (user, org) = (user.clone(), org.clone());
        async move { store.take_grace_login(&user, &org, 3).await }
    })
    .await;
    assert_eq!(winners(answers), 3);
}

pub async fn memberships_are_set_and_read_per_user<S: TestStore>(store: Arc<S>) {
    let (user, other) = (unique_user(), unique_user());
    assert_eq!(store.memberships(&user).await.unwrap(), Vec::<OrgId>::new());
    let orgs = vec![unique_org(), unique_org()];
    store.put_memberships(&user, &orgs).await.unwrap();
    assert_eq!(store.memberships(&user).await.unwrap(), orgs);
    assert_eq!(store.memberships(&other).await.unwrap(), Vec::<OrgId>::new());
    store.put_memberships(&user, &[]).await.unwrap();
    assert_eq!(
        store.memberships(&user).await.unwrap(),
        Vec::<OrgId>::new(),
        "replaced, not added to"
    );
}

pub async fn app_keys_are_stored_once_listed_and_deleted<S: TestStore>(store: Arc<S>) {
    let key = |created_at| AppKey {
        id: KeyId::generate(&mut rand_core::OsRng),
        app: "portal".to_owned(),
        scopes: vec![Scope::Verify, Scope::Admin],
        hash: "ab".repeat(32),
        created_at,
    };
    let (older, newer) = (key(NOW), key(NOW + 1));
    store.insert_app_key(&newer).await.unwrap();
    store.insert_app_key(&older).await.unwrap();
    let again = store.insert_app_key(&older).await;
    assert!(matches!(again, Err(StoreError::AlreadyExists)), "{again:?}");
    assert_eq!(store.get_app_key(&older.id).await.unwrap(), Some(older.clone()));
    let listed = store.list_app_keys().await.unwrap();
    let ours: Vec<_> = listed.iter().filter(|k| k.id == older.id || k.id == newer.id).collect();
    assert_eq!(ours, vec![&older, &newer], "oldest first");
    assert!(store.delete_app_key(&older.id).await.unwrap());
    assert!(!store.delete_app_key(&older.id).await.unwrap());
    assert_eq!(store.get_app_key(&older.id).await.unwrap(), None);
}

pub async fn a_users_factors_orgs_and_their_policies_are_read_together<S: TestStore>(
    store: Arc<S>,
) {
    let user = unique_user();
    assert_eq!(store.factors_and_orgs(&user).await.unwrap(), (vec![], vec![]));
    let (org, other) = (unique_org(), unique_org());
    for at in [NOW + 1, NOW] {
        store.insert_factor(&pending_totp(&user, at)).await.unwrap();
    }
    store.insert_factor(&pending_totp(&unique_user(), NOW)).await.unwrap();
    store.put_memberships(&user, &[org.clone(), other.clone()]).await.unwrap();
    // A grace count sorts between the factors and the memberships.
    assert!(store.take_grace_login(&user, &org, 3).await.unwrap());
    let (factors, orgs) = store.factors_and_orgs(&user).await.unwrap();
    assert_eq!(factors, store.list_factors(&user).await.unwrap());
    assert_eq!(factors.iter().map(|f| f.created_at).collect::<Vec<_>>(), [NOW, NOW + 1]);
    assert_eq!(orgs, [org.clone(), other.clone()]);

    let strict = OrgPolicy { require_mfa: true, grace_logins: 1, ..OrgPolicy::default() };
    store.put_policy(&org, &strict).await.unwrap();
    assert_eq!(
        store.get_policies(&[other.clone(), org.clone()]).await.unwrap(),
        [OrgPolicy::default(), strict.clone()]
    );
    assert_eq!(store.get_policies(&[org]).await.unwrap(), [strict]);
    assert_eq!(store.get_policies(&[]).await.unwrap(), []);
}
