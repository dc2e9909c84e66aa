//! Logins and challenges: inserted once, a challenge answered once and tried at most `max`
//! times, a login's one text message claimed once.

use std::sync::Arc;

use mfa_service::ids::FactorId;
use mfa_service::model::{
    Answer, Challenge, ChallengePurpose, Delivery, FactorKind, Login, Operation,
};
use mfa_service::ports::StoreError;

use crate::support::*;
use crate::TestStore;

/// How many code attempts the attempt tests allow.
const MAX_ATTEMPTS: u32 = 3;

fn challenge(login: &Login) -> Challenge {
    Challenge {
        id: unique_challenge(),
        user: login.user.clone(),
        factor_id: unique_factor(),
        created_at: NOW,
        expires_at: NOW + 300,
        consumed_at: None,
        purpose: ChallengePurpose::Login { login_id: login.id.clone(), token_ttl: None },
        answer: Answer::AppCode { secret: None },
        attempts: 0,
        factor_kind: None,
    }
}

/// A stored challenge of a new login.
async fn stored_challenge<S: TestStore>(store: &S) -> Challenge {
    let challenge = challenge(&new_login(&unique_user()));
    store.insert_challenge(&challenge).await.unwrap();
    challenge
}

/// How many attempts the stored challenge `id` has counted.
async fn attempts<S: TestStore>(store: &S, id: &ChallengeId) -> u32 {
    store.get_challenge(id).await.unwrap().unwrap().attempts
}

pub async fn login_and_challenge_round_trip_and_insert_once<S: TestStore>(store: Arc<S>) {
    let login = new_login(&unique_user());
    store.insert_login(&login).await.unwrap();
    assert_eq!(store.get_login(&login.id).await.unwrap(), Some(login.clone()));
    let again = store.insert_login(&login).await;
    assert!(matches!(again, Err(StoreError::AlreadyExists)), "{again:?}");
    assert_eq!(store.get_login(&lid("lgn_missing")).await.unwrap(), None);

    let challenge = challenge(&login);
    store.insert_challenge(&challenge).await.unwrap();
    assert_eq!(store.get_challenge(&challenge.id).await.unwrap(), Some(challenge.clone()));
    let again = store.insert_challenge(&challenge).await;
    assert!(matches!(again, Err(StoreError::AlreadyExists)), "{again:?}");
    assert_eq!(store.get_challenge(&cid("chl_missing")).await.unwrap(), None);
}

pub async fn login_and_challenge_round_trip_every_field<S: TestStore>(store: Arc<S>) {
    let texted = Login {
        sms_sent: true,
        call_made: false,
        allowed_factors: Some(vec![FactorKind::Totp, FactorKind::Webauthn]),
        token_ttl: Some(120),
        ..new_login(&unique_user())
    };
    let sent = Answer::SentCode {
        hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
    };
    let full = Challenge {
        consumed_at: Some(NOW + 7),
        purpose: ChallengePurpose::PhoneChange { new_phone: unique_phone() },
        answer: sent.clone(),
        attempts: 2,
        ..challenge(&texted)
    };
    let step_up_of = |operation, target: Option<&str>| ChallengePurpose::StepUp {
        operation,
        target: target.map(|t| FactorId::parse(t).unwrap()),
    };
    let purposes =
        [ChallengePurpose::Activation, step_up_of(Operation::DeleteFactor, Some("fac_target"))];
    let others =
        purposes.map(|purpose| Challenge { purpose, answer: sent.clone(), ..challenge(&texted) });
    let login_code = Challenge {
        answer: sent.clone(),
        purpose: ChallengePurpose::Login { login_id: texted.id.clone(), token_ttl: Some(120) },
        ..challenge(&texted)
    };
    // A step-up by an authenticator app: no code stored, the app's code answers.
    let app_step_up = Challenge {
        purpose: step_up_of(Operation::AddFactor, None),
        answer: Answer::AppCode { secret: Some("sealed".into()) },
        factor_kind: Some(FactorKind::Totp),
        ..challenge(&texted)
    };
    store.insert_login(&texted).await.unwrap();
    assert_eq!(store.get_login(&texted.id).await.unwrap(), Some(texted));
    for challenge in [&full, &others[0], &others[1], &login_code, &app_step_up] {
        store.insert_challenge(challenge).await.unwrap();
        assert_eq!(store.get_challenge(&challenge.id).await.unwrap().as_ref(), Some(challenge));
    }
}

