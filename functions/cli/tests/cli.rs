//! The `mfa` binary as an operator runs it: against a running service (`MFA_E2E_BASE_URL` and
//! its admin key `MFA_E2E_API_KEY`; scripts/test.d/40-e2e.sh starts mfa-local) and against
//! Secrets Manager as moto serves it (`MFA_E2E_MOTO_URL`). What it does is checked through the
//! API with `mfa-client`, not through the CLI's own output alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use mfa_client::api::{AuditAction, EnrollRequest, LoginRequest, ProofRequest};
use mfa_client::Client;
use serde_json::Value;
use sha2::{Digest, Sha256};

const NEEDS_STACK: &str = "needs a running mfa-local: scripts/test.d/40-e2e.sh";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set ({NEEDS_STACK})"))
}

/// Runs `mfa args...` against the stack; its success, stdout and stderr.
fn mfa(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .env("MFA_URL", env("MFA_E2E_BASE_URL"))
        .env("MFA_API_KEY", env("MFA_E2E_API_KEY"))
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

/// `mfa args...`, which must succeed; its output as JSON (`Null` when it prints nothing).
fn mfa_json(args: &[&str]) -> Value {
    let (ok, out, err) = mfa(args);
    assert!(ok, "mfa {args:?} failed: {err}");
    if out.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("mfa {args:?}: {e}: {out}"))
    }
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    format!("cli-{tag}-{}", nanos.as_nanos())
}

fn admin() -> Client {
    Client::new(&env("MFA_E2E_BASE_URL"), &env("MFA_E2E_API_KEY")).unwrap()
}

fn password() -> LoginRequest {
    LoginRequest { auth_method: mfa_client::api::AuthMethod::Password, mfa_token: None }
}

#[tokio::test]
#[ignore = "needs a running mfa-local: scripts/test.d/40-e2e.sh"]
async fn an_app_key_is_created_used_listed_and_revoked() {
    let app = unique("app");
    let made = mfa_json(&["keys", "create", &app, "--scope", "verify"]);
    let (id, key) = (made["id"].as_str().unwrap(), made["key"].as_str().unwrap());
    assert_eq!(made["scopes"], serde_json::json!(["verify"]));

    let app_client = Client::new(&env("MFA_E2E_BASE_URL"), key).unwrap();
    app_client.login(&unique("user"), &password()).await.unwrap();
    let refused = app_client.factors(&unique("user")).await.unwrap_err();
    assert_eq!(refused.kind(), Some("forbidden"), "a verify key may not manage: {refused}");

    let listed = mfa_json(&["keys", "list"]);
    assert!(listed["keys"].as_array().unwrap().iter().any(|k| k["id"] == id && k["app"] == *app));
    assert_eq!(mfa_json(&["keys", "revoke", id]), Value::Null);
    let listed = mfa_json(&["keys", "list"]);
    assert!(!listed["keys"].as_array().unwrap().iter().any(|k| k["id"] == id));
    let revoked = app_client.login(&unique("user"), &password()).await.unwrap_err();
    assert_eq!(revoked.kind(), Some("unauthorized"), "{revoked}");
}

