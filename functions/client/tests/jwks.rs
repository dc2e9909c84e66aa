//! `TokenVerifier` against a JWKS served over HTTP by a small server of the test, with tokens
//! signed by the service's own `TokenKeys`: a rotated signing key is fetched once when a token
//! names it, an unknown key id does not make the verifier fetch again within
//! `REFETCH_AFTER`, and a token of the wrong `typ`, audience, issuer or age is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use mfa_client::{Client, TokenError, TokenVerifier};
use mfa_service::secret::Key;
use mfa_service::token::TokenKeys;
use serde_json::Value;

/// What the test's server answers at `/.well-known/jwks.json`, and how often it was asked.
#[derive(Default)]
struct Jwks {
    keys: Mutex<Value>,
    fetches: AtomicUsize,
}

async fn answer_jwks(State(jwks): State<Arc<Jwks>>) -> Json<Value> {
    jwks.fetches.fetch_add(1, Ordering::SeqCst);
    Json(jwks.keys.lock().unwrap().clone())
}

/// Serves `jwks` on a free port; the client of that server.
async fn serve(jwks: Arc<Jwks>) -> Client {
    let app = Router::new().route("/.well-known/jwks.json", get(answer_jwks)).with_state(jwks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Client::new(&format!("http://{addr}"), "mfa_unused").unwrap()
}

/// The service's signing keys `kids` (the first signs), with issuer `mfa-service` and audience
/// `app`.
fn keys(kids: &[&str]) -> TokenKeys {
    let seeds: Vec<(String, Key)> = kids
        .iter()
        .map(|kid| {
            (
                (*kid).to_owned(),
                Key::from_slice(&[kid.len() as u8 + kid.as_bytes()[0]; 32]).unwrap(),
            )
        })
        .collect();
    TokenKeys::new(&seeds, "mfa-service".into(), vec!["app".into()], 600).unwrap()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn token(keys: &TokenKeys, at: u64) -> String {
    keys.issue("ada", "fac_1", &["otp"], at, "jti-1".into(), None).unwrap().0
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_unknown_keys_do_not_refetch_at_once() {
    let server = Arc::new(Jwks::default());
    let old = keys(&["k1"]);
    *server.keys.lock().unwrap() = old.jwks();
    let client = serve(server.clone()).await;

    let verifier = TokenVerifier::new(client.clone(), "mfa-service", "app");
    let claims = verifier.verify(&token(&old, now())).await.unwrap();
    assert_eq!((claims.sub.as_str(), claims.fid.as_str()), ("ada", "fac_1"));
    verifier.verify(&token(&old, now())).await.unwrap();
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1, "the JWKS is kept");

    // The service rotates: k2 signs, k1 still verifies.
    let rotated = keys(&["k2", "k1"]);
    *server.keys.lock().unwrap() = rotated.jwks();
    let fresh = token(&rotated, now());
    // Within REFETCH_AFTER of the last fetch, an unknown key id is refused without a fetch.
    let refused = verifier.verify(&fresh).await.unwrap_err();
    assert!(matches!(refused, TokenError::Invalid(_)), "{refused}");
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1);

    // After it, the key is fetched once, and kept: a verifier that knew the old set only
    // (fetched before the rotation) meets a token of the new key.
    *server.keys.lock().unwrap() = old.jwks();
    let verifier = TokenVerifier::new(client, "mfa-service", "app").refetch_after(Duration::ZERO);
    verifier.verify(&token(&old, now())).await.unwrap();
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
    *server.keys.lock().unwrap() = rotated.jwks();
    verifier.verify(&fresh).await.unwrap();
    verifier.verify(&fresh).await.unwrap();
    verifier.verify(&token(&old, now())).await.unwrap();
    assert_eq!(server.fetches.load(Ordering::SeqCst), 3, "one fetch for the new key");
}

#[tokio::test]
async fn tokens_of_another_audience_issuer_type_or_age_are_refused() {
    let server = Arc::new(Jwks::default());
    let signer = keys(&["k1"]);
    *server.keys.lock().unwrap() = signer.jwks();
    let client = serve(server).await;
    let good = token(&signer, now());

    let invalid = |e: TokenError| matches!(e, TokenError::Invalid(_));
    let other_app = TokenVerifier::new(client.clone(), "mfa-service", "other-app");
    assert!(invalid(other_app.verify(&good).await.unwrap_err()));
    let other_issuer = TokenVerifier::new(client.clone(), "someone-else", "app");
    assert!(invalid(other_issuer.verify(&good).await.unwrap_err()));

    let verifier = TokenVerifier::new(client, "mfa-service", "app");
    verifier.verify(&good).await.unwrap();
    // 600 s of life, issued 601 s ago.
    let expired = token(&signer, now() - 601);
    assert!(invalid(verifier.verify(&expired).await.unwrap_err()));
    // A step-up token (`typ` step-up+jwt) is no MFA token, though signed by the same key.
    let grant = mfa_service::token::StepUpGrant {
        user: "ada".into(),
        factor_id: "fac_1".into(),
        amr: vec!["otp".into()],
        operation: mfa_service::model::Operation::AddFactor,
        target: None,
        jti: "jti-2".into(),
    };
    let step_up = signer.issue_step_up(grant, now()).unwrap();
    assert!(invalid(verifier.verify(&step_up).await.unwrap_err()));
    // One byte of the signature changed.
    let mut tampered = good.into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    assert!(invalid(verifier.verify(&String::from_utf8(tampered).unwrap()).await.unwrap_err()));
}
