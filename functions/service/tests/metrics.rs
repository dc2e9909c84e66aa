//! The service's metrics (`mfa_service::telemetry`), counted by the real domain over the
//! embedded store into a recorder this test installs for its process. After each step the test
//! takes what was counted since the step before, and wants exactly the counts the README's rules
//! give: 5 consecutive failures lock the second factor, a number gets 5 texts an hour.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{config, new_user};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use mfa_core::secret::TotpSecret;
use mfa_core::totp::{totp_code, TotpParams};
use mfa_service::domain::{Error, Mfa, NewFactor, Proof};
use mfa_service::ids::{FactorId, UserId};
use mfa_service::model::AuthMethod;
use mfa_service::store::embedded::EmbeddedStore;

/// The start of an hour.
const NOW: u64 = 1_750_003_200;

/// What was counted since the last call: `name{label=value,...}` to the count.
fn counted(snapshotter: &Snapshotter) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let DebugValue::Counter(n) = value else { panic!("not a counter: {key:?}") };
        if n == 0 {
            continue;
        }
        let labels: Vec<String> =
            key.key().labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
        counts.insert(format!("{}{{{}}}", key.key().name(), labels.join(",")), n);
    }
    counts
}

fn want(counts: &[(&str, u64)]) -> BTreeMap<String, u64> {
    counts.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

async fn app_factor(mfa: &Mfa, user: &UserId) -> (FactorId, TotpSecret, Vec<String>) {
    let app = NewFactor::Totp { label: None, account_name: None };
    let enrolled = mfa.enroll(user, app, None).await.unwrap();
    let secret = TotpSecret::from_base32(&enrolled.app_setup.unwrap().secret).unwrap();
    let code = Proof::Code(totp_code(&secret, NOW, &TotpParams::default()));
    let active = mfa.activate(user, &enrolled.factor.id, &code).await.unwrap();
    (enrolled.factor.id, secret, active.recovery_codes.unwrap())
}

#[tokio::test]
async fn each_check_message_refusal_and_lockout_is_counted_once() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path().join("s.redb")).unwrap());
    let (ports, clock, outbox) = common::ports(store, NOW);
    let mfa = Mfa::new(&config(&[]), ports).unwrap();

    let user = new_user();
    let (factor, secret, recovery_codes) = app_factor(&mfa, &user).await;
    assert_eq!(counted(&snapshotter), want(&[]), "enrolling checks nothing at sign-in");

    let login = mfa.login(&user, AuthMethod::Password, None).await.unwrap().login_id;
    let challenge = mfa.challenge(&user, &login, &factor, None).await.unwrap().challenge_id;
    let wrong = Proof::Code("000000".into());
    let right = Proof::Code(totp_code(&secret, NOW + 30, &TotpParams::default()));
    clock.advance(30);
    mfa.verify(&user, &challenge, &wrong).await.unwrap_err();
    assert_eq!(
        counted(&snapshotter),
        want(&[("mfa_verifies_total{factor=totp,outcome=rejected}", 1)])
    );
    mfa.verify(&user, &challenge, &right).await.unwrap();
    assert_eq!(
        counted(&snapshotter),
        want(&[("mfa_verifies_total{factor=totp,outcome=passed}", 1)])
    );

    // The README: 5 consecutive failures lock the second factor; the fifth is the lockout.
    let challenge = mfa.challenge(&user, &login, &factor, None).await.unwrap().challenge_id;
    for _ in 0..4 {
        mfa.verify(&user, &challenge, &wrong).await.unwrap_err();
    }
    assert_eq!(
        counted(&snapshotter),
        want(&[("mfa_verifies_total{factor=totp,outcome=rejected}", 4)])
    );
    mfa.verify(&user, &challenge, &wrong).await.unwrap_err();
    assert_eq!(
        counted(&snapshotter),
        want(&[
            ("mfa_lockouts_total{budget=second_factor}", 1),
            ("mfa_verifies_total{factor=totp,outcome=rejected}", 1),
        ])
    );
    let locked = mfa.verify(&user, &challenge, &right).await.unwrap_err();
    assert!(matches!(locked, Error::Locked { .. }), "{locked:?}");
    assert_eq!(
        counted(&snapshotter),
        want(&[("mfa_verifies_total{factor=totp,outcome=locked}", 1)])
    );

    // Recovery codes have their own budget.
    let bad = "AAAA-AAAA-AAAA-AAAA";
    mfa.verify_recovery(&user, bad, None, None).await.unwrap_err();
    assert_eq!(
        counted(&snapshotter),
        want(&[("mfa_verifies_total{factor=recovery_code,outcome=rejected}", 1)])
    );
    mfa.verify_recovery(&user, &recovery_codes[0], None, None).await.unwrap();
    assert_eq!(
        counted(&snapshotter),
        want(&[("mfa_verifies_total{factor=recovery_code,outcome=passed}", 1)])
    );

    // The README: a number gets 5 texts an hour; the sixth is refused by that budget.
    let number = "+12015550199";
    for _ in 0..5 {
        let sms = NewFactor::Sms { phone: number.into(), label: None, delivery: None };
        mfa.enroll(&new_user(), sms, None).await.unwrap();
    }
    assert_eq!(counted(&snapshotter), want(&[("mfa_messages_sent_total{channel=sms}", 5)]));
    assert_eq!(outbox.sent_to(number).len(), 5);
    let sms = NewFactor::Sms { phone: number.into(), label: None, delivery: None };
    mfa.enroll(&new_user(), sms, None).await.unwrap_err();
    assert_eq!(
        counted(&snapshotter),
        want(&[
            ("mfa_budget_hits_total{budget=number_texts}", 1),
            ("mfa_messages_refused_total{channel=sms,reason=budget}", 1),
        ])
    );
    assert_eq!(outbox.sent_to(number).len(), 5, "nothing more was sent");
}
