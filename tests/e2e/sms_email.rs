//! SMS and email factors end to end, reading the codes the way a phone or a mailbox would.

use mfa_client::api::{
    ChallengeRequest, CodeRequest, Decision, EnrollRequest, FactorKind, FactorStatus,
    MembershipsBody, Operation, PhoneChangeRequest, PhoneChangeStep, PolicyBody,
    RecoveryVerifyRequest, StepUpRequest,
};
use mfa_e2e::{
    code, code_from_uri, now, password, refused, seen_recovery_codes, unique_phone, unique_user,
    Stack,
};

use crate::stack;

fn sms(phone: &str) -> EnrollRequest {
    EnrollRequest::Sms { phone: phone.to_owned(), label: None, delivery: None }
}

/// Enrolls and activates an SMS or email factor with the code that arrives; returns its id.
async fn enroll_with_code(s: &Stack, user: &str, factor: &EnrollRequest, to: &str) -> String {
    enroll_next_to(s, user, factor, to, None).await.0
}

/// [`enroll_with_code`] with a step-up token for adding a factor next to an active one; the id
/// and the recovery codes the factor came with (only the first factor brings them).
async fn enroll_next_to(
    s: &Stack,
    user: &str,
    factor: &EnrollRequest,
    to: &str,
    step_up: Option<&str>,
) -> (String, Vec<String>) {
    // 201 Created.
    let enrolled = s.enroll().enroll(user, factor, step_up).await.unwrap();
    assert_eq!(enrolled.factor.status, FactorStatus::Pending);
    assert!(enrolled.secret.is_none(), "no secret for SMS/email factors");
    assert!(enrolled.otpauth_uri.is_none() && enrolled.qr_svg.is_none(), "{enrolled:?}");
    assert!(enrolled.code_expires_at.is_some_and(|at| at > mfa_e2e::now()), "{enrolled:?}");
    let id = enrolled.factor.id;
    let sent = s.last_code_to(to).await;
    let activated = s.enroll().activate(user, &id, &code(&sent)).await.unwrap();
    assert_eq!(activated.factor.status, FactorStatus::Active);
    (id, seen_recovery_codes(&activated.recovery_codes.unwrap_or_default()).to_vec())
}

/// A step-up token for adding a factor, proved by the recovery code `code`.
async fn adding_with(s: &Stack, user: &str, code: &str) -> String {
    let asked = RecoveryVerifyRequest {
        code: code.to_owned(),
        login_id: None,
        step_up: Some(Operation::AddFactor),
    };
    let answer = s.verify().verify_recovery(user, &asked).await.unwrap();
    let token = answer.step_up_token.unwrap();
    s.check_step_up_token(&token, user, (Operation::AddFactor, None), "recovery_code", &["otp"]);
    token
}

async fn login_id(s: &Stack, user: &str) -> String {
    let answer = s.verify().login(user, &password()).await.unwrap();
    assert_eq!(answer.decision, Decision::Challenge, "{answer:?}");
    answer.login_id
}

fn ask(login: &str, factor: &str) -> ChallengeRequest {
    ChallengeRequest { login_id: login.to_owned(), factor_id: factor.to_owned(), delivery: None }
}

