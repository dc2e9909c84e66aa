//! Organisations: their MFA policies, which orgs each user belongs to (set by an admin, never
//! taken from a caller), and the policy a user's sign-ins follow: the strictest of the user's
//! orgs' ([`OrgPolicy::strictest`]).

use super::{Error, Mfa};
use crate::ids::{OrgId, UserId};
use crate::model::{Decision, FactorKind, OrgPolicy};

/// The most orgs one user may belong to.
pub const MAX_MEMBERSHIPS: usize = 50;
/// The shortest MFA token lifetime an org may ask for, in seconds.
pub const MIN_TOKEN_TTL: u64 = 60;

/// The policy a user's sign-ins follow, and the policy of each of the user's orgs (whose grace
/// sign-ins are counted per org).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UserPolicy {
    /// The strictest of the orgs' policies (the default when the user belongs to none).
    pub strictest: OrgPolicy,
    /// Each org's own policy.
    pub orgs: Vec<(OrgId, OrgPolicy)>,
}

impl Mfa {
    /// Administration: sets an organisation's MFA policy, after checking it.
    pub async fn admin_set_policy(
        &self,
        org: &OrgId,
        mut policy: OrgPolicy,
    ) -> Result<OrgPolicy, Error> {
        if policy.max_factors == Some(0) {
            return Err(Error::BadRequest("max_factors must be at least 1".into()));
        }
        if let Some(kinds) = &mut policy.allowed_factors {
            kinds.sort_by_key(|k| k.as_str());
            kinds.dedup();
            if kinds.is_empty() {
                return Err(Error::BadRequest(
                    "allowed_factors must name at least one kind (or be left out: every kind)"
                        .into(),
                ));
            }
        }
        let longest = self.tokens.ttl();
        if let Some(ttl) = policy.token_ttl_seconds {
            if !(MIN_TOKEN_TTL..=longest).contains(&ttl) {
                return Err(Error::BadRequest(format!(
                    "token_ttl_seconds must be from {MIN_TOKEN_TTL} to the service's {longest}"
                )));
            }
        }
        self.store.put_policy(org, &policy).await?;
        Ok(policy)
    }

    /// Administration: an organisation's MFA policy.
    pub async fn admin_policy(&self, org: &OrgId) -> Result<OrgPolicy, Error> {
        Ok(self.store.get_policy(org).await?)
    }

    /// Administration: sets the orgs a user belongs to (replacing the previous list).
    pub async fn admin_set_memberships(
        &self,
        user: &UserId,
        mut orgs: Vec<OrgId>,
    ) -> Result<Vec<OrgId>, Error> {
        orgs.sort();
        orgs.dedup();
        if orgs.len() > MAX_MEMBERSHIPS {
            return Err(Error::BadRequest(format!(
                "a user belongs to at most {MAX_MEMBERSHIPS} orgs"
            )));
        }
        let mut policies = Vec::new();
        for org in &orgs {
            policies.push(self.store.get_policy(org).await?);
        }
        if OrgPolicy::strictest(&policies).allowed_factors.is_some_and(|kinds| kinds.is_empty()) {
            return Err(Error::BadRequest(
                "these orgs allow no factor kind in common: the user could never sign in".into(),
            ));
        }
        self.store.put_memberships(user, &orgs).await?;
        Ok(orgs)
    }

    /// Administration: the orgs a user belongs to.
    pub async fn admin_memberships(&self, user: &UserId) -> Result<Vec<OrgId>, Error> {
        Ok(self.store.memberships(user).await?)
    }

    /// The policy `user`'s sign-ins and factors follow.
    pub(super) async fn policy_of(&self, user: &UserId) -> Result<UserPolicy, Error> {
        let orgs = self.store.memberships(user).await?;
        self.policy_of_orgs(orgs).await
    }

    /// The policies of `orgs` (a user's), one read, and the strictest of them.
    pub(super) async fn policy_of_orgs(&self, orgs: Vec<OrgId>) -> Result<UserPolicy, Error> {
        let policies = self.store.get_policies(&orgs).await?;
        let orgs: Vec<(OrgId, OrgPolicy)> = orgs.into_iter().zip(policies).collect();
        let strictest = OrgPolicy::strictest(orgs.iter().map(|(_, policy)| policy));
        Ok(UserPolicy { strictest, orgs })
    }

    /// For a user without a usable factor: enrolling is required when one of the user's orgs
    /// requires MFA and the user's grace sign-ins there are used up; suggested otherwise.
    pub(super) async fn enroll_decision(
        &self,
        user: &UserId,
        policy: &UserPolicy,
    ) -> Result<Decision, Error> {
        for (org, policy) in policy.orgs.iter().filter(|(_, p)| p.require_mfa) {
            if !self.store.take_grace_login(user, org, policy.grace_logins).await? {
                return Ok(Decision::EnrollRequired);
            }
        }
        Ok(Decision::EnrollSuggested)
    }
}

/// Refuses a factor of `kind` when `allowed` (the kinds the user's orgs allow; `None`: every
/// kind) does not hold it.
pub(super) fn check_allowed(allowed: Option<&[FactorKind]>, kind: FactorKind) -> Result<(), Error> {
    if allowed.is_none_or(|kinds| kinds.contains(&kind)) {
        Ok(())
    } else {
        Err(Error::PolicyForbids(format!(
            "the user's organisation does not allow {} factors",
            kind.as_str()
        )))
    }
}

/// Refuses one more active factor than `max_factors` (the orgs' limit) allows a user who has
/// `active` of them.
pub(super) fn check_room(max_factors: Option<u32>, active: usize) -> Result<(), Error> {
    match max_factors {
        Some(max) if active >= max as usize => Err(Error::PolicyForbids(format!(
            "the user's organisation allows at most {max} active factor(s): remove one first"
        ))),
        _ => Ok(()),
    }
}
