//! The audit log: events per user, newest first, each stored once.

use std::sync::Arc;

use mfa_service::model::{AuditAction, AuditEvent};
use mfa_service::ports::StoreError;

use crate::support::*;
use crate::TestStore;

fn event(user: &UserId, at: u64, action: AuditAction) -> AuditEvent {
    AuditEvent {
        id: unique("aud"),
        user: user.to_owned(),
        at,
        action,
        factor_id: Some(unique_factor()),
        app: Some("portal — ünïcode".to_owned()),
    }
}

pub async fn audit_events_are_listed_newest_first_per_user<S: TestStore>(store: Arc<S>) {
    let (user, other) = (unique_user(), unique_user());
    assert_eq!(store.latest_events(&user, 10).await.unwrap(), []);
    let older = event(&user, NOW, AuditAction::FactorEnrolled);
    let newer = event(&user, NOW + 1, AuditAction::FactorActivated);
    // Ten thousand seconds later sorts after, not before (times are zero-padded in keys).
    let latest = AuditEvent {
        factor_id: None,
        app: None,
        ..event(&user, NOW + 10_000, AuditAction::Unlocked)
    };
    for e in [&newer, &latest, &older] {
        store.append(e).await.unwrap();
    }
    store.append(&event(&other, NOW + 5, AuditAction::Verified)).await.unwrap();

    let all = store.latest_events(&user, 10).await.unwrap();
    assert_eq!(all, vec![latest.clone(), newer.clone(), older]);
    assert_eq!(store.latest_events(&user, 2).await.unwrap(), vec![latest, newer]);
    assert_eq!(store.latest_events(&other, 10).await.unwrap().len(), 1, "users are apart");
}

pub async fn an_audit_event_is_stored_once<S: TestStore>(store: Arc<S>) {
    let user = unique_user();
    let e = event(&user, NOW, AuditAction::RecoveryCodeUsed);
    store.append(&e).await.unwrap();
    let again = store.append(&e).await;
    assert!(matches!(again, Err(StoreError::AlreadyExists)), "{again:?}");
    assert_eq!(store.latest_events(&user, 10).await.unwrap(), vec![e]);
}
