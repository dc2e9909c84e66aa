//! The one conformance suite of the store adapters: every behaviour of [`mfa_service::ports`],
//! run against the embedded store and against DynamoDB.
//!
//! Each behaviour is an `async fn` generic over [`Store`] in one of the modules below; the
//! `conformance_suite!` macro turns the list of them into `#[tokio::test]`s for one adapter. The
//! DynamoDB tests need a DynamoDB-compatible server at `MFA_TEST_DYNAMODB_ENDPOINT` and are
//! ignored by a plain `cargo test`: `scripts/test.d/30-dynamodb.sh` starts moto and runs them.
//! Every test uses its own random user ids, so tests share one table safely.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod attempts;
mod audit;
mod factors;
mod logins;
mod passkeys;
mod phones;
mod policy;
mod recovery;
mod sends;
mod support;
mod throttle;

use std::sync::{Arc, LazyLock};

use mfa_service::ports::Store;
use mfa_service::store::dynamo::DynamoStore;
use mfa_service::store::embedded::EmbeddedStore;
use tempfile::TempDir;

/// A store under test, and whatever must live as long as it.
pub struct Fixture<S> {
    store: Arc<S>,
    _dir: Option<TempDir>,
}

/// Expands to one test per behaviour for the adapter that `$make` opens, each with the
/// attributes in `{ .. }`.
macro_rules! conformance_suite {
    ($attrs:tt $make:path) => {
        conformance_suite!(@cases $attrs $make;
            factors::factor_insert_twice_is_refused,
            factors::factor_round_trips_every_field,
            factors::factor_activates_once_and_only_from_pending,
            factors::factor_activation_is_won_once_under_concurrency,
            factors::totp_step_only_moves_forward,
            factors::totp_step_is_accepted_once_under_concurrency,
            factors::factors_are_listed_oldest_first_per_user,
            factors::factor_list_spans_result_pages,
            factors::factor_is_deleted_once,
            factors::a_pending_delete_never_deletes_a_factor_activated_meanwhile,
            factors::a_factor_enrolled_without_step_up_is_activated_only_alone,
            factors::of_factors_enrolled_without_step_up_one_activates_under_concurrency,
            factors::activation_and_the_first_recovery_set_are_one_write,
            factors::activation_uses_its_challenge_up_in_the_same_write,
            factors::a_limit_on_active_factors_holds_under_concurrency,
            factors::phone_changes_only_from_the_current_number_of_an_active_factor,
            factors::phone_change_is_won_once_under_concurrency,
            factors::webauthn_key_is_registered_once_and_only_on_a_pending_factor,
            factors::webauthn_key_is_updated_only_from_the_credential_stored,
            attempts::an_attempt_reads_its_challenge_and_throttle_in_one,
            attempts::a_failure_counts_locks_and_audits_in_one_write,
            attempts::a_write_on_a_stale_count_writes_nothing,
            attempts::a_pass_needs_an_open_challenge_with_attempts_and_an_active_factor,
            attempts::a_challenge_passes_once_under_concurrency,
            attempts::of_concurrent_failures_each_counts_once,
            recovery::recovery_code_is_consumed_once,
            recovery::recovery_code_is_consumed_once_under_concurrency,
            recovery::recovery_codes_consumed_together_are_all_kept,
            recovery::replaced_recovery_set_kills_old_codes,
            logins::login_and_challenge_round_trip_and_insert_once,
            logins::login_and_challenge_round_trip_every_field,
            logins::challenge_is_consumed_once,
            logins::challenge_is_consumed_once_under_concurrency,
            logins::challenge_attempts_stop_at_max,
            logins::challenge_attempts_end_when_consumed,
            logins::challenge_attempts_never_exceed_max_under_concurrency,
            logins::login_sms_is_taken_once,
            logins::login_sms_is_taken_once_under_concurrency,
            logins::login_sms_given_back_can_be_taken_again,
            logins::a_login_has_one_text_and_one_call,
            logins::step_up_token_is_taken_once,
            logins::step_up_token_is_taken_once_under_concurrency,
            passkeys::passkey_sign_in_round_trips_and_is_inserted_once,
            passkeys::passkey_sign_in_is_consumed_once_under_concurrency,
            passkeys::user_handles_name_their_user,
            phones::opt_out_and_opt_in_round_trip_per_number,
            phones::send_slots_are_capped_per_window_and_number,
            phones::send_slots_and_opt_outs_are_kept_apart,
            phones::send_slots_are_capped_under_concurrency,
            phones::deliveries_are_claimed_once_until_released_or_expired,
            phones::a_delivery_is_claimed_once_under_concurrency,
            sends::a_message_is_counted_against_every_budget_or_none,
            sends::scopes_are_counted_apart,
            sends::a_zero_budget_allows_nothing,
            sends::budgets_hold_under_concurrency,
            sends::a_code_is_counted_with_its_challenge_and_its_logins_message_or_not_at_all,
            throttle::throttle_locks_after_five_failures_and_lock_grows,
            throttle::throttle_success_resets_the_count,
            throttle::throttle_lets_no_concurrent_attempt_past_the_lock,
            throttle::throttle_blocks_after_100_failures,
            throttle::second_factor_and_recovery_budgets_are_kept_apart,
            policy::policy_defaults_then_put_and_get,
            policy::grace_logins_are_taken_up_to_max_per_user_and_org,
            policy::grace_logins_are_capped_under_concurrency,
            policy::memberships_are_set_and_read_per_user,
            policy::a_users_factors_orgs_and_their_policies_are_read_together,
            policy::app_keys_are_stored_once_listed_and_deleted,
            audit::audit_events_are_listed_newest_first_per_user,
            audit::an_audit_event_is_stored_once,
        );
    };
    (@cases $attrs:tt $make:path; $($module:ident :: $case:ident),* $(,)?) => {
        $( conformance_suite!(@case $attrs $make, $module::$case); )*
    };
    (@case { $($attr:tt)* } $make:path, $module:ident :: $case:ident) => {
        $($attr)*
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $case() {
            let fixture = $make().await;
            crate::$module::$case(Arc::clone(&fixture.store)).await;
        }
    };
}

