//! Shared helpers: unique ids, sample records, and running an operation many times at once.

use std::future::Future;
use std::sync::Arc;

pub use mfa_service::ids::{ChallengeId, FactorId, LoginId, OrgId, UserId};
use mfa_service::model::{
    Answer, Budget, Challenge, ChallengePurpose, Delivery, Factor, FactorStatus, Login, Method,
    RecoverySet, SendLimit,
};
pub use mfa_service::ports::{
    Activation, Pass, Passed, RecoveryWrite, SendRefused, Sending, StoreResult, Used,
};
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

/// `value` as an id of type `T`, which must parse.
macro_rules! id_helpers {
    ($($parse:ident, $unique:ident, $type:ty, $prefix:literal;)*) => {$(
        #[doc = concat!("`value` as a [`", stringify!($type), "`].")]
        pub fn $parse(value: &str) -> $type {
            <$type>::parse(value).unwrap()
        }
        #[doc = concat!("A [`", stringify!($type), "`] no other test uses.")]
        pub fn $unique() -> $type {
            $parse(&unique($prefix))
        }
    )*};
}

id_helpers! {
    uid, unique_user, UserId, "user";
    oid, unique_org, OrgId, "org";
    fid, unique_factor, FactorId, "fac";
    lid, unique_login, LoginId, "lgn";
    cid, unique_challenge, ChallengeId, "chl";
}

/// A new pending TOTP factor of `user`.
pub fn pending_totp(user: &UserId, created_at: u64) -> Factor {
    Factor {
        id: unique_factor(),
        user: user.clone(),
        status: FactorStatus::Pending,
        label: Some("Authenticator".to_owned()),
        created_at,
        activated_at: None,
        enrolled_with_step_up: true,
        method: Method::Totp { secret: "v1:test-key:c2VhbGVk".to_owned(), last_step: None },
    }
}

/// An activation at `now` with TOTP step `step` (if any) that leaves the recovery set as it is.
pub fn plain(step: Option<u64>, now: u64) -> Activation<'static> {
    Activation {
        step,
        key: None,
        recovery: RecoveryWrite::Keep,
        challenge: None,
        max_active: None,
        now,
    }
}

/// A new pending SMS factor of `user` on `phone`.
pub fn pending_sms(user: &UserId, phone: &str, created_at: u64) -> Factor {
    Factor {
        label: Some("Phone".to_owned()),
        method: Method::Sms { phone: phone.to_owned(), activation: Some(unique_challenge()) },
        ..pending_totp(user, created_at)
    }
}

/// A new set of `count` (fake) code hashes, none used.
pub fn recovery_set(count: u32) -> RecoverySet {
    RecoverySet {
        id: unique("rcs"),
        hashes: (0..count)
            .map(|i| format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ${i:022}"))
            .collect(),
        used: Vec::new(),
        created_at: NOW,
    }
}

/// A TOTP factor's last step.
pub fn last_step(factor: &Factor) -> Option<u64> {
    match factor.method {
        Method::Totp { last_step, .. } => last_step,
        _ => None,
    }
}

/// An SMS factor's number.
pub fn phone(factor: &Factor) -> Option<&str> {
    match &factor.method {
        Method::Sms { phone, .. } => Some(phone),
        _ => None,
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

/// A stored TOTP sign-in challenge of `factor`, unanswered.
pub async fn stored_app_challenge<S: TestStore>(
    store: &S,
    user: &UserId,
    factor: &FactorId,
) -> Challenge {
    let challenge = Challenge {
        id: unique_challenge(),
        user: user.clone(),
        factor_id: factor.clone(),
        created_at: NOW,
        expires_at: NOW + 300,
        consumed_at: None,
        purpose: ChallengePurpose::Login { login_id: unique_login(), token_ttl: None },
        answer: Answer::AppCode { secret: None },
        attempts: 0,
        factor_kind: None,
    };
    store.insert_challenge(&challenge).await.unwrap();
    challenge
}

/// Uses TOTP step `step` of `factor` as a verify does: a new challenge of it answered with
/// [`mfa_service::ports::AttemptStore::pass_attempt`] on the count read. `false` when the
/// factor refused the step (inactive, missing, or not newer than its last one).
pub async fn use_step<S: TestStore>(
    store: &S,
    user: &UserId,
    factor: &FactorId,
    step: u64,
) -> StoreResult<bool> {
    let challenge = stored_app_challenge(store, user, factor).await;
    let seen = store.failures(user, Budget::SecondFactor).await?;
    let used = Used::Challenge {
        id: &challenge.id,
        factor,
        step: Some(step),
        max_attempts: None,
        now: NOW,
    };
    let pass = Pass { user, budget: Budget::SecondFactor, seen, used, event: None };
    Ok(match store.pass_attempt(&pass).await? {
        Passed::Yes => true,
        Passed::FactorRefused => false,
        other => panic!("a step of a fresh challenge: {other:?}"),
    })
}

/// Uses code `index` of the recovery set `set` as a verify does
/// ([`mfa_service::ports::AttemptStore::pass_attempt`] on the count read): whether it passed.
pub async fn use_recovery_code<S: TestStore>(
    store: &S,
    user: &UserId,
    set: &str,
    index: u32,
) -> StoreResult<bool> {
    let seen = store.failures(user, Budget::RecoveryCodes).await?;
    let used = Used::RecoveryCode { set, index };
    let pass = Pass { user, budget: Budget::RecoveryCodes, seen, used, event: None };
    Ok(match store.pass_attempt(&pass).await? {
        Passed::Yes => true,
        Passed::AlreadyUsed => false,
        other => panic!("a recovery code: {other:?}"),
    })
}

/// Counts one message against `limits` alone: `Some(i)` when `limits[i]` was full.
pub async fn take_sends<S: TestStore>(
    store: &S,
    limits: &[SendLimit],
    now: u64,
) -> StoreResult<Option<usize>> {
    Ok(match store.take_sends(&Sending::counted(limits), now).await? {
        None => None,
        Some(SendRefused::Full(i)) => Some(i),
        Some(other) => panic!("a count alone: {other:?}"),
    })
}

/// Takes the login's one text (or call) with nothing else written: whether it was free.
pub async fn take_login_message<S: TestStore>(
    store: &S,
    login: &LoginId,
    by: Delivery,
) -> StoreResult<bool> {
    let sending = Sending { login_message: Some((login, by)), ..Sending::counted(&[]) };
    Ok(match store.take_sends(&sending, NOW).await? {
        None => true,
        Some(SendRefused::LoginHadMessage) => false,
        Some(other) => panic!("a login's message alone: {other:?}"),
    })
}

/// A new login of `user`, ten minutes long, that has had no text or call.
pub fn new_login(user: &UserId) -> Login {
    Login {
        id: unique_login(),
        user: user.clone(),
        created_at: NOW,
        expires_at: NOW + 600,
        sms_sent: false,
        call_made: false,
        allowed_factors: None,
        token_ttl: None,
    }
}
