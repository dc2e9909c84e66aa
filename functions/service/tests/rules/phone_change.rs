//! Changing an SMS factor's number, as the README's route table states it: `POST
//! /v1/users/{user}/factors/{id}/phone-change` takes a step-up token "`change_phone` of this
//! factor, proved by a code to the OLD number", then "a code goes to the new number". The factor
//! switches only for that code: a wrong one is refused and leaves the old number in place, and the
//! right one moves the factor (and its sign-in texts) to the new number.

use mfa_service::domain::answers::PhoneChange;
use mfa_service::domain::Error;
use mfa_service::model::Method;

use crate::harness::{assert_rejected, Channel, Harness, Member};

/// The number of the member's SMS factor, as the domain lists it.
async fn number_of(h: &Harness, member: &Member) -> String {
    let factors = h.mfa.list(&member.user).await.unwrap();
    let factor = factors.iter().find(|f| &f.id == member.factor(Channel::Text)).unwrap();
    match &factor.method {
        Method::Sms { phone, .. } => phone.clone(),
        other => panic!("not an SMS factor: {other:?}"),
    }
}

/// A wrong code from the new number is refused and changes nothing; the right one switches the
/// factor to the new number.
pub async fn a_new_number_takes_effect_only_with_its_code(h: &Harness) {
    let member = h.member().await;
    let (token, old) = h.step_up_for_phone_change(&member).await;
    let new = mfa_e2e::unique_phone();
    let factor = member.factor(Channel::Text);
    let started = h.mfa.start_phone_change(&member.user, factor, &new, Some(&token)).await;
    let PhoneChange::VerifyNewNumber { challenge_id, .. } = started.unwrap() else {
        panic!("a code goes to the new number first")
    };
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
