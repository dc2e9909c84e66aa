//! The README's sign-in and step-up rules, each at its boundary (just inside passes, just
//! outside is refused), through the real `Mfa` with a clock the test moves: step-up tokens
//! (`step_up`), the lifetime and attempts of codes (`codes`), the lockout and its budgets
//! (`lockout`), what the domain answers (`answers`), a phone change's code to the new number
//! (`phone_change`), removing factors, new recovery codes and an admin's reset and unlock
//! (`manage`), organisations' policies and a sign-in's lifetime (`orgs`), apps' API keys
//! (`keys`), and codes
//! accepted once under concurrent requests (`concurrency`). Expected
//! numbers are the README's, quoted where they are used.
//!
//! Every rule is an `async fn` over a [`Harness`]; the `rules!` macro makes a test of it per
//! store: over the embedded store (run by a plain `cargo test`), and over DynamoDB as moto serves
//! it at `MFA_TEST_DYNAMODB_ENDPOINT`, in a table of its own per test (ignored by a plain
//! `cargo test`; `scripts/test.d/30-dynamodb.sh` starts moto and runs them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod answers;
mod codes;
mod concurrency;
mod harness;
mod keys;
mod lockout;
mod manage;
mod orgs;
mod phone_change;
mod step_up;

use harness::{Channel, Harness};
use lockout::Failing;

/// Expands to a test per rule and store: `name: rule, extra arguments;`.
macro_rules! rules {
    ($($name:ident: $rule:path $(, $arg:expr)*;)*) => {
        mod embedded_store {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let harness = Harness::embedded().await;
                    $rule(&harness $(, $arg)*).await;
                    harness.close().await;
                }
            )*
        }
        mod dynamodb_store {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[ignore = "needs a DynamoDB-compatible server: scripts/test-all.sh starts moto"]
                async fn $name() {
                    let harness = Harness::dynamodb().await;
                    $rule(&harness $(, $arg)*).await;
                    harness.close().await;
                }
            )*
        }
    };
}

