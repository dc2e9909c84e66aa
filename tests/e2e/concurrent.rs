//! One correct code, twenty verifies of it at once over HTTP: exactly one passes and the others
//! get the documented refusal (README: "A code works once: the same code again is refused"; "a
//! TOTP time step is accepted at most once per factor, also under concurrent requests"), and the
//! audit log holds one `verified`. Against the Lambda functions, `cargo lambda watch` runs
//! several instances of a function (`--concurrency` in `scripts/test.d/40-e2e.sh`), as Lambda
//! would.

use mfa_client::api::{AuditAction, ChallengeRequest, Decision, EnrollRequest, TokenResponse};
use mfa_client::Error;
use mfa_e2e::{code, code_from_uri, now, password, unique_user, Stack};
use tokio::task::JoinSet;

use crate::stack;

/// How many verifies are sent at once.
const AT_ONCE: usize = 20;

/// A login of `user`, who must answer a challenge.
async fn login(s: &Stack, user: &str) -> String {
    let login = s.verify().login(user, &password()).await.unwrap();
    assert_eq!(login.decision, Decision::Challenge, "{login:?}");
    login.login_id
}

/// A challenge of `factor` in `login`.
async fn challenge(s: &Stack, user: &str, login: &str, factor: &str) -> String {
    let ask = ChallengeRequest {
        login_id: login.to_owned(),
        factor_id: factor.to_owned(),
        delivery: None,
    };
    s.verify().challenge(user, &ask).await.unwrap().challenge_id
}

/// Verifies `proof` on each of `challenges` (one per verify), all at once; the answers.
async fn at_once(
    s: &Stack,
    user: &str,
    challenges: Vec<String>,
    proof: &str,
) -> Vec<Result<TokenResponse, Error>> {
    let mut running = JoinSet::new();
    for challenge in challenges {
        let (s, user, proof) = (s.clone(), user.to_owned(), code(proof));
        running.spawn(async move { s.verify().verify(&user, &challenge, &proof).await });
    }
    running.join_all().await
}

/// Panics unless exactly one of `answers` passed, and the others are refusals of one of the
/// `refusals` kinds; checks its token and that the audit log holds one `verified`. An answer that
/// `cargo lambda watch` lost ([`Stack::lost`]) may have been the one that passed: the audit log
/// tells.
async fn one_passed(
    s: &Stack,
    user: &str,
    factor: &str,
    amr: &str,
    answers: Vec<Result<TokenResponse, Error>>,
    refusals: &[&str],
) {
    let (passed, failed): (Vec<_>, Vec<_>) = answers.into_iter().partition(Result::is_ok);
    let (lost, failed): (Vec<_>, Vec<_>) =
        failed.into_iter().filter_map(Result::err).partition(|e| s.lost(e));
    let kinds: Vec<Option<&str>> = failed.iter().map(Error::kind).collect();
    let seen = format!("{kinds:?}, {} answers lost", lost.len());
    assert!(passed.len() == 1 || passed.is_empty() && !lost.is_empty(), "one passes: {seen}");
    assert!(kinds.iter().all(|k| k.is_some_and(|k| refusals.contains(&k))), "{seen}");
    if let Some(Ok(token)) = passed.into_iter().next() {
        s.check_token(&token.mfa_token, user, factor, &[amr]).await;
    }
    let audit = s.get(|| s.admin().admin_audit(user)).await.unwrap();
    let verified = audit.events.iter().filter(|e| e.action == AuditAction::Verified).count();
    assert_eq!(verified, 1, "{:?}", audit.events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn an_app_code_on_twenty_challenges_at_once_passes_once() {
    let s = stack();
    let user = unique_user("at-once-app");
    let app = EnrollRequest::Totp { label: None, account_name: None };
    let enrolled = s.enroll().enroll(&user, &app, None).await.unwrap();
    let (factor, uri) = (enrolled.factor.id, enrolled.otpauth_uri.unwrap());
    s.enroll().activate(&user, &factor, &code(&code_from_uri(&uri, now()))).await.unwrap();
    let login = login(&s, &user).await;
    let mut challenges = Vec::new();
    for _ in 0..AT_ONCE {
        challenges.push(challenge(&s, &user, &login, &factor).await);
    }
    // The activation used this step; the next one's code, on every challenge at once. The
    // others are replays (400), or come once the replays locked the account (429).
    let next = code_from_uri(&uri, now() + 30);
    let answers = at_once(&s, &user, challenges, &next).await;
    one_passed(&s, &user, &factor, "otp", answers, &["code-rejected", "locked"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn an_emailed_code_sent_twenty_times_at_once_passes_once() {
    let s = stack();
    let user = unique_user("at-once-email");
    let address = format!("{user}@example.com");
    let email = EnrollRequest::Email { email: address.clone(), label: None };
    let factor = s.enroll().enroll(&user, &email, None).await.unwrap().factor.id;
    s.enroll().activate(&user, &factor, &code(&s.last_code_to(&address).await)).await.unwrap();
    let login = login(&s, &user).await;
    let challenge = challenge(&s, &user, &login, &factor).await;
    let sent = s.last_code_to(&address).await;
    // The others find the challenge answered (409).
    let answers = at_once(&s, &user, vec![challenge; AT_ONCE], &sent).await;
    one_passed(&s, &user, &factor, "email", answers, &["conflict"]).await;
}
