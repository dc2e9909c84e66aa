//! A login backend's second step with `mfa-client`, as the README shows it: after the password,
//! ask the service what comes next; enroll an authenticator app if the user has no factor yet;
//! challenge it and check the code the user types; then check the MFA token against the JWKS,
//! as any of your apps would. Codes are read from stdin, one per line.
//!
//! ```sh
//! MFA_URL=http://127.0.0.1:8080 MFA_API_KEY=mfa_... cargo run -p mfa-client --example login_backend -- ada
//! ```

use mfa_client::api::{
    AuthMethod, ChallengeRequest, Decision, EnrollRequest, LoginRequest, ProofRequest,
};
use mfa_client::{Client, TokenVerifier};

type Failure = Box<dyn std::error::Error>;

/// What the user types next.
fn typed(prompt: &str) -> Result<String, Failure> {
    println!("{prompt}");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

fn code(text: String) -> ProofRequest {
    ProofRequest { code: Some(text), credential: None }
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let user = std::env::args().nth(1).ok_or("usage: login_backend USER")?;
    let mfa = Client::new(&std::env::var("MFA_URL")?, &std::env::var("MFA_API_KEY")?)?;

    // The password was right. What next?
    let password = LoginRequest { auth_method: AuthMethod::Password, mfa_token: None };
    let mut decision = mfa.login(&user, &password).await?;
    if decision.decision != Decision::Challenge {
        // No factor yet: enroll an authenticator app (show `qr_svg` to scan, or the URI).
        let app = EnrollRequest::Totp { label: Some("Phone".into()), account_name: None };
        let enrolled = mfa.enroll(&user, &app, None).await?;
        println!("scan: {}", enrolled.otpauth_uri.unwrap_or_default());
        let first = code(typed("code from the app:")?);
        let active = mfa.activate(&user, &enrolled.factor.id, &first).await?;
        println!(
            "recovery codes, shown once: {}",
            active.recovery_codes.unwrap_or_default().join(" ")
        );
        decision = mfa.login(&user, &password).await?;
    }

    // Challenge the user's first factor and check the code they type.
    let factor = decision.factors.first().ok_or("no active factor")?;
    let ask = ChallengeRequest {
        login_id: decision.login_id.clone(),
        factor_id: factor.id.clone(),
        delivery: None,
    };
    let challenge = mfa.challenge(&user, &ask).await?;
    let token = loop {
        let answer = code(typed("code from the app, at the next 30-second step:")?);
        match mfa.verify(&user, &challenge.challenge_id, &answer).await {
            Ok(token) => break token,
            // A wrong code: ask again (5 in a row lock the second factor).
            Err(e) if e.kind() == Some("code-rejected") => println!("wrong code: {e}"),
            Err(e) => return Err(e.into()),
        }
    };

    // Any of your apps checks the token against the service's JWKS.
    let tokens = TokenVerifier::new(mfa.clone(), "mfa-service", "mfa-service");
    let claims = tokens.verify(&token.mfa_token).await?;
    println!("signed in: sub={} amr={} fid={}", claims.sub, claims.amr.join(","), claims.fid);
    Ok(())
}
