//! Organisation policies: a default until one is put.

use std::sync::Arc;

use mfa_service::model::OrgPolicy;

use crate::support::unique;
use crate::TestStore;

pub async fn policy_defaults_then_put_and_get<S: TestStore>(store: Arc<S>) {
    let org = unique("org");
    let other = unique("org");
    assert_eq!(store.get_policy(&org).await.unwrap(), OrgPolicy::default());

    let strict = OrgPolicy { require_mfa: true };
    store.put_policy(&org, &strict).await.unwrap();
    assert_eq!(store.get_policy(&org).await.unwrap(), strict);
    assert_eq!(store.get_policy(&other).await.unwrap(), OrgPolicy::default());

    let lax = OrgPolicy { require_mfa: false };
    store.put_policy(&org, &lax).await.unwrap();
    assert_eq!(store.get_policy(&org).await.unwrap(), lax);
}
