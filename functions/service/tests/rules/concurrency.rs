//! Codes accepted once under concurrent requests, through the domain: 20 tasks of a
//! multi-threaded runtime send one right code at once, and exactly one gets in.
//!
//! README: "A code works once: the same code again is refused" ("Quick start"), and "a TOTP
//! time step is accepted at most once per factor, also under concurrent requests" ("HTTP API v1").

use std::sync::Arc;

use mfa_service::domain::Proof;
use mfa_service::ids::{ChallengeId, UserId};
use tokio::sync::Barrier;

use crate::harness::{Channel, Harness};

/// How many requests race.
const RACERS: usize = 20;

/// Verifies `proof` on each of `challenges` at once, one task each; how many passed.
async fn race(h: &Harness, user: &UserId, challenges: Vec<ChallengeId>, proof: Proof) -> usize {
    let start = Arc::new(Barrier::new(challenges.len()));
    let tasks: Vec<_> = challenges
        .into_iter()
        .map(|challenge| {
            let (mfa, user, proof, start) =
                (Arc::clone(&h.mfa), user.clone(), proof.clone(), Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                mfa.verify(&user, &challenge, &proof).await
            })
        })
        .collect();
    let mut passed = 0;
    for task in tasks {
        passed += usize::from(task.await.unwrap().is_ok());
    }
    passed
}

/// 20 concurrent answers of one challenge with its texted code: one passes.
pub async fn a_sent_code_is_accepted_once_under_concurrent_requests(h: &Harness) {
    let member = h.member().await;
    let challenge = h.challenge(&member, Channel::Text).await;
    let proof = h.right_code(&challenge);
    let passed = race(h, &member.user, vec![challenge.id; RACERS], proof).await;
    assert_eq!(passed, 1, "of {RACERS} concurrent answers with one code");
}

/// 20 challenges of one app, answered at once with the app's one code of the time: one passes.
pub async fn an_app_code_is_accepted_once_under_concurrent_requests(h: &Harness) {
    let member = h.member().await;
    let mut challenges = Vec::new();
    for _ in 0..RACERS {
        challenges.push(h.challenge(&member, Channel::App).await);
    }
    let proof = h.right_code(&challenges[0]);
    let ids = challenges.into_iter().map(|c| c.id).collect();
    let passed = race(h, &member.user, ids, proof).await;
    assert_eq!(passed, 1, "of {RACERS} concurrent answers with one code");
}
