//! Caller authentication: API keys, stored only as SHA-256 hashes, each belonging to an app and
//! allowed some [`Scopes`].
//!
//! Two kinds of keys. Bootstrap keys come from configuration (`MFA_API_KEYS`,
//! `scope:sha256-hex`, app [`CONFIGURED_APP`]). App keys are made, listed and revoked by an admin
//! over the API and kept in the store ([`crate::model::AppKey`]); their text is
//! `mfa.{key id}.{secret}`, so a presented key names the one record to compare it with. Keys are
//! long random strings (256 bits), so a fast hash is the right tool: there is nothing to
//! brute-force; hashes are compared in constant time.
//!
//! While a request runs, the app that made it is known to the domain ([`acting_app`]), which
//! records it in every audit event.

use mfa_core::keys::{api_key, api_key_hash};
use rand_core::CryptoRngCore;
use subtle::ConstantTimeEq;

use crate::ids::KeyId;
use crate::secret::Key;
pub use mfa_api::Scope;

/// The app of the keys from configuration.
pub const CONFIGURED_APP: &str = "configured";
/// How an app key's text begins.
const APP_KEY_PREFIX: &str = "mfa.";

/// The scope's bit in a [`Scopes`] set.
fn bit(scope: Scope) -> u8 {
    match scope {
        Scope::Verify => 1,
        Scope::Enroll => 2,
        Scope::Manage => 4,
        Scope::Admin => 8,
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// The scopes of a configured key: `verify`, `enroll`, `manage` or `admin` joined by `+`;
    /// `service` is `verify+enroll+manage`, and a lone `admin` is every scope (the bootstrap
    /// key of a new deployment).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "service" => return Some(Self::of(&[Scope::Verify, Scope::Enroll, Scope::Manage])),
            "admin" => return Some(Self::of(&Scope::ALL)),
            _ => {}
        }
        let scopes: Option<Vec<Scope>> = text
            .split('+')
            .map(|name| Scope::ALL.into_iter().find(|s| s.as_str() == name.trim()))
            .collect();
        scopes.map(|s| Self::of(&s))
    }

    /// The set of `scopes`.
    pub fn of(scopes: &[Scope]) -> Self {
        Self(scopes.iter().fold(0, |bits, s| bits | bit(*s)))
    }

    /// Whether the set holds `needed`.
    pub fn allows(self, needed: Scope) -> bool {
        self.0 & bit(needed) != 0
    }

    /// The scopes in the set, in the order of [`Scope::ALL`].
    pub fn list(self) -> Vec<Scope> {
        Scope::ALL.into_iter().filter(|s| self.allows(*s)).collect()
    }

    fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// Who is calling: an app, and what its key allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The app's name.
    pub app: String,
    /// What its key allows.
    pub scopes: Scopes,
}

/// The configured key hashes; `Debug` shows only their scopes.
#[derive(Debug, Clone, Default)]
pub struct ApiKeys {
    entries: Vec<(Scopes, Key)>,
}

impl ApiKeys {
    /// Keys as (scopes, SHA-256 of the key).
    pub fn new(entries: Vec<(Scopes, Key)>) -> Self {
        Self { entries }
    }

    /// The caller of `presented`, if it is a configured key. Every entry is compared, in
    /// constant time.
    pub fn check(&self, presented: &str) -> Option<Caller> {
        let hash = api_key_hash(presented);
        let mut found: Option<Scopes> = None;
        for (scopes, stored) in &self.entries {
            if bool::from(stored.expose().ct_eq(&hash)) {
                found = Some(found.unwrap_or_default().union(*scopes));
            }
        }
        found.map(|scopes| Caller { app: CONFIGURED_APP.to_owned(), scopes })
    }
}

/// Whether `presented` hashes to `stored` (hex), compared in constant time.
pub fn matches_hash(presented: &str, stored: &str) -> bool {
    let stored = data_encoding::HEXLOWER.decode(stored.as_bytes()).unwrap_or_default();
    bool::from(stored.ct_eq(&api_key_hash(presented)))
}

/// A new app key's text for the record `id`.
pub fn generate_app_key(id: &KeyId, rng: &mut dyn CryptoRngCore) -> String {
    format!("{APP_KEY_PREFIX}{id}.{}", api_key(rng))
}

/// The record an app key's text names, if it has the shape of one.
pub fn app_key_id(presented: &str) -> Option<KeyId> {
    let (id, _) = presented.strip_prefix(APP_KEY_PREFIX)?.split_once('.')?;
    KeyId::parse(id).ok()
}

tokio::task_local! {
    static ACTING_APP: String;
}

/// Runs `work` (a request's handling) as `app`.
pub async fn acting_as<F: std::future::Future>(app: String, work: F) -> F::Output {
    ACTING_APP.scope(app, work).await
}

/// The app whose request is being handled, if any.
pub fn acting_app() -> Option<String> {
    ACTING_APP.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn configured_keys_are_checked_by_hash_and_scoped() {
        let hashed = |key| Secret::new(api_key_hash(key));
        let service = Scopes::parse("service").unwrap();
        let keys = ApiKeys::new(vec![
            (service, hashed("svc")),
            (Scopes::parse("admin").unwrap(), hashed("adm")),
        ]);
        let svc = keys.check("svc").unwrap();
        assert_eq!(
            (svc.app.as_str(), svc.scopes.list()),
            ("configured", vec![Scope::Verify, Scope::Enroll, Scope::Manage])
        );
        assert_eq!(keys.check("adm").unwrap().scopes.list(), Scope::ALL.to_vec());
        assert_eq!(keys.check("other"), None);
        assert!(!svc.scopes.allows(Scope::Admin));
    }

    #[test]
    fn scopes_parse_from_their_names() {
        let verify_only = Scopes::parse("verify").unwrap();
        assert!(verify_only.allows(Scope::Verify) && !verify_only.allows(Scope::Enroll));
        assert_eq!(
            Scopes::parse("manage+admin").unwrap().list(),
            vec![Scope::Manage, Scope::Admin]
        );
        assert_eq!(Scopes::parse("root"), None);
        assert_eq!(Scopes::parse("verify+root"), None);
    }

    #[test]
    fn app_keys_name_their_record() {
        let id = KeyId::generate(&mut rand_core::OsRng);
        let key = generate_app_key(&id, &mut rand_core::OsRng);
        assert_eq!(app_key_id(&key), Some(id));
        assert!(matches_hash(&key, &data_encoding::HEXLOWER.encode(&api_key_hash(&key))));
        assert!(!matches_hash("mfa.other", &data_encoding::HEXLOWER.encode(&api_key_hash(&key))));
        assert_eq!(app_key_id("mfa_abc"), None);
        assert_eq!(app_key_id("mfa.not an id.x"), None);
    }
}
