//! The lockout, as the README's "HTTP API v1" states it: "5 consecutive failures lock the user's
//! second factor for 30 s, doubling with each further failure up to an hour, and 100 block it
//! until an admin unlocks it (a new challenge does not reset the count; a success does).
//! Recovery codes have a failure budget of their own, on the same schedule: failed guesses at the
//! second factor (by someone who has the password) don't lock the owner out of their recovery
//! codes, and failed recovery codes don't lock the second factor."
//!
//! Every kind of failed code counts: a sign-in's text, email or app code, and an activation
//! code. Whether the second factor is locked is asked by a whole sign-in by email with the right
//! code. A lock of `L` seconds after a failure at `t` refuses at `t + L - 1` and lets through at
//! `t + L`.

use mfa_service::domain::Error;
use mfa_service::model::Operation;

use crate::harness::{assert_locked_until, assert_rejected, Channel, Harness, Member};

/// Failures that cost nothing; the next one locks.
pub const LOCKING_FAILURES: u32 = 5;
/// The lock after the 5th failure, in seconds.
pub const FIRST_LOCK: u64 = 30;
/// The longest lock ("up to an hour").
const LONGEST_LOCK: u64 = 60 * 60;
/// Failures that block until an admin unlocks.
const BLOCKING_FAILURES: u32 = 100;

/// A well-formed recovery code that is no one's (its 16 characters come from the codes'
/// alphabet; a set's 10 codes of 80 bits each won't hold it).
const WRONG_RECOVERY_CODE: &str = "0000-0000-0000-0000";

/// A way to fail at the second factor.
#[derive(Debug, Clone, Copy)]
pub enum Failing {
    /// A wrong code for a new sign-in challenge of the member's factor of the channel.
    SignIn(Channel),
    /// A wrong code activating a new factor of the channel, enrolled with a step-up.
    Activation(Channel),
}

/// Makes `n` failed attempts of `failing` now (for a sent code, at most its 5 attempts), each
/// refused as a wrong code.
pub async fn fail(h: &Harness, member: &Member, failing: Failing, n: u32) {
    match failing {
        Failing::SignIn(channel) => {
            let challenge = h.challenge(member, channel).await;
            for _ in 0..n {
                assert_rejected(h.answer_wrong(member, &challenge).await);
            }
        }
        Failing::Activation(channel) => {
            let to = match channel {
                Channel::Email => format!("new.{}@acme.test", member.user),
                _ => mfa_e2e::unique_phone(),
            };
            let token = h.step_up(member, Operation::AddFactor).await;
            let pending = h.enroll(&member.user, channel, &to, Some(&token)).await.unwrap();
            for _ in 0..n {
                assert_rejected(h.activate(&member.user, &pending, false).await);
            }
        }
    }
}

/// Whether the member's second factor is open: a sign-in by email with the right code.
async fn sign_in(h: &Harness, member: &Member) -> Result<(), Error> {
    h.sign_in(member, Channel::Email).await.map(drop)
}

/// 4 failures of `failing` leave the second factor open; 5 lock it for 30 s.
pub async fn failures_count_towards_the_lockout(h: &Harness, failing: Failing) {
    let open = h.member().await;
    fail(h, &open, failing, LOCKING_FAILURES - 1).await;
    sign_in(h, &open).await.unwrap();
    let locked = h.member().await;
    fail(h, &locked, failing, LOCKING_FAILURES).await;
    assert_locked_until(sign_in(h, &locked).await, h.now() + FIRST_LOCK);
}

/// 4 failures, a success, 4 failures: open. 4 failures, a new challenge, 1 failure: locked.
pub async fn a_success_resets_the_count_and_a_new_challenge_does_not(h: &Harness) {
    let failing = Failing::SignIn(Channel::Text);
    let reset = h.member().await;
    fail(h, &reset, failing, LOCKING_FAILURES - 1).await;
    sign_in(h, &reset).await.unwrap();
    fail(h, &reset, failing, LOCKING_FAILURES - 1).await;
    sign_in(h, &reset).await.unwrap();
    let counted = h.member().await;
    fail(h, &counted, failing, LOCKING_FAILURES - 1).await;
    fail(h, &counted, failing, 1).await;
    assert_locked_until(sign_in(h, &counted).await, h.now() + FIRST_LOCK);
}

/// The 5th failure locks for 30 s; a 6th, once that is over, for 60 s.
pub async fn the_lock_lasts_30_s_and_doubles_with_the_next_failure(h: &Harness) {
    let failing = Failing::SignIn(Channel::App);
    let first = h.member().await;
    fail(h, &first, failing, LOCKING_FAILURES).await;
    let until = h.now() + FIRST_LOCK;
    h.advance(FIRST_LOCK - 1);
    assert_locked_until(sign_in(h, &first).await, until);
    h.advance(1);
    sign_in(h, &first).await.unwrap();

    let doubled = h.member().await;
    fail(h, &doubled, failing, LOCKING_FAILURES).await;
    h.advance(FIRST_LOCK);
    fail(h, &doubled, failing, 1).await;
    let until = h.now() + 2 * FIRST_LOCK;
    h.advance(2 * FIRST_LOCK - 1);
    assert_locked_until(sign_in(h, &doubled).await, until);
    h.advance(1);
    sign_in(h, &doubled).await.unwrap();
}

/// Up to the 99th failure each lock ends within the hour (the 100th is counted an hour after
/// the 99th); the 100th blocks, a year on still, until an admin unlocks the user, who then
/// signs in.
pub async fn a_hundred_failures_block_until_an_admin_unlocks(h: &Harness) {
    let failing = Failing::SignIn(Channel::App);
    let member = h.member().await;
    fail(h, &member, failing, LOCKING_FAILURES).await;
    for _ in LOCKING_FAILURES..BLOCKING_FAILURES {
        h.advance(LONGEST_LOCK);
        fail(h, &member, failing, 1).await;
    }
    h.advance(365 * 24 * 60 * 60);
    // The domain's lock that no time ends: `u64::MAX`.
    assert_locked_until(sign_in(h, &member).await, u64::MAX);
    // What `POST /v1/admin/users/{user}/unlock` does.
    h.mfa.admin_unlock(&member.user).await.unwrap();
    sign_in(h, &member).await.unwrap();
}

/// 4 failed recovery codes leave them open; 5 lock the recovery codes for 30 s, and not the
/// second factor.
pub async fn failed_recovery_codes_lock_the_recovery_codes_alone(h: &Harness) {
    let open = h.member().await;
    for _ in 1..LOCKING_FAILURES {
        assert_rejected(h.recover(&open, WRONG_RECOVERY_CODE).await);
    }
    h.recover(&open, &open.recovery_codes[0]).await.unwrap();
    let locked = h.member().await;
    for _ in 0..LOCKING_FAILURES {
        assert_rejected(h.recover(&locked, WRONG_RECOVERY_CODE).await);
    }
    assert_locked_until(h.recover(&locked, &locked.recovery_codes[0]).await, h.now() + FIRST_LOCK);
    sign_in(h, &locked).await.unwrap();
}

/// 5 failed second-factor codes lock the second factor, and not the recovery codes.
pub async fn failed_second_factor_codes_leave_the_recovery_codes_open(h: &Harness) {
    let member = h.member().await;
    fail(h, &member, Failing::SignIn(Channel::App), LOCKING_FAILURES).await;
    assert_locked_until(sign_in(h, &member).await, h.now() + FIRST_LOCK);
    h.recover(&member, &member.recovery_codes[0]).await.unwrap();
}
