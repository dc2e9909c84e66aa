//! Apps' API keys: an admin makes one for a named app with some scopes (the key is shown once,
//! only its hash is kept), lists them, and revokes one, all without a redeploy. A presented key
//! is found by the id inside it and compared by hash.

use super::{Error, Mfa};
use crate::api_key::{self, Caller, Scope, Scopes};
use crate::ids::KeyId;
use crate::model::AppKey;

/// The most characters of an app's name.
const MAX_APP_NAME: usize = 64;

impl Mfa {
    /// Administration: a new key for `app` with `scopes`; the record, and the key's text (shown
    /// once, never stored).
    pub async fn admin_create_key(
        &self,
        app: &str,
        mut scopes: Vec<Scope>,
    ) -> Result<(AppKey, String), Error> {
        let app = app.trim();
        if app.is_empty() || app.chars().count() > MAX_APP_NAME || app.chars().any(char::is_control)
        {
            return Err(Error::BadRequest(format!(
                "app must be 1 to {MAX_APP_NAME} printable characters"
            )));
        }
        if app == api_key::CONFIGURED_APP {
            return Err(Error::BadRequest(format!(
                "the app name {app:?} is kept for the keys of MFA_API_KEYS"
            )));
        }
        scopes = Scopes::of(&scopes).list();
        if scopes.is_empty() {
            return Err(Error::BadRequest("scopes must name at least one scope".into()));
        }
        let id = self.with_rng(KeyId::generate);
        let text = self.with_rng(|rng| api_key::generate_app_key(&id, rng));
        let hash = data_encoding::HEXLOWER.encode(&mfa_core::keys::api_key_hash(&text));
        let key = AppKey { id, app: app.to_owned(), scopes, hash, created_at: self.now() };
        self.store.insert_app_key(&key).await?;
        tracing::info!(key = %key.id, app = %key.app, scopes = ?key.scopes, "API key made");
        Ok((key, text))
    }

    /// Administration: every app key (never a key's text or hash).
    pub async fn admin_keys(&self) -> Result<Vec<AppKey>, Error> {
        Ok(self.store.list_app_keys().await?)
    }

    /// Administration: revokes an app key; its next request is refused.
    pub async fn admin_revoke_key(&self, id: &KeyId) -> Result<(), Error> {
        if !self.store.delete_app_key(id).await? {
            return Err(Error::NotFound("API key"));
        }
        tracing::info!(key = %id, "API key revoked");
        Ok(())
    }

    /// The caller of `presented`, if it is an app key the store holds.
    pub async fn app_key(&self, presented: &str) -> Result<Option<Caller>, Error> {
        let Some(id) = api_key::app_key_id(presented) else { return Ok(None) };
        let Some(key) = self.store.get_app_key(&id).await? else { return Ok(None) };
        Ok(api_key::matches_hash(presented, &key.hash)
            .then(|| Caller { app: key.app, scopes: Scopes::of(&key.scopes) }))
    }
}