#[tokio::test]
#[ignore = "needs a running mfa-local: scripts/test.d/40-e2e.sh"]
async fn policies_orgs_audit_resets_and_unlocks() {
    let (org, user) = (unique("org"), unique("user"));
    let set =
        mfa_json(&["policy", "set", &org, "--require-mfa", "--allowed-factors", "totp,webauthn"]);
    assert_eq!(set["require_mfa"], true);
    assert_eq!(set["allowed_factors"], serde_json::json!(["totp", "webauthn"]));
    let policy = admin().admin_policy(&org).await.unwrap();
    assert!(policy.require_mfa && policy.sso_exempt && policy.notices);
    assert_eq!(mfa_json(&["policy", "show", &org]), set);

    assert_eq!(mfa_json(&["orgs", "set", &user, &org])["orgs"], serde_json::json!([org]));
    assert_eq!(admin().admin_memberships(&user).await.unwrap().orgs, vec![org.clone()]);
    assert_eq!(mfa_json(&["orgs", "show", &user])["orgs"], serde_json::json!([org]));
    // The org now refuses text messages.
    let sms = EnrollRequest::Sms { phone: "+12015550123".into(), label: None, delivery: None };
    let refused = admin().enroll(&user, &sms, None).await.unwrap_err();
    assert_eq!(refused.problem().map(|p| p.status), Some(403), "{refused}");

    let app = EnrollRequest::Totp { label: None, account_name: None };
    let enrolled = admin().enroll(&user, &app, None).await.unwrap();
    let uri = enrolled.otpauth_uri.unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let code = mfa_e2e::code_from_uri(&uri, now.as_secs());
    let proof = ProofRequest { code: Some(code), credential: None };
    admin().activate(&user, &enrolled.factor.id, &proof).await.unwrap();

    assert_eq!(mfa_json(&["unlock", &user]), Value::Null);
    assert_eq!(mfa_json(&["reset-factor", &user, &enrolled.factor.id]), Value::Null);
    assert!(admin().factors(&user).await.unwrap().factors.is_empty(), "the factor is gone");

    let audit = mfa_json(&["audit", &user]);
    let events = audit["events"].as_array().unwrap();
    let times: Vec<u64> = events.iter().map(|e| e["at"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
    // Events of one second come in any order among themselves.
    let mut actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["factor_activated", "factor_enrolled", "factor_reset", "unlocked"]);
    let events = admin().admin_audit(&user).await.unwrap().events;
    assert!(events.iter().any(|e| e.action == AuditAction::FactorActivated));
}

#[test]
#[ignore = "needs a running mfa-local: scripts/test.d/40-e2e.sh"]
fn a_bad_argument_or_key_is_an_error_and_changes_nothing() {
    let (ok, _, err) = mfa(&["keys", "create", "app", "--scope", "everything"]);
    assert!(!ok && err.contains("everything"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(["keys", "list"])
        .env("MFA_URL", env("MFA_E2E_BASE_URL"))
        .env("MFA_API_KEY", "mfa_wrong")
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success() && err.contains("401"), "{err}");
}

#[test]
fn generated_keys_hash_into_the_secret() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_mfa")).args(["secret", "generate"]).output().unwrap();
    assert!(out.status.success());
    let generated: Value = serde_json::from_slice(&out.stdout).unwrap();
    let secret = &generated["secret"];
    let hex = |key: &Value| format!("{:x}", Sha256::digest(key.as_str().unwrap().as_bytes()));
    let want = format!(
        "service:{},admin:{}",
        hex(&generated["api_keys"]["service"]),
        hex(&generated["api_keys"]["admin"])
    );
    assert_eq!(secret["MFA_API_KEYS"], want.as_str());
    for (name, kid) in
        [("MFA_DATA_KEYS", "data-"), ("MFA_SIGNING_KEYS", "sig-"), ("MFA_CODE_KEY", "code-")]
    {
        let entry = secret[name].as_str().unwrap();
        let (id, key) = entry.split_once(':').unwrap();
        assert!(id.starts_with(kid) && id.len() == kid.len() + 8, "{entry}");
        assert_eq!(data_encoding::BASE64.decode(key.as_bytes()).unwrap().len(), 32, "{entry}");
    }
    assert_eq!(secret.as_object().unwrap().len(), 4);
}

#[tokio::test]
#[ignore = "needs moto: scripts/test.d/40-e2e.sh"]
async fn init_fills_an_empty_secret_once() {
    let moto = env("MFA_E2E_MOTO_URL");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let made = secrets.create_secret().name(unique("secret")).send().await.unwrap();
    let arn = made.arn().unwrap();

    let init = || {
        Command::new(env!("CARGO_BIN_EXE_mfa"))
            .args(["secret", "init", "--secret-arn", arn])
            .env("AWS_ENDPOINT_URL", &moto)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .output()
            .unwrap()
    };
    let first = init();
    let printed = String::from_utf8(first.stdout).unwrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let stored = secrets.get_secret_value().secret_id(arn).send().await.unwrap();
    let stored: Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    let admin_key = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("admin (everything, plus /v1/admin):"))
        .unwrap()
        .trim();
    let admin_hash = format!("admin:{:x}", Sha256::digest(admin_key.as_bytes()));
    assert!(stored["MFA_API_KEYS"].as_str().unwrap().contains(&admin_hash), "{stored}");

    let again = init();
    assert!(!again.status.success(), "a second init must not replace the keys");
    assert!(String::from_utf8(again.stderr).unwrap().contains("already holds keys"));
    let kept = secrets.get_secret_value().secret_id(arn).send().await.unwrap();
    let kept: Value = serde_json::from_str(kept.secret_string().unwrap()).unwrap();
    assert_eq!(kept, stored, "nothing changed");
}
