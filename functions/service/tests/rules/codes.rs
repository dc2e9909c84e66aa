//! The life of a code: how long it is accepted after it was sent (or, for the app, after its
//! challenge began), how many attempts it takes, and (for the app) that its secret serves its
//! own factor alone.
//!
//! Each lifetime `L` is taken as the README states it and checked at its edge: answered `L - 1`
//! seconds after it began, the code passes; answered `L` seconds after, it is refused as expired
//! (a code "valid 5 minutes" is no longer valid once 5 minutes have passed, as a JWT's `exp`).

use mfa_service::domain::{Error, Proof, StepUpFor};
use mfa_service::ids::ChallengeId;
use mfa_service::model::{
    Answer, AuthMethod, Challenge, ChallengePurpose, Factor, FactorStatus, Method, Operation,
};

use crate::harness::{assert_rejected, Channel, Harness, Member};
use crate::lockout::FIRST_LOCK;
use crate::manage::to_remove;

/// How long a challenge's code lives, as the README says.
fn lifetime(channel: Channel) -> u64 {
    match channel {
        // README, "The SMS program": "Codes: 6 digits, valid 5 minutes by text or call and 10 by
        // email, at most 5 attempts each".
        Channel::Text | Channel::Call => 5 * 60,
        Channel::Email => 10 * 60,
        // README, "Configuration": "`MFA_CHALLENGE_TTL_SECONDS` | `300` | TOTP challenge
        // lifetime (SMS codes live 5 minutes, email codes 10)".
        Channel::App => 300,
    }
}

/// README, "The SMS program": "at most 5 attempts each".
const ATTEMPTS: u32 = 5;

/// A sign-in's code of `channel` passes one second before its lifetime ends and is refused once
/// it has.
pub async fn a_code_lives_as_long_as_the_readme_says(h: &Harness, channel: Channel) {
    let member = h.member().await;
    let lifetime = lifetime(channel);
    let inside = h.challenge(&member, channel).await;
    h.advance(lifetime - 1);
    h.answer(&member, &inside).await.unwrap();
    let outside = h.challenge(&member, channel).await;
    h.advance(lifetime);
    let late = h.answer(&member, &outside).await;
    assert!(matches!(late, Err(Error::Expired(_))), "{late:?}");
}

/// A sent code takes 5 attempts: the right code as the 5th passes; after 5 wrong ones, the right
/// code is refused on that challenge even once the lock those 5 failures brought is over (so it
/// is the code's attempts, not the account's lock, that refuse it).
pub async fn a_code_takes_at_most_5_attempts(h: &Harness, channel: Channel) {
    let member = h.member().await;
    let challenge = h.challenge(&member, channel).await;
    for _ in 1..ATTEMPTS {
        assert_rejected(h.answer_wrong(&member, &challenge).await);
    }
    h.answer(&member, &challenge).await.unwrap();
    let challenge = h.challenge(&member, channel).await;
    for _ in 0..ATTEMPTS {
        assert_rejected(h.answer_wrong(&member, &challenge).await);
    }
    h.advance(FIRST_LOCK);
    let sixth = h.answer(&member, &challenge).await;
    assert!(matches!(sixth, Err(Error::Conflict(_))), "{sixth:?}");
}

/// An app's sealed secret is bound to its user and factor (docs/architecture.md: "AAD = user and
/// factor"): copied into another user's app factor, it opens for no one, and the code of the
/// app it came from signs no one in there.
pub async fn an_app_secret_is_bound_to_its_factor(h: &Harness) {
    let (ada, bob) = (h.member().await, h.member().await);
    let sealed_of = |factor: &Factor| match &factor.method {
        Method::Totp { secret, .. } => secret.clone(),
        other => panic!("not an app: {other:?}"),
    };
    let (adas, bobs) = (app_factor(h, &ada).await, app_factor(h, &bob).await);
    let mut moved = bobs.clone();
    if let Method::Totp { secret, .. } = &mut moved.method {
        *secret = sealed_of(&adas);
    }
    assert!(h.store.delete_factor(&bob.user, &bobs.id, FactorStatus::Active).await.unwrap());
    h.store.insert_factor(&moved).await.unwrap();
    let challenge = h.challenge(&bob, Channel::App).await;
    let answer = h.mfa.verify(&bob.user, &challenge.id, &h.app_code(&ada)).await;
    assert!(matches!(answer, Err(Error::Internal(_))), "{answer:?}");
}

/// The member's app factor as stored.
async fn app_factor(h: &Harness, member: &Member) -> Factor {
    h.store.get_factor(&member.user, member.factor(Channel::App)).await.unwrap().unwrap()
}