rules! {
    step_up_token_good_for_5_minutes: step_up::a_step_up_token_is_good_for_5_minutes;
    step_up_token_of_another_user_refused: step_up::a_step_up_token_is_good_for_its_user_alone;
    step_up_token_good_once: step_up::a_step_up_token_is_good_once;
    step_up_token_dies_with_its_factor: step_up::a_step_up_token_dies_with_its_factor;
    app_step_up_lives_300_s: step_up::an_app_step_up_lives_300_s;
    refused_kind_proves_only_its_removal: step_up::a_refused_kind_proves_only_its_own_removal;

    text_code_lives_5_minutes: codes::a_code_lives_as_long_as_the_readme_says, Channel::Text;
    called_code_lives_5_minutes: codes::a_code_lives_as_long_as_the_readme_says, Channel::Call;
    email_code_lives_10_minutes: codes::a_code_lives_as_long_as_the_readme_says, Channel::Email;
    app_challenge_lives_300_s: codes::a_code_lives_as_long_as_the_readme_says, Channel::App;
    app_secret_bound_to_its_factor: codes::an_app_secret_is_bound_to_its_factor;
    challenge_answers_only_its_user_and_purpose:
        codes::a_challenge_answers_only_its_user_and_purpose;
    challenge_stored_without_its_factor_answered:
        codes::a_challenge_stored_without_its_factor_is_answered;
    app_code_works_once: codes::an_app_code_works_once;
    sent_code_of_a_removed_factor_refused: codes::a_sent_code_of_a_removed_factor_is_refused;
    text_code_takes_5_attempts: codes::a_code_takes_at_most_5_attempts, Channel::Text;
    called_code_takes_5_attempts: codes::a_code_takes_at_most_5_attempts, Channel::Call;
    email_code_takes_5_attempts: codes::a_code_takes_at_most_5_attempts, Channel::Email;
    text_code_not_of_6_digits_costs_nothing:
        codes::a_code_not_of_6_digits_costs_nothing, Channel::Text;
    app_code_not_of_6_digits_costs_nothing:
        codes::a_code_not_of_6_digits_costs_nothing, Channel::App;

    failed_text_codes_lock: lockout::failures_count_towards_the_lockout,
        Failing::SignIn(Channel::Text);
    failed_email_codes_lock: lockout::failures_count_towards_the_lockout,
        Failing::SignIn(Channel::Email);
    failed_app_codes_lock: lockout::failures_count_towards_the_lockout,
        Failing::SignIn(Channel::App);
    failed_text_activation_codes_lock: lockout::failures_count_towards_the_lockout,
        Failing::Activation(Channel::Text);
    failed_email_activation_codes_lock: lockout::failures_count_towards_the_lockout,
        Failing::Activation(Channel::Email);
    failed_app_activation_codes_lock: lockout::failures_count_towards_the_lockout,
        Failing::Activation(Channel::App);
    success_resets_the_count: lockout::a_success_resets_the_count_and_a_new_challenge_does_not;
    lock_lasts_30_s_then_60: lockout::the_lock_lasts_30_s_and_doubles_with_the_next_failure;
    hundred_failures_block_until_unlock: lockout::a_hundred_failures_block_until_an_admin_unlocks;
    recovery_codes_lock_alone: lockout::failed_recovery_codes_lock_the_recovery_codes_alone;
    second_factor_lock_spares_recovery_codes:
        lockout::failed_second_factor_codes_leave_the_recovery_codes_open;

    activation_answers_the_active_factor: answers::an_activation_answers_the_active_factor;
    activation_after_last_recovery_code_brings_a_set:
        answers::an_activation_after_the_last_recovery_code_brings_a_new_set;
    factor_enrolled_before_another_activated_enrolled_again:
        answers::a_factor_enrolled_before_another_was_activated_must_be_enrolled_again;
    second_text_names_the_other_factors: answers::a_second_text_names_the_other_active_factors;
    text_token_says_sms: answers::a_token_says_how_its_factor_was_proved, Channel::Text;
    call_token_says_tel: answers::a_token_says_how_its_factor_was_proved, Channel::Call;
    email_token_says_email: answers::a_token_says_how_its_factor_was_proved, Channel::Email;
    app_token_says_otp: answers::a_token_says_how_its_factor_was_proved, Channel::App;
    recovery_code_token_names_no_factor: answers::a_recovery_code_token_names_no_factor;
    token_verifies_with_the_jwks_key: answers::a_token_verifies_with_the_jwks_key_it_names;
    passkey_sign_in_takes_only_a_passkeys_token:
        answers::a_passkey_sign_in_takes_only_a_passkeys_token;
    new_number_needs_its_code: phone_change::a_new_number_takes_effect_only_with_its_code;
    old_number_told_unless_opted_out: phone_change::the_old_number_is_told_unless_it_opted_out;
    phone_change_switches_only_its_own_factor:
        phone_change::a_phone_change_switches_only_its_own_factor;

    factor_removed_only_with_its_own_step_up:
        manage::an_active_factor_is_removed_only_with_its_own_step_up;
    new_recovery_codes_need_a_factor: manage::new_recovery_codes_need_a_factor_and_end_the_old_set;
    admin_reset_removes_and_clears_failures:
        manage::an_admin_reset_removes_the_factor_and_clears_the_failures;
    admin_unlock_clears_both_lockouts: manage::an_admin_unlock_clears_both_lockouts;

    grace_logins_then_enrollment_required: orgs::an_org_requires_enrollment_after_its_grace_logins;
    sso_exempt_unless_the_org_says_not: orgs::sso_skips_the_second_factor_unless_the_org_says_not;
    mfa_token_counts_within_the_orgs_lifetime:
        orgs::an_mfa_token_counts_while_younger_than_the_orgs_lifetime;
    only_allowed_kinds_sign_in: orgs::only_the_allowed_kinds_sign_in;
    org_caps_the_active_factors: orgs::an_org_caps_the_active_factors;
    senseless_policy_refused: orgs::a_policy_that_makes_no_sense_is_refused;
    at_most_50_orgs: orgs::a_user_belongs_to_at_most_50_orgs;
    login_takes_challenges_until_it_expires: orgs::a_login_takes_challenges_until_it_expires;
    orgs_tokens_live_its_token_ttl: orgs::an_orgs_members_tokens_live_its_token_ttl;

    app_key_opens_until_revoked: keys::an_app_key_opens_with_its_scopes_until_revoked;
    app_key_needs_a_name_and_a_scope: keys::an_app_key_needs_a_name_and_a_scope;

    sent_code_accepted_once_concurrently:
        concurrency::a_sent_code_is_accepted_once_under_concurrent_requests;
    app_code_accepted_once_concurrently:
        concurrency::an_app_code_is_accepted_once_under_concurrent_requests;
}
