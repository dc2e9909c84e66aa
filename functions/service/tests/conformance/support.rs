//! Shared helpers: unique ids, sample records, and running an operation many times at once.

use std::future::Future;
use std::sync::Arc;

use mfa_service::model::{Factor, FactorKind, FactorStatus};
use rand_core::{OsRng, RngCore};
use tokio::sync::Barrier;

use crate::TestStore;

/// The time the tests pretend it is.
pub const NOW: u64 = 1_750_000_000;

/// How many tasks race in the concurrency tests.
pub const RACERS: usize = 20;

/// `prefix` with a random suffix: ids no other test (or earlier run on the same table) uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", OsRng.next_u64())
}

/// A new pending TOTP factor of `user`.
pub fn pending_totp(user: &str, created_at: u64) -> Factor {
    Factor {
        id: unique("fac"),
        user: user.to_owned(),
        kind: FactorKind::Totp,
        status: FactorStatus::Pending,
        label: Some("Authenticator".to_owned()),
        created_at,
        activated_at: None,
        secret: Some("v1:test-key:c2VhbGVk".to_owned()),
        last_step: None,
        phone: None,
        email: None,
        activation_challenge: None,
    }
}

/// A new pending SMS factor of `user` on `phone`.
pub fn pending_sms(user: &str, phone: &str, created_at: u64) -> Factor {
    Factor {
        kind: FactorKind::Sms,
        label: Some("Phone".to_owned()),
        secret: None,
        phone: Some(phone.to_owned()),
        activation_challenge: Some(unique("chl")),
        ..pending_totp(user, created_at)
    }
}

/// A random North American number in E.164 (`+1` and ten digits).
pub fn unique_phone() -> String {
    format!("+1{:010}", OsRng.next_u64() % 10_000_000_000)
}

/// Runs `count` copies of `operation` on `store` in separate tasks, released together, and
/// returns their answers.
pub async fn concurrently<S, F, Fut, T>(store: &Arc<S>, count: usize, operation: F) -> Vec<T>
where
    S: TestStore,
    F: Fn(Arc<S>) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let start = Arc::new(Barrier::new(count));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..count {
        let start = Arc::clone(&start);
        let run = operation(Arc::clone(store));
        tasks.spawn(async move {
            start.wait().await;
            run.await
        });
    }
    tasks.join_all().await
}

/// How many of `answers` are `true`.
pub fn winners<E: std::fmt::Debug>(answers: Vec<Result<bool, E>>) -> usize {
    answers.into_iter().map(|answer| answer.unwrap()).filter(|won| *won).count()
}
