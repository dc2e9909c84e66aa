//! Step-up tokens, as the README's "Step-up" states them: a step-up token "is good for that one
//! change of that one user, for 5 minutes, once". Each is used here to add a factor (an app)
//! next to the member's active ones, which needs a token for `add_factor`.
//!
//! "For 5 minutes" is checked at its edge: used 299 s after it was issued the token works, used
//! 300 s after it is refused (as a JWT whose `exp` has come).

use mfa_service::model::Operation;

use crate::harness::{assert_step_up_required, Harness};

/// "good for ... 5 minutes".
const LIFETIME: u64 = 5 * 60;

/// A token works 299 s after it was issued and is refused at 300 s.
pub async fn a_step_up_token_is_good_for_5_minutes(h: &Harness) {
    let member = h.member().await;
    let inside = h.step_up(&member, Operation::AddFactor).await;
    h.advance(LIFETIME - 1);
    h.add_app(&member, &inside).await.unwrap();
    let outside = h.step_up(&member, Operation::AddFactor).await;
    h.advance(LIFETIME);
    assert_step_up_required(h.add_app(&member, &outside).await);
}

/// Another user's token is refused, whether a factor or a recovery code earned it (a token
/// earned with a recovery code names no factor that only its user holds); its own user can still
/// use it.
pub async fn a_step_up_token_is_good_for_its_user_alone(h: &Harness) {
    let (ada, bob) = (h.member().await, h.member().await);
    let by_factor = h.step_up(&bob, Operation::AddFactor).await;
    let used =
        h.mfa.verify_recovery(&bob.user, &bob.recovery_codes[0], None, Some(Operation::AddFactor));
    let by_recovery_code = used.await.unwrap().step_up.unwrap().token;
    for token in [by_factor, by_recovery_code] {
        assert_step_up_required(h.add_app(&ada, &token).await);
        h.add_app(&bob, &token).await.unwrap();
    }
}

/// A token works once.
pub async fn a_step_up_token_is_good_once(h: &Harness) {
    let member = h.member().await;
    let token = h.step_up(&member, Operation::AddFactor).await;
    h.add_app(&member, &token).await.unwrap();
    assert_step_up_required(h.add_app(&member, &token).await);
}
