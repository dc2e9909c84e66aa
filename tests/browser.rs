//! A browser's part of WebAuthn, for tests: `navigator.credentials.create()` and `.get()` over
//! software authenticators (`webauthn-authenticator-rs`), taking the service's options JSON and
//! giving the credential JSON a browser's `PublicKeyCredential.toJSON()` would.

use serde_json::Value;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

/// Records the challenge of a ceremony's `options` ([`crate::seen`]).
fn seen_challenge(options: &Value) {
    if let Some(challenge) = options["publicKey"]["challenge"].as_str() {
        crate::seen(crate::Secret::WebauthnChallenge, challenge);
    }
}

fn url(origin: &str) -> Url {
    Url::parse(origin).unwrap_or_else(|e| panic!("{origin:?} is not an origin: {e}"))
}

/// A software authenticator, and whether it verifies its user (a PIN or biometrics).
pub struct Authenticator {
    /// The software authenticator.
    pub token: SoftPasskey,
    /// Whether it verifies its user.
    pub verifies_user: bool,
}

/// A security key without a PIN: it never verifies the user.
pub fn security_key() -> Authenticator {
    Authenticator { token: SoftPasskey::new(false), verifies_user: false }
}

/// A passkey's authenticator: it verifies the user.
pub fn passkey() -> Authenticator {
    Authenticator { token: SoftPasskey::new(true), verifies_user: true }
}

/// The browser's part of `navigator.credentials.create()`, at `origin`. The software
/// authenticator can't keep resident keys: the passkey options' `residentKey: required` (which no
/// server can check at registration) is relaxed for it, as a roaming key would ignore it.
pub fn register(authenticator: &mut Authenticator, origin: &str, options: &Value) -> Value {
    seen_challenge(options);
    let mut options = options.clone();
    if let Some(selection) = options["publicKey"].get_mut("authenticatorSelection") {
        selection["residentKey"] = "discouraged".into();
        selection["requireResidentKey"] = false.into();
    }
    let options: CreationChallengeResponse =
        serde_json::from_value(options).unwrap_or_else(|e| panic!("not creation options: {e}"));
    let credential = authenticator
        .token
        .do_registration(url(origin), options)
        .unwrap_or_else(|e| panic!("the authenticator refused to register: {e:?}"));
    serde_json::to_value(credential).unwrap_or_else(|e| panic!("{e}"))
}

/// The browser's part of `navigator.credentials.get()`, at `origin`: the authenticator answers
/// with whichever allowed credential it holds (the software one fails on ids it doesn't know, so
/// each is offered alone), and one that can verify its user does so when that is preferred.
pub fn assert(authenticator: &mut Authenticator, origin: &str, options: &Value) -> Value {
    seen_challenge(options);
    let mut options = options.clone();
    if authenticator.verifies_user {
        options["publicKey"]["userVerification"] = "required".into();
    }
    let allowed = options["publicKey"]["allowCredentials"].as_array().cloned().unwrap_or_default();
    for credential in allowed {
        options["publicKey"]["allowCredentials"] = Value::Array(vec![credential]);
        let one: RequestChallengeResponse = serde_json::from_value(options.clone())
            .unwrap_or_else(|e| panic!("not request options: {e}"));
        if let Ok(assertion) = authenticator.token.do_authentication(url(origin), one) {
            return serde_json::to_value(assertion).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    panic!("the authenticator holds none of the credentials allowed")
}