pub async fn challenge_is_consumed_once<S: TestStore>(store: Arc<S>) {
    assert!(!store.consume_challenge(&cid("chl_missing"), NOW).await.unwrap());
    assert_eq!(
        store.get_challenge(&cid("chl_missing")).await.unwrap(),
        None,
        "consuming a missing challenge must not create one"
    );

    let challenge = stored_challenge(&*store).await;
    assert!(store.consume_challenge(&challenge.id, NOW + 1).await.unwrap());
    assert!(!store.consume_challenge(&challenge.id, NOW + 2).await.unwrap());
    let stored = store.get_challenge(&challenge.id).await.unwrap().unwrap();
    assert_eq!(stored.consumed_at, Some(NOW + 1));
    assert_eq!(Challenge { consumed_at: None, ..stored }, challenge);
}

pub async fn challenge_is_consumed_once_under_concurrency<S: TestStore>(store: Arc<S>) {
    let challenge = stored_challenge(&*store).await;
    let answers = concurrently(&store, RACERS, |store| {
        let id = challenge.id.clone();
        async move { store.consume_challenge(&id, NOW).await }
    })
    .await;
    assert_eq!(winners(answers), 1);
}

pub async fn challenge_attempts_stop_at_max<S: TestStore>(store: Arc<S>) {
    assert!(!store.record_challenge_attempt(&cid("chl_missing"), MAX_ATTEMPTS).await.unwrap());
    assert_eq!(
        store.get_challenge(&cid("chl_missing")).await.unwrap(),
        None,
        "counting an attempt on a missing challenge must not create one"
    );

    let challenge = stored_challenge(&*store).await;
    for count in 1..=MAX_ATTEMPTS {
        assert!(store.record_challenge_attempt(&challenge.id, MAX_ATTEMPTS).await.unwrap());
        assert_eq!(attempts(&*store, &challenge.id).await, count);
    }
    assert!(!store.record_challenge_attempt(&challenge.id, MAX_ATTEMPTS).await.unwrap());
    assert!(!store.record_challenge_attempt(&challenge.id, MAX_ATTEMPTS).await.unwrap());
    assert!(!store.record_challenge_attempt(&challenge.id, 1).await.unwrap());
    assert_eq!(attempts(&*store, &challenge.id).await, MAX_ATTEMPTS, "refusals are not counted");

    // The count is kept, not a flag: a caller allowing more gets exactly the difference.
    assert!(store.record_challenge_attempt(&challenge.id, MAX_ATTEMPTS + 1).await.unwrap());
    assert!(!store.record_challenge_attempt(&challenge.id, MAX_ATTEMPTS + 1).await.unwrap());
    let stored = store.get_challenge(&challenge.id).await.unwrap().unwrap();
    assert_eq!(stored, Challenge { attempts: MAX_ATTEMPTS + 1, ..challenge });

    let fresh = stored_challenge(&*store).await;
    assert!(!store.record_challenge_attempt(&fresh.id, 0).await.unwrap(), "max 0 allows none");
    assert_eq!(attempts(&*store, &fresh.id).await, 0);
}

pub async fn challenge_attempts_end_when_consumed<S: TestStore>(store: Arc<S>) {
    let challenge = stored_challenge(&*store).await;
    assert!(store.record_challenge_attempt(&challenge.id, MAX_ATTEMPTS).await.unwrap());
    assert!(store.consume_challenge(&challenge.id, NOW + 1).await.unwrap());
    assert!(!store.record_challenge_attempt(&challenge.id, MAX_ATTEMPTS).await.unwrap());
    let stored = store.get_challenge(&challenge.id).await.unwrap().unwrap();
    assert_eq!((stored.attempts, stored.consumed_at), (1, Some(NOW + 1)));
}

pub async fn challenge_attempts_never_exceed_max_under_concurrency<S: TestStore>(store: Arc<S>) {
    let challenge = stored_challenge(&*store).await;
    let answers = concurrently(&store, RACERS, |store| {
        let id = challenge.id.clone();
        async move { store.record_challenge_attempt(&id, MAX_ATTEMPTS).await }
    })
    .await;
    assert_eq!(winners(answers), MAX_ATTEMPTS as usize);
    assert_eq!(attempts(&*store, &challenge.id).await, MAX_ATTEMPTS);
}

