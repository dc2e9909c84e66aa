//! Apps' API keys, as the README's "API keys, one per app" states them: an admin makes a key for
//! an app with some scopes, shown once as `mfa.{id}.{secret}`, of which the service keeps "its
//! SHA-256 only"; a presented key names its record, and "a revoked key is refused at once". An
//! app's name is 1 to 64 printable characters (`POST /v1/admin/api-keys`), and `configured` is
//! the app of the keys of `MFA_API_KEYS`, which no app key may claim.

use data_encoding::HEXLOWER;
use mfa_service::api_key::Scope;
use mfa_service::domain::Error;
use sha2::{Digest, Sha256};

use crate::harness::Harness;

/// An app's name: "1 to 64 characters".
const LONGEST_APP_NAME: usize = 64;

/// A key opens for its app with the scopes it was made with (each once, whatever the order they
/// were asked in), is listed without its text, and is refused once revoked; its id with another
/// secret is no key.
pub async fn an_app_key_opens_with_its_scopes_until_revoked(h: &Harness) {
    let asked = vec![Scope::Manage, Scope::Verify, Scope::Manage];
    let (key, text) = h.mfa.admin_create_key("  customer-portal ", asked).await.unwrap();
    assert_eq!(key.app, "customer-portal");
    assert_eq!(key.scopes, [Scope::Verify, Scope::Manage]);
    assert_eq!(key.created_at, h.now());
    let secret = text.strip_prefix(&format!("mfa.{}.", key.id)).expect("mfa.{id}.{secret}");
    assert!(!secret.is_empty() && !secret.contains(&key.hash), "{text}");
    assert_eq!(key.hash, HEXLOWER.encode(&Sha256::digest(text.as_bytes())));

    let caller = h.mfa.app_key(&text).await.unwrap().expect("the key opens");
    assert_eq!(caller.app, "customer-portal");
    let allowed: Vec<Scope> = Scope::ALL.into_iter().filter(|s| caller.scopes.allows(*s)).collect();
    assert_eq!(allowed, [Scope::Verify, Scope::Manage]);
    let forged = format!("mfa.{}.{}", key.id, "A".repeat(secret.len()));
    assert!(h.mfa.app_key(&forged).await.unwrap().is_none());

    let listed = h.mfa.admin_keys().await.unwrap();
    assert_eq!(listed.iter().map(|k| &k.id).collect::<Vec<_>>(), [&key.id]);

    h.mfa.admin_revoke_key(&key.id).await.unwrap();
    assert!(h.mfa.app_key(&text).await.unwrap().is_none());
    assert!(h.mfa.admin_keys().await.unwrap().is_empty());
    let again = h.mfa.admin_revoke_key(&key.id).await;
    assert!(matches!(again, Err(Error::NotFound(_))), "{again:?}");
}

/// A key is made only for an app named by 1 to 64 printable characters, not `configured`, and
/// with at least one scope; a refused one stores nothing.
pub async fn an_app_key_needs_a_name_and_a_scope(h: &Harness) {
    let make = |app: String, scopes: Vec<Scope>| async move {
        h.mfa.admin_create_key(&app, scopes).await.map(|(key, _)| key)
    };
    let longest = "é".repeat(LONGEST_APP_NAME);
    assert_eq!(make(longest.clone(), vec![Scope::Verify]).await.unwrap().app, longest);
    let too_long = "e".repeat(LONGEST_APP_NAME + 1);
    for app in ["", "  ", "ci\u{7}", "two\nlines", "configured", " configured ", &too_long] {
        let refused = make(app.to_owned(), vec![Scope::Verify]).await;
        assert!(matches!(refused, Err(Error::BadRequest(_))), "{app:?}: {refused:?}");
    }
    let without_scopes = make("customer-portal".into(), vec![]).await;
    assert!(matches!(without_scopes, Err(Error::BadRequest(_))), "{without_scopes:?}");
    assert_eq!(h.mfa.admin_keys().await.unwrap().len(), 1);
}
