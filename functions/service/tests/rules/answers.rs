//! What the domain answers says what it did: an activated factor is answered as active, since
//! the moment of its activation (README, route table: `POST /v1/users/{user}/factors/{id}/activate`
//! "activate"); and a sign-in that already had its text is told which factors it can use instead
//! (README, "The SMS program": "a login gets at most one SMS challenge; asking for another
//! answers 409 `use-another-factor` with the user's other factors": the active ones, since a
//! pending factor can't sign in). An activation also answers a new set of recovery codes when
//! the last code was used, and refuses a factor that another's activation overtook.

use std::collections::BTreeSet;

use mfa_service::domain::Error;
use mfa_service::model::{FactorStatus, Operation};

use crate::harness::{Channel, Harness, Member, Pending};

/// An activation answers the factor as active since the moment of its activation.
pub async fn an_activation_answers_the_active_factor(h: &Harness) {
    let member = h.member().await;
    let token = h.step_up(&member, Operation::AddFactor).await;
    let pending = h.add_app(&member, &token).await.unwrap();
    let activated = h.activate(&member.user, &pending, true).await.unwrap();
    assert_eq!(activated.factor.id, pending.id);
    assert_eq!(activated.factor.status, FactorStatus::Active, "{activated:?}");
    assert_eq!(activated.factor.activated_at, Some(h.now()), "{activated:?}");
}

/// A second text in one sign-in is refused with the user's other active factors: the email
/// factor and the app, not the SMS factor itself.
pub async fn a_second_text_names_the_other_active_factors(h: &Harness) {
    let member = h.member().await;
    let challenge = h.challenge(&member, Channel::Text).await;
    let again = h.try_challenge_in(&member, &challenge.login, Channel::Text).await;
    let Err(Error::UseAnotherFactor { factors, .. }) = again else { panic!("{again:?}") };
    let offered: BTreeSet<_> = factors.iter().map(|f| f.id.clone()).collect();
    let others = BTreeSet::from([
        member.factor(Channel::Email).clone(),
        member.factor(Channel::App).clone(),
    ]);
    assert_eq!(offered, others);
}

/// "The first factor comes with `recovery_codes` (so does any factor activated once every code
/// of the set was used)" (README, route table): a factor activated while one code is left comes
/// without; once the last is used, the next comes with a new set of 10.
pub async fn an_activation_after_the_last_recovery_code_brings_a_new_set(h: &Harness) {
    let member = h.member().await;
    let (last, others) = member.recovery_codes.split_last().unwrap();
    for code in others {
        h.recover(&member, code).await.unwrap();
    }
    let with_one_left = h.activate(&member.user, &another_app(h, &member).await, true).await;
    assert_eq!(with_one_left.unwrap().recovery_codes, None);
    h.recover(&member, last).await.unwrap();
    let with_none_left = h.activate(&member.user, &another_app(h, &member).await, true).await;
    let new_set = with_none_left.unwrap().recovery_codes.unwrap();
    assert_eq!(new_set.len(), 10);
    h.recover(&member, &new_set[0]).await.unwrap();
}

/// "409 if another factor was activated after this one was enrolled: enroll it again" (README,
/// route table): a factor enrolled without a step-up, while the user had none active, can't be
/// activated once another is, whatever the code; a wrong code is not even tried.
pub async fn a_factor_enrolled_before_another_was_activated_must_be_enrolled_again(h: &Harness) {
    let user = crate::common::new_user();
    let first = h.enroll(&user, Channel::App, "", None).await.unwrap();
    let second = h.enroll(&user, Channel::App, "", None).await.unwrap();
    h.activate(&user, &first, true).await.unwrap();
    for right in [false, true] {
        let refused = h.activate(&user, &second, right).await;
        assert!(matches!(refused, Err(Error::Conflict(_))), "right code: {right}: {refused:?}");
    }
}

/// Another app enrolled next to the member's factors, pending.
async fn another_app(h: &Harness, member: &Member) -> Pending {
    let token = h.step_up(member, Operation::AddFactor).await;
    h.add_app(member, &token).await.unwrap()
}

