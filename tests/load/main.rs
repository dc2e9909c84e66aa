//! mfa-load: a load generator for the verify route.
//!
//! It enrolls and activates `--users` TOTP users (default 300), opens a login and a challenge for
//! each, then sends every user's verify with a fresh, correct code at `--concurrency` (default
//! 16) requests at once, and prints requests per second. Each verify is a full success path:
//! throttle, secret unsealing, TOTP check, the replay guard's conditional write, challenge
//! consumption and token signing. Run it against mfa-local:
//!
//! ```sh
//! cargo run --release -p mfa-e2e --bin mfa-load -- --users 300 --concurrency 16
//! ```
//! with `MFA_E2E_BASE_URL` and `MFA_E2E_API_KEY` set as for the end-to-end tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use mfa_e2e::{code_from_uri, now, unique_user, Function::*, Stack};
use serde_json::json;
use tokio::sync::Semaphore;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name} takes a number")))
}

/// Enrolls, activates and challenges one user; returns (user, challenge id, otpauth URI).
async fn prepare(s: &Stack) -> (String, String, String) {
    let user = unique_user("load");
    let enrolled =
        s.post(Enroll, &format!("/v1/users/{user}/factors"), json!({"type":"totp"})).await;
    let factor = enrolled.body["factor"]["id"].as_str().expect("enrolled").to_owned();
    let uri = enrolled.body["otpauth_uri"].as_str().expect("uri").to_owned();
    let path = format!("/v1/users/{user}/factors/{factor}/activate");
    let activated = s.post(Enroll, &path, json!({"code": code_from_uri(&uri, now())})).await;
    assert!(activated.status.is_success(), "{:?}", activated.body);
    let login =
        s.post(Verify, &format!("/v1/users/{user}/login"), json!({"auth_method":"password"})).await;
    let login_id = login.body["login_id"].as_str().expect("login").to_owned();
    let body = json!({"login_id": login_id, "factor_id": factor});
    let challenge = s.post(Verify, &format!("/v1/users/{user}/challenges"), body).await;
    (user, challenge.body["challenge_id"].as_str().expect("challenge").to_owned(), uri)
}

async fn run_all<F, Fut, T>(n: usize, concurrency: usize, task: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let permit = Arc::clone(&permits).acquire_owned().await.expect("semaphore");
        let fut = task(i);
        handles.push(tokio::spawn(async move {
            let out = fut.await;
            drop(permit);
            out
        }));
    }
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::main]
async fn main() {
    let s = Stack::from_env().expect("set MFA_E2E_BASE_URL and MFA_E2E_API_KEY");
    let (users, concurrency) = (arg("--users", 300), arg("--concurrency", 16));
    let started = Instant::now();
    let prepared = run_all(users, concurrency, |_| {
        let s = s.clone();
        async move { prepare(&s).await }
    })
    .await;
    println!("prepared {users} users in {:.1} s", started.elapsed().as_secs_f64());

    let prepared = Arc::new(prepared);
    let started = Instant::now();
    let statuses = run_all(users, concurrency, |i| {
        let (s, prepared) = (s.clone(), Arc::clone(&prepared));
        async move {
            let (user, challenge, uri) = &prepared[i];
            let path = format!("/v1/users/{user}/challenges/{challenge}/verify");
            s.post(Verify, &path, json!({"code": code_from_uri(uri, now() + 30)})).await.status
        }
    })
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let ok = statuses.iter().filter(|s| s.is_success()).count();
    println!(
        "verify: {ok}/{users} succeeded in {elapsed:.2} s at concurrency {concurrency}: {:.0} requests/s, {:.2} ms mean",
        users as f64 / elapsed,
        elapsed * 1000.0 * concurrency as f64 / users as f64
    );
    assert_eq!(ok, users, "every verify should succeed: {statuses:?}");
}
