//! mfa-load: a load generator for the sign-in routes, with every request's latency recorded.
//!
//! It enrolls and activates `--users` TOTP users (default 5000; not timed), then runs two timed
//! phases of `--duration` seconds each (default 10) with `--concurrency` requests in flight
//! (default 16), each request of a user no other request touches:
//!
//! 1. **login + challenge**: the login decision and a challenge of the user's app, as one
//!    measurement (a sign-in's wait before the user types the code);
//! 2. **verify**: the code of the challenge, a full success path (throttle, secret unsealing,
//!    TOTP check, the replay guard's conditional write, the challenge used up, token signing).
//!
//! A phase ends at its duration, or when its users run out (then it says so: give more users).
//! Latencies go into an HDR histogram (microsecond resolution); it prints each phase's
//! throughput and p50/p90/p99/max, with the client machine's core count. Run it against mfa-local
//! in release:
//!
//! ```sh
//! cargo run --release -p mfa-e2e --bin mfa-load -- --users 20000 --duration 10 --concurrency 16
//! ```
//! with `MFA_E2E_BASE_URL` and `MFA_E2E_API_KEY` set as for the end-to-end tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mfa_client::api::{ChallengeRequest, EnrollRequest};
use mfa_e2e::{code, code_from_uri, now, password, unique_user, Stack};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name} takes a number")))
}

/// A user with an active app: its id, factor and otpauth URI; the challenge once phase 1 made it.
struct User {
    id: String,
    factor: String,
    uri: String,
    challenge: Mutex<Option<String>>,
}

/// Enrolls and activates one user's app.
async fn prepare(s: &Stack) -> User {
    let id = unique_user("load");
    let totp = EnrollRequest::Totp { label: None, account_name: None };
    let enrolled = s.enroll().enroll(&id, &totp, None).await.expect("enrolled");
    let factor = enrolled.factor.id;
    let uri = enrolled.otpauth_uri.expect("uri");
    let proof = code(&code_from_uri(&uri, now()));
    s.enroll().activate(&id, &factor, &proof).await.expect("activated");
    User { id, factor, uri, challenge: Mutex::new(None) }
}

/// The login decision and a challenge for `user`: whether both succeeded.
async fn login_and_challenge(s: &Stack, user: &User) -> bool {
    let Ok(login) = s.verify().login(&user.id, &password()).await else { return false };
    let ask = ChallengeRequest {
        login_id: login.login_id,
        factor_id: user.factor.clone(),
        delivery: None,
    };
    let challenge = s.verify().challenge(&user.id, &ask).await.ok().map(|c| c.challenge_id);
    let ok = challenge.is_some();
    *user.challenge.lock().unwrap() = challenge;
    ok
}

/// The verify of `user`'s challenge with the app's next code (within the window of 1, and newer
/// than the step that activated the app, which the replay guard holds): whether it succeeded.
async fn verify(s: &Stack, user: &User) -> bool {
    let Some(challenge) = user.challenge.lock().unwrap().clone() else { return false };
    let next = code(&code_from_uri(&user.uri, now() + 30));
    s.verify().verify(&user.id, &challenge, &next).await.is_ok()
}

/// What one phase measured.
struct Phase {
    latencies: Histogram<u64>,
    ok: u64,
    failed: u64,
    elapsed: Duration,
    ran_out: bool,
}

/// Runs `task` over `users[..]` at `concurrency` until `duration` passes or the users run out.
async fn phase<F, Fut>(
    users: &Arc<Vec<User>>,
    concurrency: usize,
    duration: Duration,
    take: usize,
    task: F,
) -> Phase
where
    F: Fn(Stack, Arc<Vec<User>>, usize) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let s = Stack::from_env().expect("set MFA_E2E_BASE_URL and MFA_E2E_API_KEY");
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (s, users, next) = (s.clone(), Arc::clone(users), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let (mut ok, mut failed, mut ran_out) = (0u64, 0u64, false);
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= take {
                    ran_out = true;
                    break;
                }
                let sent = Instant::now();
                let succeeded = task(s.clone(), Arc::clone(&users), i).await;
                latencies.saturating_record(sent.elapsed().as_micros() as u64);
                if succeeded {
                    ok += 1;
                } else {
                    failed += 1;
                }
            }
            (latencies, ok, failed, ran_out)
        }));
    }
    let mut total = Phase {
        latencies: Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap(),
        ok: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        ran_out: false,
    };
    for worker in workers {
        let (latencies, ok, failed, ran_out) = worker.await.expect("worker");
        total.latencies.add(latencies).expect("histograms of one shape");
        total.ok += ok;
        total.failed += failed;
        total.ran_out |= ran_out;
    }
    total.elapsed = started.elapsed();
    total
}

fn report(name: &str, p: &Phase, concurrency: usize) {
    let ms = |q: f64| p.latencies.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{name:<18} {:>7} ok {:>4} failed in {:>5.1} s at concurrency {concurrency}: {:>7.0}/s   p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms{}",
        p.ok,
        p.failed,
        p.elapsed.as_secs_f64(),
        p.ok as f64 / p.elapsed.as_secs_f64(),
        ms(0.5),
        ms(0.9),
        ms(0.99),
        p.latencies.max() as f64 / 1000.0,
        if p.ran_out { "  (the users ran out before the duration: give more --users)" } else { "" },
    );
}

#[tokio::main]
async fn main() {
    let s = Stack::from_env().expect("set MFA_E2E_BASE_URL and MFA_E2E_API_KEY");
    let users = arg("--users", 5000);
    let concurrency = arg("--concurrency", 16);
    let duration = Duration::from_secs(arg("--duration", 10) as u64);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "client: {cores} cores; server: {}",
        std::env::var("MFA_E2E_BASE_URL").unwrap_or_default()
    );

    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut preparers = Vec::new();
    for _ in 0..concurrency {
        let (s, next) = (s.clone(), Arc::clone(&next));
        preparers.push(tokio::spawn(async move {
            let mut made = Vec::new();
            while next.fetch_add(1, Ordering::SeqCst) < users {
                made.push(prepare(&s).await);
            }
            made
        }));
    }
    let mut prepared = Vec::with_capacity(users);
    for preparer in preparers {
        prepared.extend(preparer.await.expect("preparer"));
    }
    println!(
        "prepared {users} users in {:.1} s (not timed below)",
        started.elapsed().as_secs_f64()
    );
    let prepared = Arc::new(prepared);

    let first = phase(&prepared, concurrency, duration, users, |s, users, i| async move {
        login_and_challenge(&s, &users[i]).await
    })
    .await;
    report("login + challenge", &first, concurrency);
    let challenged = first.ok as usize + first.failed as usize;
    let second = phase(&prepared, concurrency, duration, challenged, |s, users, i| async move {
        verify(&s, &users[i]).await
    })
    .await;
    report("verify", &second, concurrency);
    assert_eq!(first.failed + second.failed, 0, "every request should succeed");
}