/// "`amr` says how the factor was proved" (README, the MFA token): `sms` for a text, `tel` for
/// a code read out in a call, `email`, `otp` for an app; `sub` is the user and `fid` the factor.
pub async fn a_token_says_how_its_factor_was_proved(h: &Harness, channel: Channel) {
    let member = h.member().await;
    let amr = match channel {
        Channel::Text => "sms",
        Channel::Call => "tel",
        Channel::Email => "email",
        Channel::App => "otp",
    };
    let claims = mfa_e2e::jwt_claims(&h.sign_in(&member, channel).await.unwrap().token);
    assert_eq!(claims["amr"], serde_json::json!([amr]), "{claims}");
    assert_eq!(claims["fid"], member.factor(channel).as_str(), "{claims}");
    assert_eq!(claims["sub"], member.user.as_str(), "{claims}");
}

/// A recovery code's token (README, the MFA token): `amr` `otp` ("an authenticator app or a
/// recovery code") and `fid` `recovery_code`; the answer counts the codes left of the 10.
pub async fn a_recovery_code_token_names_no_factor(h: &Harness) {
    let member = h.member().await;
    let used = h.recover(&member, &member.recovery_codes[0]).await.unwrap();
    assert_eq!(used.remaining, 9);
    let claims = mfa_e2e::jwt_claims(&used.token.token);
    assert_eq!(claims["amr"], serde_json::json!(["otp"]), "{claims}");
    assert_eq!(claims["fid"], "recovery_code", "{claims}");
    assert_eq!(claims["sub"], member.user.as_str(), "{claims}");
}

/// A token's signature verifies with the key of the JWKS its `kid` names (README: any app "can
/// check [it] against `GET /.well-known/jwks.json`"), an Ed25519 public key as RFC 8037 writes
/// one: `kty` `OKP`, `crv` `Ed25519`, `x` its 32 bytes, and no private part. The e2e runs check
/// it again with PyJWT over HTTP.
pub async fn a_token_verifies_with_the_jwks_key_it_names(h: &Harness) {
    use aws_lc_rs::signature::{UnparsedPublicKey, ED25519};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    let member = h.member().await;
    let token = h.sign_in(&member, Channel::App).await.unwrap().token;
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(signed.split('.').next().unwrap()).unwrap())
            .unwrap();
    assert_eq!(header["alg"], "EdDSA", "{header}");
    let jwks = h.mfa.jwks();
    let keys = jwks["keys"].as_array().unwrap_or_else(|| panic!("no keys: {jwks}"));
    let key = keys.iter().find(|k| k["kid"] == header["kid"]).expect("the kid's key");
    assert_eq!((&key["kty"], &key["crv"]), (&"OKP".into(), &"Ed25519".into()), "{key}");
    assert!(key.get("d").is_none(), "a private part: {key}");
    let x = URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap();
    assert_eq!(x.len(), 32, "{key}");
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let public = UnparsedPublicKey::new(&ED25519, &x);
    public.verify(signed.as_bytes(), &signature).expect("the signature verifies");
    let mut altered = signature.clone();
    altered[0] ^= 1;
    assert!(public.verify(signed.as_bytes(), &altered).is_err());
}

/// A passkey sign-in's login decision "refuses (403 `step-up-required`) without that token or
/// with a token that did not come from a passkey that verified its user" (README, passkeys):
/// the member's own tokens by an app, a text, an email or a recovery code are refused, though
/// the same tokens allow a password sign-in.
pub async fn a_passkey_sign_in_takes_only_a_passkeys_token(h: &Harness) {
    use mfa_service::model::{AuthMethod, Decision};

    let member = h.member().await;
    let mut tokens = Vec::new();
    for channel in [Channel::App, Channel::Text, Channel::Email] {
        tokens.push(h.sign_in(&member, channel).await.unwrap().token);
    }
    tokens.push(h.recover(&member, &member.recovery_codes[0]).await.unwrap().token.token);
    for token in &tokens {
        let by_password = h.mfa.login(&member.user, AuthMethod::Password, Some(token)).await;
        assert_eq!(by_password.unwrap().decision, Decision::Allow);
        let by_passkey = h.mfa.login(&member.user, AuthMethod::Passkey, Some(token)).await;
        assert!(matches!(by_passkey, Err(Error::StepUpRequired(_))), "{by_passkey:?}");
    }
}