/// A fresh embedded store in a temporary directory.
async fn embedded_store() -> Fixture<EmbeddedStore> {
    let (store, dir) = common::embedded_store();
    Fixture { store, _dir: Some(dir) }
}

/// One table per test run, made by the first test that needs it.
static TABLE: LazyLock<String> = LazyLock::new(|| support::unique("mfa-conformance"));

/// A DynamoDB store on that server.
async fn dynamo_store() -> Fixture<DynamoStore> {
    Fixture { store: common::dynamodb_store(TABLE.as_str()).await, _dir: None }
}

/// Items as the service wrote them before the typed model (attribute by attribute, put with the
/// plain client) load through the store as the typed model.
#[tokio::test]
#[ignore = "needs a DynamoDB-compatible server: scripts/test-all.sh starts moto"]
async fn dynamodb_items_written_before_the_typed_model_load() {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    use mfa_service::model::{ChallengePurpose, FactorStatus, Method};
    use mfa_service::ports::{FactorStore, LoginStore};
    let fixture = dynamo_store().await;
    let (user, factor, challenge) =
        (support::unique_user(), support::unique_factor(), support::unique_challenge());
    let put = |attributes: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>| {
        common::dynamodb_client()
            .put_item()
            .table_name(TABLE.as_str())
            .set_item(Some(attributes.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
            .send()
    };
    put(vec![
        ("pk", S(format!("USER#{user}"))),
        ("sk", S(format!("FACTOR#{factor}"))),
        ("id", S(factor.to_string())),
        ("user", S(user.to_string())),
        ("kind", S("totp".into())),
        ("status", S("active".into())),
        ("created_at", N("1700000000".into())),
        ("activated_at", N("1700000060".into())),
        ("secret", S("v1:k1:c2VhbGVk".into())),
        ("last_step", N("56666668".into())),
    ])
    .await
    .unwrap();
    put(vec![
        ("pk", S(format!("CHALLENGE#{challenge}"))),
        ("sk", S("CHALLENGE".into())),
        ("id", S(challenge.to_string())),
        ("user", S(user.to_string())),
        ("login_id", S("lgn_1".into())),
        ("factor_id", S(factor.to_string())),
        ("created_at", N("1700000000".into())),
        ("expires_at", N("1700000300".into())),
    ])
    .await
    .unwrap();
    let loaded = fixture.store.get_factor(&user, &factor).await.unwrap().unwrap();
    assert_eq!((loaded.status, loaded.activated_at), (FactorStatus::Active, Some(1_700_000_060)));
    assert_eq!(
        loaded.method,
        Method::Totp { secret: "v1:k1:c2VhbGVk".into(), last_step: Some(56_666_668) }
    );
    let loaded = fixture.store.get_challenge(&challenge).await.unwrap().unwrap();
    assert_eq!(
        loaded.purpose,
        ChallengePurpose::Login { login_id: support::lid("lgn_1"), token_ttl: None }
    );
}

mod embedded {
    use super::*;
    conformance_suite!({} embedded_store);
}

mod dynamodb {
    use super::*;
    conformance_suite!({
        #[ignore = "needs a DynamoDB-compatible server: scripts/test-all.sh starts moto"]
    } dynamo_store);
}

/// Keeps the generic bound in one place for the behaviour modules.
pub trait TestStore: Store + 'static {}
impl<S: Store + 'static> TestStore for S {}
