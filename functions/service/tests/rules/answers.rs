//! What the domain answers says what it did: an activated factor is answered as active, since
//! the moment of its activation (README, route table: `POST /v1/users/{user}/factors/{id}/activate`
//! "activate"); and a sign-in that already had its text is told which factors it can use instead
//! (README, "The SMS program": "a login gets at most one SMS challenge; asking for another
//! answers 409 `use-another-factor` with the user's other factors": the active ones, since a
//! pending factor can't sign in).

use std::collections::BTreeSet;

use mfa_service::domain::Error;
use mfa_service::model::FactorStatus;

use crate::harness::{Channel, Harness};

/// An activation answers the factor as active since the moment of its activation.
pub async fn an_activation_answers_the_active_factor(h: &Harness) {
    let member = h.member().await;
    let token = h.step_up(&member, mfa_service::model::Operation::AddFactor).await;
    let pending = h.add_app(&member, &token).await.unwrap();
    let activated = h.activate(&member.user, &pending, true).await.unwrap();
    assert_eq!(activated.factor.id, pending.id);
    assert_eq!(activated.factor.status, FactorStatus::Active, "{activated:?}");
    assert_eq!(activated.factor.activated_at, Some(h.now()), "{activated:?}");
}

/// A second text in one sign-in is refused with the user's other active factors: the email
/// factor and the app, not the SMS factor itself.
pub async fn a_second_text_names_the_other_active_factors(h: &Harness) {
    let member = h.member().await;
    let challenge = h.challenge(&member, Channel::Text).await;
    let again = h.try_challenge_in(&member, &challenge.login, Channel::Text).await;
    let Err(Error::UseAnotherFactor { factors, .. }) = again else { panic!("{again:?}") };
    let offered: BTreeSet<_> = factors.iter().map(|f| f.id.clone()).collect();
    let others = BTreeSet::from([
        member.factor(Channel::Email).clone(),
        member.factor(Channel::App).clone(),
    ]);
    assert_eq!(offered, others);
}