/// A challenge is answered only by its own user and for its own purpose: a step-up's code is no
/// sign-in (verifying it is refused as no such challenge, and the step-up still finishes with
/// it), and another user can't answer a member's sign-in challenge, even with its right code.
pub async fn a_challenge_answers_only_its_user_and_purpose(h: &Harness) {
    let (member, other) = (h.member().await, h.member().await);
    let wanted = StepUpFor { operation: Operation::AddFactor, target: None };
    let by_email = member.factor(Channel::Email);
    let started = h.mfa.start_step_up(&member.user, wanted, by_email, None).await.unwrap();
    let code = Proof::Code(h.last_code_to(member.email_address()));
    let as_sign_in = h.mfa.verify(&member.user, &started.challenge_id, &code).await;
    assert!(matches!(as_sign_in, Err(Error::NotFound(_))), "{as_sign_in:?}");
    h.mfa.finish_step_up(&member.user, &started.challenge_id, &code).await.unwrap();

    let challenge = h.challenge(&member, Channel::Email).await;
    let by_other = h.mfa.verify(&other.user, &challenge.id, &h.right_code(&challenge)).await;
    assert!(matches!(by_other, Err(Error::NotFound(_))), "{by_other:?}");
    h.answer(&member, &challenge).await.unwrap();
}

/// A sign-in challenge of an app as releases before this one stored it, without its factor's
/// kind and sealed secret (docs/architecture.md, the challenge item: `factor_kind` and the
/// secret are absent), is still answered after an upgrade: the factor is read for them, so the
/// app's right code signs in and a wrong one is refused.
pub async fn a_challenge_stored_without_its_factor_is_answered(h: &Harness) {
    let member = h.member().await;
    let stored_before = || async {
        let login = h.mfa.login(&member.user, AuthMethod::Password, None).await.unwrap().login_id;
        let challenge = Challenge {
            id: ChallengeId::generate(&mut rand_core::OsRng),
            user: member.user.clone(),
            factor_id: member.factor(Channel::App).clone(),
            created_at: h.now(),
            expires_at: h.now() + 300,
            consumed_at: None,
            purpose: ChallengePurpose::Login { login_id: login, token_ttl: None },
            answer: Answer::AppCode { secret: None },
            attempts: 0,
            factor_kind: None,
        };
        h.store.insert_challenge(&challenge).await.unwrap();
        challenge.id
    };
    let (first, second) = (stored_before().await, stored_before().await);
    let wrong = Proof::Code("000000".into());
    assert_rejected(h.mfa.verify(&member.user, &first, &wrong).await);
    let right = h.mfa.verify(&member.user, &second, &h.app_code(&member)).await;
    let claims = mfa_e2e::jwt_claims(&right.unwrap().token);
    assert_eq!(claims["fid"], member.factor(Channel::App).as_str(), "{claims}");
}

/// "A code works once: the same code again is refused" (README): an app's code that signed in
/// is refused on the next challenge within its time step, as a wrong code.
pub async fn an_app_code_works_once(h: &Harness) {
    let member = h.member().await;
    let code = h.app_code(&member);
    let first = h.challenge(&member, Channel::App).await;
    h.mfa.verify(&member.user, &first.id, &code).await.unwrap();
    let second = h.challenge(&member, Channel::App).await;
    assert_rejected(h.mfa.verify(&member.user, &second.id, &code).await);
}

/// A code sent for a factor that is removed before the code is answered signs no one in: its
/// right code is refused, as its factor is not found.
pub async fn a_sent_code_of_a_removed_factor_is_refused(h: &Harness) {
    let member = h.member().await;
    let challenge = h.challenge(&member, Channel::Email).await;
    let code = h.right_code(&challenge);
    let token = to_remove(h, &member, Channel::Email).await;
    h.mfa.delete(&member.user, member.factor(Channel::Email), Some(&token)).await.unwrap();
    let answer = h.mfa.verify(&member.user, &challenge.id, &code).await;
    assert!(matches!(answer, Err(Error::NotFound(_))), "{answer:?}");
}

/// Codes that can't be a code: README, "The SMS program": "Codes: 6 digits".
const NOT_CODES: [&str; 5] = ["12345", "1234567", "12a456", "", "123 45"];

/// A code that is not 6 digits is refused with 400 before it costs one of the challenge's 5
/// attempts or counts towards the lockout (README, "The SMS program"): after more such codes
/// than a challenge has attempts, its right code still signs in; and so for an activation.
pub async fn a_code_not_of_6_digits_costs_nothing(h: &Harness, channel: Channel) {
    let member = h.member().await;
    let challenge = h.challenge(&member, channel).await;
    for code in NOT_CODES.iter().chain(&NOT_CODES) {
        let answer =
            h.mfa.verify(&member.user, &challenge.id, &Proof::Code(code.to_string())).await;
        assert!(matches!(answer, Err(Error::BadRequest(_))), "{code:?}: {answer:?}");
    }
    h.answer(&member, &challenge).await.unwrap();

    let token = h.step_up(&member, Operation::AddFactor).await;
    let phone = mfa_e2e::unique_phone();
    let pending = h.enroll(&member.user, channel, &phone, Some(&token)).await.unwrap();
    for code in NOT_CODES.iter().chain(&NOT_CODES) {
        let proof = Proof::Code(code.to_string());
        let answer = h.mfa.activate(&member.user, &pending.id, &proof).await;
        assert!(matches!(answer, Err(Error::BadRequest(_))), "{code:?}: {answer:?}");
    }
    h.activate(&member.user, &pending, true).await.unwrap();
}
