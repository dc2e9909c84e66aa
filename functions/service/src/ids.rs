//! Identifiers, each its own type so that a user id can't be passed where a factor id belongs.
//!
//! Ids from callers (the SaaS's user and org ids, and the ids of ours they send back) are parsed
//! once, at the HTTP edge, by one rule: 1 to [`MAX_ID`] characters of ASCII letters, digits and
//! `. _ @ + - : |`. Ids the service makes are a prefix (`fac_` factors, `lgn_` logins, `chl_`
//! challenges, `rcs_` recovery sets, `aud_` audit events, `jti_` tokens) and 128 random bits in
//! lower-case base32, so they are unguessable as well as unique. Stored records hold ids as plain
//! strings (`#[serde(transparent)]`): the types change nothing on disk.

use std::fmt;

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

/// The most characters of an id.
pub const MAX_ID: usize = 128;

/// An id that breaks the rule, with what it was meant to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be 1 to {MAX_ID} characters of letters, digits and . _ @ + - : |")]
pub struct BadId {
    /// What the id names, as the message says it ("the user id").
    pub what: &'static str,
}

/// A new random id with `prefix`, e.g. `rcs_2x7...`.
pub fn new_id(prefix: &str, rng: &mut dyn CryptoRngCore) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    format!("{prefix}_{}", data_encoding::BASE32_NOPAD.encode(&bytes).to_ascii_lowercase())
}

fn well_formed(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_ID
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "._@+-:|".contains(c))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses an id a caller sent; [`BadId`] when it breaks the rule of [`crate::ids`].
            pub fn parse(value: &str) -> Result<Self, BadId> {
                if well_formed(value) {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(BadId { what: $what })
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
    ($(#[$doc:meta])* $name:ident, $what:literal, prefix $prefix:literal) => {
        id_type!($(#[$doc])* $name, $what);

        impl $name {
            #[doc = concat!("A new random id (`", $prefix, "_...`).")]
            pub fn generate(rng: &mut dyn CryptoRngCore) -> Self {
                Self(new_id($prefix, rng))
            }
        }
    };
}

id_type!(
    /// The SaaS's own id of a user.
    UserId,
    "the user id"
);
id_type!(
    /// The SaaS's own id of an organisation.
    OrgId,
    "the org id"
);
id_type!(
    /// A second factor of a user.
    FactorId,
    "the factor id",
    prefix "fac"
);
id_type!(
    /// A sign-in in progress.
    LoginId,
    "the login id",
    prefix "lgn"
);
id_type!(
    /// An app's API key (its record; the key itself is shown once).
    KeyId,
    "the key id",
    prefix "key"
);
id_type!(
    /// A request for one factor's proof (a sign-in's, an activation's or a phone change's).
    ChallengeId,
    "the challenge id",
    prefix "chl"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_one_rule() {
        assert_eq!(UserId::parse("ada@example.com").unwrap().as_str(), "ada@example.com");
        assert!(UserId::parse("org:1|user+2._-").is_ok());
        assert!(UserId::parse(&"a".repeat(MAX_ID)).is_ok());
        for bad in ["", "a b", "a/b", "ä", "a\n", &"a".repeat(MAX_ID + 1)] {
            assert_eq!(UserId::parse(bad), Err(BadId { what: "the user id" }), "{bad:?}");
        }
        assert_eq!(FactorId::parse("x?").unwrap_err().what, "the factor id");
    }

    #[test]
    fn generated_ids_are_prefixed_random_and_parse_back() {
        let mut rng = rand_core::OsRng;
        let a = FactorId::generate(&mut rng);
        let b = FactorId::generate(&mut rng);
        assert!(a.as_str().starts_with("fac_") && a.as_str().len() == 4 + 26, "{a}");
        assert_ne!(a, b);
        assert_eq!(FactorId::parse(a.as_str()), Ok(a));
        assert!(LoginId::generate(&mut rng).as_str().starts_with("lgn_"));
        assert!(ChallengeId::generate(&mut rng).as_str().starts_with("chl_"));
    }

    #[test]
    fn ids_are_stored_as_plain_strings() {
        let id = UserId::parse("ada").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"ada\"");
        assert_eq!(serde_json::from_str::<UserId>("\"ada\"").unwrap(), id);
    }
}