pub async fn login_sms_is_taken_once<S: TestStore>(store: Arc<S>) {
    assert!(!take_login_message(&*store, &lid("lgn_missing"), Delivery::Sms).await.unwrap());
    assert_eq!(
        store.get_login(&lid("lgn_missing")).await.unwrap(),
        None,
        "claiming a missing login's message must not create the login"
    );

    let user = unique_user();
    let (first, other) = (new_login(&user), new_login(&user));
    store.insert_login(&first).await.unwrap();
    store.insert_login(&other).await.unwrap();
    assert!(take_login_message(&*store, &first.id, Delivery::Sms).await.unwrap());
    assert!(!take_login_message(&*store, &first.id, Delivery::Sms).await.unwrap());
    let stored = store.get_login(&first.id).await.unwrap();
    assert_eq!(stored, Some(Login { sms_sent: true, ..first }));
    assert_eq!(store.get_login(&other.id).await.unwrap(), Some(other.clone()));
    assert!(
        take_login_message(&*store, &other.id, Delivery::Sms).await.unwrap(),
        "each login has its own message"
    );
}

pub async fn a_login_has_one_text_and_one_call<S: TestStore>(store: Arc<S>) {
    let login = new_login(&unique_user());
    store.insert_login(&login).await.unwrap();
    assert!(take_login_message(&*store, &login.id, Delivery::Sms).await.unwrap());
    assert!(take_login_message(&*store, &login.id, Delivery::Voice).await.unwrap(), "a call too");
    assert!(!take_login_message(&*store, &login.id, Delivery::Voice).await.unwrap(), "one call");
    assert!(!take_login_message(&*store, &login.id, Delivery::Sms).await.unwrap());
    let stored = store.get_login(&login.id).await.unwrap().unwrap();
    assert!(stored.sms_sent && stored.call_made);
    store.return_login_message(&login.id, Delivery::Voice).await.unwrap();
    let stored = store.get_login(&login.id).await.unwrap().unwrap();
    assert!(stored.sms_sent && !stored.call_made, "giving the call back keeps the text taken");
    assert!(!take_login_message(&*store, &login.id, Delivery::Sms).await.unwrap());
    assert!(take_login_message(&*store, &login.id, Delivery::Voice).await.unwrap());
}

pub async fn login_sms_given_back_can_be_taken_again<S: TestStore>(store: Arc<S>) {
    store.return_login_message(&lid("lgn_missing"), Delivery::Sms).await.unwrap();
    assert_eq!(store.get_login(&lid("lgn_missing")).await.unwrap(), None, "no login is created");

    let login = new_login(&unique_user());
    store.insert_login(&login).await.unwrap();
    store.return_login_message(&login.id, Delivery::Sms).await.unwrap();
    assert_eq!(store.get_login(&login.id).await.unwrap(), Some(login.clone()), "untaken: kept");
    assert!(take_login_message(&*store, &login.id, Delivery::Sms).await.unwrap());
    store.return_login_message(&login.id, Delivery::Sms).await.unwrap();
    assert_eq!(store.get_login(&login.id).await.unwrap(), Some(login.clone()));
    assert!(
        take_login_message(&*store, &login.id, Delivery::Sms).await.unwrap(),
        "given back: taken again"
    );
    assert!(!take_login_message(&*store, &login.id, Delivery::Sms).await.unwrap());
}

pub async fn login_sms_is_taken_once_under_concurrency<S: TestStore>(store: Arc<S>) {
    let login = new_login(&unique_user());
    store.insert_login(&login).await.unwrap();
    let answers = concurrently(&store, RACERS, |store| {
        let id = login.id.clone();
        async move { take_login_message(&*store, &id, Delivery::Sms).await }
    })
    .await;
    assert_eq!(winners(answers), 1);
}

pub async fn step_up_token_is_taken_once<S: TestStore>(store: Arc<S>) {
    let jti = format!("jti_{}", unique_user());
    assert!(store.take_step_up(&jti, NOW + 300).await.unwrap());
    assert!(!store.take_step_up(&jti, NOW + 300).await.unwrap());
    assert!(store.take_step_up(&format!("{jti}x"), NOW + 300).await.unwrap(), "another token");
}

pub async fn step_up_token_is_taken_once_under_concurrency<S: TestStore>(store: Arc<S>) {
    let jti = format!("jti_{}", unique_user());
    let taken = concurrently(&store, RACERS, |store| {
        let jti = jti.clone();
        async move { store.take_step_up(&jti, NOW + 300).await.unwrap() }
    })
    .await;
    assert_eq!(taken.iter().filter(|t| **t).count(), 1, "{taken:?}");
}