fn step_up(operation: Operation, target: Option<&str>, with: &str) -> StepUpRequest {
    StepUpRequest {
        operation,
        factor_id: target.map(str::to_owned),
        with_factor_id: with.to_owned(),
        delivery: None,
    }
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn sms_codes_sign_in_and_a_login_gets_one_text() {
    let s = stack();
    let user = unique_user("sms");
    let phone = unique_phone();
    let (factor, codes) = enroll_next_to(&s, &user, &sms(&phone), &phone, None).await;
    let first = &s.messages_to(&phone).await[0];
    assert!(first.starts_with("Acme: your verification code is "), "{first}");
    // The user's other ways in: an app and an email address, added with recovery codes; and a
    // factor left pending, which is none.
    let app = EnrollRequest::Totp { label: None, account_name: None };
    let step_up = adding_with(&s, &user, &codes[0]).await;
    let enrolled = s.enroll().enroll(&user, &app, Some(&step_up)).await.unwrap();
    let (totp, uri) = (enrolled.factor.id, enrolled.otpauth_uri.unwrap());
    s.enroll().activate(&user, &totp, &code(&code_from_uri(&uri, now()))).await.unwrap();
    let address = format!("{user}@example.com");
    let email = EnrollRequest::Email { email: address.clone(), label: None };
    let step_up = adding_with(&s, &user, &codes[1]).await;
    let (email, _) = enroll_next_to(&s, &user, &email, &address, Some(&step_up)).await;
    let step_up = adding_with(&s, &user, &codes[2]).await;
    let pending = s.enroll().enroll(&user, &app, Some(&step_up)).await.unwrap().factor;
    assert_eq!(pending.status, FactorStatus::Pending);

    let login = login_id(&s, &user).await;
    // 201 Created.
    let challenge = s.verify().challenge(&user, &ask(&login, &factor)).await.unwrap();
    assert_eq!(challenge.delivery, "sms");
    let id = &challenge.challenge_id;
    let sent = s.last_code_to(&phone).await;
    let ok = s.verify().verify(&user, id, &code(&sent)).await.unwrap();
    s.check_token(&ok.mfa_token, &user, &factor, &["sms"]).await;
    let again = s.verify().verify(&user, id, &code(&sent)).await;
    refused(again, 409, "conflict"); // a code works once

    // A second text in the same login is refused, naming the user's other factors (README: "409
    // `use-another-factor` with the user's other factors"): the active ones, not the text's.
    let sent = s.messages_to(&phone).await.len();
    let second = s.verify().challenge(&user, &ask(&login, &factor)).await;
    let problem = refused(second, 409, "use-another-factor");
    let offered = problem.other_factors.unwrap_or_default();
    let mut offered: Vec<(String, FactorKind)> =
        offered.into_iter().map(|f| (f.id, f.kind)).collect();
    offered.sort_by(|a, b| a.0.cmp(&b.0));
    let mut others = vec![(totp, FactorKind::Totp), (email, FactorKind::Email)];
    others.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(offered, others, "the user's other active factors");
    assert_eq!(s.messages_to(&phone).await.len(), sent, "no text was sent");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn numbers_outside_the_policy_are_refused() {
    let s = stack();
    let user = unique_user("sms-bad");
    for phone in ["+44 7400 123456", "+1 900 555 0123", "call me", "+1 123 456 7890"] {
        let answer = s.enroll().enroll(&user, &sms(phone), None).await;
        let problem = refused(answer, 400, "invalid-request");
        assert!(!problem.detail.is_empty(), "{phone}");
    }
    let listed = s.get(|| s.manage().factors(&user)).await.unwrap();
    assert!(listed.factors.is_empty(), "{listed:?}");
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn email_codes_sign_in() {
    let s = stack();
    let user = unique_user("email");
    let address = format!("{user}@example.com");
    let email = EnrollRequest::Email { email: address.clone(), label: None };
    let factor = enroll_with_code(&s, &user, &email, &address).await;
    let login = login_id(&s, &user).await;
    let challenge = s.verify().challenge(&user, &ask(&login, &factor)).await.unwrap();
    assert_eq!(challenge.delivery, "email", "{challenge:?}");
    let id = &challenge.challenge_id;
    let wrong = s.verify().verify(&user, id, &code("000000")).await;
    let sent = s.last_code_to(&address).await;
    if sent != "000000" {
        refused(wrong, 400, "code-rejected");
    }
    let ok = s.verify().verify(&user, id, &code(&sent)).await.unwrap();
    // The token tells an emailed code from an app's or a text's.
    s.check_token(&ok.mfa_token, &user, &factor, &["email"]).await;
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_phone_change_needs_the_old_number_then_the_new() {
    let s = stack();
    let user = unique_user("phone-change");
    let (old, new) = (unique_phone(), unique_phone());
    let factor = enroll_with_code(&s, &user, &sms(&old), &old).await;
    let change = PhoneChangeRequest { phone: new.clone() };

    let refusal = s.manage().start_phone_change(&user, &factor, &change, None).await;
    refused(refusal, 403, "step-up-required");
    assert!(s.messages_to(&new).await.is_empty(), "nothing goes to the new number yet");

    // The step-up is proved by the factor itself: a code to the old number.
    let asked = step_up(Operation::ChangePhone, Some(&factor), &factor);
    // 201 Created.
    let started = s.verify().start_step_up(&user, &asked).await.unwrap();
    assert_eq!(started.delivery, "sms");
    let old_code = s.last_code_to(&old).await;
    let proved =
        s.verify().finish_step_up(&user, &started.challenge_id, &code(&old_code)).await.unwrap();
    let token = proved.step_up_token.as_str();
    s.check_step_up_token(token, &user, (Operation::ChangePhone, Some(&factor)), &factor, &["sms"]);
    // 202 Accepted.
    let middle = s.manage().start_phone_change(&user, &factor, &change, Some(token)).await.unwrap();
    assert_eq!(middle.step, PhoneChangeStep::VerifyNewNumber, "{middle:?}");
    assert!(middle.factor.is_none(), "{middle:?}");

    // Until the new number is confirmed, the factor still texts the old one.
    let listed = s.get(|| s.manage().factors(&user)).await.unwrap();
    let hint = |phone: &str| format!("••• ••{}", &phone[phone.len() - 2..]);
    assert_eq!(listed.factors[0].hint, Some(hint(&old)), "{listed:?}");
    assert_eq!(listed.factors[0].kind, FactorKind::Sms);

    let second = middle.challenge_id.unwrap();
    let new_code = CodeRequest { code: s.last_code_to(&new).await };
    let manage = s.manage();
    // 200 OK.
    let done = manage.continue_phone_change(&user, &factor, &second, &new_code).await.unwrap();
    assert_eq!(done.step, PhoneChangeStep::Changed, "{done:?}");
    assert_eq!(done.factor.unwrap().hint, Some(hint(&new)));

    // Sign-in codes now go to the new number.
    let login = login_id(&s, &user).await;
    let before = s.messages_to(&new).await.len();
    let challenge = s.verify().challenge(&user, &ask(&login, &factor)).await.unwrap();
    assert_eq!(challenge.delivery, "sms");
    assert_eq!(s.messages_to(&new).await.len(), before + 1);
}

#[tokio::test]
#[ignore = "needs a running stack: scripts/test.d/40-e2e.sh"]
async fn a_factor_the_users_org_refuses_neither_signs_in_nor_proves_a_change() {
    let s = stack();
    let (user, org, phone) = (unique_user("no-sms"), unique_user("no-sms-org"), unique_phone());
    let factor = enroll_with_code(&s, &user, &sms(&phone), &phone).await;
    let policy = PolicyBody {
        require_mfa: false,
        grace_logins: 0,
        allowed_factors: Some(vec![FactorKind::Totp, FactorKind::Webauthn]),
        max_factors: None,
        sso_exempt: true,
        token_ttl_seconds: None,
        notices: true,
    };
    assert_eq!(s.admin().admin_set_policy(&org, &policy).await.unwrap(), policy);
    let orgs = MembershipsBody { orgs: vec![org.clone()] };
    assert_eq!(s.admin().admin_set_memberships(&user, &orgs).await.unwrap(), orgs);

    // The password alone is not enough: the user must enroll a kind the org allows.
    let login = s.verify().login(&user, &password()).await.unwrap();
    assert_eq!(login.decision, Decision::EnrollRequired, "{login:?}");
    assert!(login.factors.is_empty(), "{login:?}");
    // The refused factor proves no change (a text to a hijacked number adds no way in)...
    let adding = step_up(Operation::AddFactor, None, &factor);
    refused(s.verify().start_step_up(&user, &adding).await, 403, "policy-forbids");
    // ...but its own removal.
    let removal = step_up(Operation::DeleteFactor, Some(&factor), &factor);
    // 201 Created.
    let started = s.verify().start_step_up(&user, &removal).await.unwrap();
    assert_eq!(started.delivery, "sms");
}
