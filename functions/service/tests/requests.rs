//! How many DynamoDB requests each sign-in flow sends, counted by an SDK interceptor on the
//! client of a DynamoDB store over a DynamoDB-compatible server (moto): a flow that sends more
//! than its target fails here, so the count can't drift back up. Ignored by a plain `cargo
//! test`: `scripts/test.d/30-dynamodb.sh` starts moto and runs it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use common::{config, new_user, Outbox, TestClock};
use mfa_core::secret::TotpSecret;
use mfa_core::totp::{totp_code, TotpParams};
use mfa_service::domain::{Mfa, NewFactor, Proof};
use mfa_service::ids::{FactorId, OrgId, UserId};
use mfa_service::model::{AuthMethod, OrgPolicy};
use mfa_service::store::dynamo::DynamoStore;
use rand_core::{OsRng, RngCore};

const NOW: u64 = 1_750_000_000;

/// Records the operation of every request the client sends (its `X-Amz-Target`).
#[derive(Debug, Default, Clone)]
struct Requests(Arc<Mutex<Vec<String>>>);

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "Requests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let target = context.request().headers().get("x-amz-target").unwrap_or("?");
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        self.0.lock().unwrap().push(operation);
        Ok(())
    }
}

impl Requests {
    /// The operations sent since the last call, in order.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Rig {
    mfa: Mfa,
    clock: Arc<TestClock>,
    outbox: Arc<Outbox>,
    requests: Requests,
}

async fn rig() -> Rig {
    let endpoint = std::env::var("MFA_TEST_DYNAMODB_ENDPOINT")
        .expect("MFA_TEST_DYNAMODB_ENDPOINT must name a DynamoDB-compatible server");
    let requests = Requests::default();
    let client_config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "requests"))
        .interceptor(requests.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(client_config);
    let store = Arc::new(DynamoStore::new(client, "mfa-requests"));
    store.create_table_if_missing().await.unwrap();
    let (ports, clock, outbox) = common::ports(store, NOW);
    let config = config(&[("MFA_EMAIL_FROM", "mfa@acme.test".into())]);
    let mfa = Mfa::new(&config, ports).unwrap();
    Rig { mfa, clock, outbox, requests }
}

impl Rig {
    fn now(&self) -> u64 {
        mfa_service::ports::Clock::now(&*self.clock)
    }

    /// An active authenticator app of `user` (the first factor), its secret and recovery codes.
    async fn app(&self, user: &UserId) -> (FactorId, TotpSecret, Vec<String>) {
        let new = NewFactor::Totp { label: None, account_name: None };
        let enrolled = self.mfa.enroll(user, new, None).await.unwrap();
        let secret = TotpSecret::from_base32(&enrolled.app_setup.unwrap().secret).unwrap();
        let code = Proof::Code(totp_code(&secret, self.now(), &TotpParams::default()));
        let activated = self.mfa.activate(user, &enrolled.factor.id, &code).await.unwrap();
        (enrolled.factor.id, secret, activated.recovery_codes.unwrap())
    }

    /// An active code factor (a step-up from `app` adds it).
    async fn code_factor(
        &self,
        user: &UserId,
        app: &(FactorId, TotpSecret),
        new: NewFactor,
        to: &str,
    ) -> FactorId {
        self.clock.advance(30);
        let wanted = mfa_service::domain::StepUpFor {
            operation: mfa_service::model::Operation::AddFactor,
            target: None,
        };
        let started = self.mfa.start_step_up(user, wanted, &app.0, None).await.unwrap();
        let code = Proof::Code(totp_code(&app.1, self.now(), &TotpParams::default()));
        let token = self.mfa.finish_step_up(user, &started.challenge_id, &code).await.unwrap();
        let factor = self.mfa.enroll(user, new, Some(&token.token)).await.unwrap().factor.id;
        let code = Proof::Code(self.outbox.last_code_to(to));
        self.mfa.activate(user, &factor, &code).await.unwrap();
        factor
    }
}

/// Fails when `flow` sent more than `most` requests; prints what it sent.
fn at_most(flow: &str, sent: &[String], most: usize) {
    println!("{flow}: {} requests {sent:?}", sent.len());
    assert!(sent.len() <= most, "{flow} sent {} requests (target {most}): {sent:?}", sent.len());
}

