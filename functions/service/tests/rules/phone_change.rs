//! Changing an SMS factor's number, as the README's route table states it: `POST
//! /v1/users/{user}/factors/{id}/phone-change` takes a step-up token "`change_phone` of this
//! factor, proved by a code to the OLD number", then "a code goes to the new number". The factor
//! switches only for that code: a wrong one is refused and leaves the old number in place, and the
//! right one moves the factor (and its sign-in texts) to the new number. The old number is told
//! by text (README, "Notices": "a phone number changes (the old number gets a text too)"), unless
//! it replied STOP ("no code goes to a number that replied STOP"; a notice neither).

use mfa_service::domain::answers::PhoneChange;
use mfa_service::domain::Error;
use mfa_service::ids::{ChallengeId, FactorId};
use mfa_service::model::{Method, Operation};

use crate::harness::{assert_rejected, Channel, Harness, Member};

/// The number of the member's SMS factor, as the domain lists it.
async fn number_of(h: &Harness, member: &Member) -> String {
    number_of_factor(h, member, member.factor(Channel::Text)).await
}

/// The number of the member's SMS factor `id`, as the domain lists it.
async fn number_of_factor(h: &Harness, member: &Member, id: &FactorId) -> String {
    let factors = h.mfa.list(&member.user).await.unwrap();
    let factor = factors.iter().find(|f| &f.id == id).unwrap();
    match &factor.method {
        Method::Sms { phone, .. } => phone.clone(),
        other => panic!("not an SMS factor: {other:?}"),
    }
}

/// Starts changing the number of the member's SMS factor to a new one with the step-up `token`:
/// the new number, and the change's challenge, whose code went to it.
async fn start_change(h: &Harness, member: &Member, token: &str) -> (String, ChallengeId) {
    let new = mfa_e2e::unique_phone();
    let factor = member.factor(Channel::Text);
    let started = h.mfa.start_phone_change(&member.user, factor, &new, Some(token)).await;
    let PhoneChange::VerifyNewNumber { challenge_id, .. } = started.unwrap() else {
        panic!("a code goes to the new number first")
    };
    (new, challenge_id)
}

/// A wrong code from the new number is refused and changes nothing; the right one switches the
/// factor to the new number.
pub async fn a_new_number_takes_effect_only_with_its_code(h: &Harness) {
    let member = h.member().await;
    let (token, old) = h.step_up_for_phone_change(&member, Channel::Text).await;
    let factor = member.factor(Channel::Text);
    let (new, challenge_id) = start_change(h, &member, &token).await;
    let sent = h.last_code_to(&new);
    let wrong = if sent == "000000" { "000001" } else { "000000" };

    let refused = h.mfa.continue_phone_change(&member.user, factor, &challenge_id, wrong).await;
    assert_rejected(refused);
    assert_eq!(number_of(h, &member).await, old, "a wrong code changed the number");

    let changed = h.mfa.continue_phone_change(&member.user, factor, &challenge_id, &sent).await;
    let Ok(PhoneChange::Changed { factor: answered }) = changed else { panic!("{changed:?}") };
    assert!(matches!(&answered.method, Method::Sms { phone, .. } if phone == &new), "{answered:?}");
    assert_eq!(number_of(h, &member).await, new);
    let again = h.mfa.continue_phone_change(&member.user, factor, &challenge_id, &sent).await;
    assert!(matches!(again, Err(Error::NotFound(_) | Error::Conflict(_))), "{again:?}");
}

/// An old number that replied STOP gets no notice text of the change (it proves the change by a
/// call, which an opt-out from texts leaves open); one that did not gets it.
pub async fn the_old_number_is_told_unless_it_opted_out(h: &Harness) {
    for opted_out in [false, true] {
        let member = h.member().await;
        let factor = member.factor(Channel::Text);
        let (token, old) = h.step_up_for_phone_change(&member, Channel::Call).await;
        if opted_out {
            h.store.opt_out(&old, h.now()).await.unwrap();
        }
        let (new, challenge_id) = start_change(h, &member, &token).await;
        let before = h.sent_to(&old).len();
        let code = h.last_code_to(&new);
        h.mfa.continue_phone_change(&member.user, factor, &challenge_id, &code).await.unwrap();
        let told = h.sent_to(&old).len() - before;
        assert_eq!(told, usize::from(!opted_out), "opted out: {opted_out}: {:?}", h.sent_to(&old));
    }
}

/// A phone change is of "this factor" (README): its code, sent for one SMS factor, does not
/// switch another SMS factor of the same member (which has no step-up of its own for it): that
/// is refused as no such phone change and both numbers stay; the factor it was started for then
/// switches with it.
pub async fn a_phone_change_switches_only_its_own_factor(h: &Harness) {
    let member = h.member().await;
    let token = h.step_up(&member, Operation::AddFactor).await;
    let second_number = mfa_e2e::unique_phone();
    let second = h.enroll(&member.user, Channel::Text, &second_number, Some(&token)).await.unwrap();
    h.activate(&member.user, &second, true).await.unwrap();

    let (token, old) = h.step_up_for_phone_change(&member, Channel::Text).await;
    let factor = member.factor(Channel::Text);
    let (new, challenge_id) = start_change(h, &member, &token).await;
    let code = h.last_code_to(&new);
    let other = h.mfa.continue_phone_change(&member.user, &second.id, &challenge_id, &code).await;
    assert!(matches!(other, Err(Error::NotFound(_))), "{other:?}");
    assert_eq!(number_of_factor(h, &member, &second.id).await, second_number);
    assert_eq!(number_of(h, &member).await, old);

    h.mfa.continue_phone_change(&member.user, factor, &challenge_id, &code).await.unwrap();
    assert_eq!(number_of(h, &member).await, new);
    assert_eq!(number_of_factor(h, &member, &second.id).await, second_number);
}