#[tokio::test]
#[ignore = "needs a DynamoDB-compatible server: scripts/test-all.sh starts moto"]
async fn a_totp_sign_in_is_decided_and_challenged_in_at_most_three_requests_and_verified_in_two() {
    let rig = rig().await;
    let user = new_user();
    let (factor, secret, _) = rig.app(&user).await;
    rig.clock.advance(30);

    rig.requests.take();
    let decided = rig.mfa.login(&user, AuthMethod::Password, None).await.unwrap();
    at_most("login decision", &rig.requests.take(), 3);
    let challenge = rig.mfa.challenge(&user, &decided.login_id, &factor, None).await.unwrap();
    at_most("TOTP challenge", &rig.requests.take(), 3);

    let wrong = Proof::Code("000000".into());
    let wrong = if totp_code(&secret, rig.now(), &TotpParams::default()) == "000000" {
        Proof::Code("111111".into())
    } else {
        wrong
    };
    assert!(rig.mfa.verify(&user, &challenge.challenge_id, &wrong).await.is_err());
    at_most("TOTP verify, wrong code", &rig.requests.take(), 2);
    let code = Proof::Code(totp_code(&secret, rig.now(), &TotpParams::default()));
    rig.mfa.verify(&user, &challenge.challenge_id, &code).await.unwrap();
    at_most("TOTP verify", &rig.requests.take(), 2);
}

#[tokio::test]
#[ignore = "needs a DynamoDB-compatible server: scripts/test-all.sh starts moto"]
async fn a_login_decision_of_a_user_in_an_org_is_at_most_three_requests() {
    let rig = rig().await;
    let user = new_user();
    rig.app(&user).await;
    let org = OrgId::parse(&format!("org-{}", user.as_str())).unwrap();
    let policy = OrgPolicy { require_mfa: true, ..OrgPolicy::default() };
    rig.mfa.admin_set_policy(&org, policy).await.unwrap();
    rig.mfa.admin_set_memberships(&user, vec![org]).await.unwrap();
    rig.requests.take();
    rig.mfa.login(&user, AuthMethod::Password, None).await.unwrap();
    at_most("login decision in an org", &rig.requests.take(), 3);
}

#[tokio::test]
#[ignore = "needs a DynamoDB-compatible server: scripts/test-all.sh starts moto"]
async fn a_text_or_email_code_is_sent_in_at_most_three_requests_and_verified_in_two() {
    let rig = rig().await;
    let user = new_user();
    let (app, secret, _) = rig.app(&user).await;
    // A number of its own: moto's table outlives the run, and a number gets 5 texts an hour.
    let phone = format!("+1201555{:04}", OsRng.next_u32() % 10_000);
    let sms = NewFactor::Sms { phone: phone.clone(), label: None, delivery: None };
    let texted = rig.code_factor(&user, &(app.clone(), secret.clone()), sms, &phone).await;
    let address = format!("{}@example.com", user.as_str());
    let email = NewFactor::Email { email: address.clone(), label: None };
    let emailed = rig.code_factor(&user, &(app, secret), email, &address).await;

    for (factor, to, kind) in [(texted, phone, "text"), (emailed, address, "email")] {
        let login = rig.mfa.login(&user, AuthMethod::Password, None).await.unwrap().login_id;
        rig.requests.take();
        let challenge = rig.mfa.challenge(&user, &login, &factor, None).await.unwrap();
        at_most(&format!("{kind} challenge"), &rig.requests.take(), 3);
        let code = rig.outbox.last_code_to(&to);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        assert!(rig
            .mfa
            .verify(&user, &challenge.challenge_id, &Proof::Code(wrong.into()))
            .await
            .is_err());
        at_most(&format!("{kind} verify, wrong code"), &rig.requests.take(), 2);
        rig.mfa.verify(&user, &challenge.challenge_id, &Proof::Code(code)).await.unwrap();
        at_most(&format!("{kind} verify"), &rig.requests.take(), 2);
    }
}

#[tokio::test]
#[ignore = "needs a DynamoDB-compatible server: scripts/test-all.sh starts moto"]
async fn a_recovery_code_is_checked_in_two_requests_before_its_notice() {
    let rig = rig().await;
    let user = new_user();
    let (_, _, codes) = rig.app(&user).await;
    let login = rig.mfa.login(&user, AuthMethod::Password, None).await.unwrap().login_id;

    rig.requests.take();
    assert!(rig
        .mfa
        .verify_recovery(&user, "AAAA-AAAA-AAAA-AAAA", Some(&login), None)
        .await
        .is_err());
    at_most("recovery verify, wrong code", &rig.requests.take(), 2);
    rig.mfa.verify_recovery(&user, &codes[0], Some(&login), None).await.unwrap();
    let sent = rig.requests.take();
    // The check is a read and a write; what follows is the notice of the code used (the
    // user's factors and orgs read, to find where to send it and whether to).
    assert_eq!(sent[..2], ["BatchGetItem", "TransactWriteItems"], "{sent:?}");
    println!("recovery verify: 2 requests, then its notice: {:?}", &sent[2..]);
}
