//! One-time recovery codes and their stored form.
//!
//! A code is 16 Crockford base32 characters (80 random bits), shown as `XXXX-XXXX-XXXX-XXXX`.
//! Input is forgiving: case, spaces and dashes don't matter, and `O` reads as `0`, `I` and `L` as
//! `1`, the letters people confuse.
//!
//! Codes are stored as Argon2id hashes in the PHC string format
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), the one format that the service and the
//! PostgreSQL extension both read and write. All codes of one set share one salt, so checking an
//! attempt against the user's whole set costs one Argon2 computation instead of one per code. The
//! salt still differs between sets and users; within a set the codes themselves are independent
//! 80-bit random values, so sharing it gives an attacker nothing to precompute.
//!
//! ```
//! use mfa_core::recovery::{find_match, generate_set, HashCost};
//! # let mut rng = rand_core::OsRng;
//! let cost = HashCost::new(1024, 1, 1).unwrap(); // cheap, for the example only
//! let set = generate_set(&mut rng, 3, &cost).unwrap();
//! let hashes: Vec<&str> = set.iter().map(|c| c.hash.as_str()).collect();
//! let typed = set[1].code.to_lowercase().replace('-', " ");
//! assert_eq!(find_match(&typed, &hashes).unwrap(), Some(1));
//! assert_eq!(find_match("0000-0000-0000-0000", &hashes).unwrap(), None);
//! ```

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, Params, Version};
use rand_core::CryptoRngCore;

/// Characters of a code, before grouping: 16 × 5 bits = 80 bits.
pub const CODE_LEN: usize = 16;
/// The most codes one set may hold.
pub const MAX_SET_SIZE: usize = 100;
/// Crockford's base32 alphabet: digits and letters without I, L, O and U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Upper bounds on a stored hash's cost, so that a crafted hash can't exhaust memory or CPU.
const MAX_MEMORY_KIB: u32 = 256 * 1024;
const MAX_ITERATIONS: u32 = 10;
const MAX_LANES: u32 = 8;

/// Why recovery codes could not be made or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    /// The requested number of codes is outside 1 to 100.
    #[error("a set holds 1 to 100 recovery codes, not {0}")]
    Count(i64),
    /// The stored hash is not a PHC string.
    #[error("malformed recovery-code hash: {0}")]
    MalformedHash(String),
    /// The stored hash is a PHC string of another algorithm.
    #[error("unsupported recovery-code hash algorithm {0:?}: only argon2id is accepted")]
    UnsupportedAlgorithm(String),
    /// The hash's cost parameters are out of range.
    #[error("recovery-code hash cost out of range: {0}")]
    Cost(String),
}

/// Argon2id cost: memory in KiB, iterations and lanes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashCost(Params);

impl Default for HashCost {
    /// 19 MiB, 2 iterations, 1 lane: OWASP's baseline for Argon2id. A modest cost is enough for
    /// 80-bit random codes; it guards a leaked table, not a guessable password.
    fn default() -> Self {
        Self(Params::new(19 * 1024, 2, 1, None).unwrap_or_default())
    }
}

impl HashCost {
    /// Checks and builds a cost: memory in KiB (at least 8 × lanes), iterations and lanes.
    pub fn new(memory_kib: u32, iterations: u32, lanes: u32) -> Result<Self, RecoveryError> {
        check_cost(memory_kib, iterations, lanes)?;
        Params::new(memory_kib, iterations, lanes, None)
            .map(Self)
            .map_err(|e| RecoveryError::Cost(e.to_string()))
    }
}

fn check_cost(memory_kib: u32, iterations: u32, lanes: u32) -> Result<(), RecoveryError> {
    if memory_kib > MAX_MEMORY_KIB || iterations > MAX_ITERATIONS || lanes > MAX_LANES {
        return Err(RecoveryError::Cost(format!(
            "m={memory_kib},t={iterations},p={lanes} exceeds m={MAX_MEMORY_KIB},t={MAX_ITERATIONS},p={MAX_LANES}"
        )));
    }
    Ok(())
}

/// A code as shown to the user once, and the hash to store.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCode {
    /// The code for the user, grouped as `XXXX-XXXX-XXXX-XXXX`. Show once; never store.
    pub code: String,
    /// Its Argon2id PHC string, to store.
    pub hash: String,
}

impl std::fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCode").field("code", &"<redacted>").field("hash", &self.hash).finish()
    }
}

/// Makes a set of `count` distinct codes that share one fresh salt, with their hashes.
pub fn generate_set(
    rng: &mut impl CryptoRngCore,
    count: i64,
    cost: &HashCost,
) -> Result<Vec<IssuedCode>, RecoveryError> {
    let n = usize::try_from(count)
        .ok()
        .filter(|n| (1..=MAX_SET_SIZE).contains(n))
        .ok_or(RecoveryError::Count(count))?;
    let salt = SaltString::generate(&mut *rng);
    let argon = Argon2::new(argon2::Algorithm::Argon2id, Version::V0x13, cost.0.clone());
    let mut codes: Vec<String> = Vec::with_capacity(n);
    while codes.len() < n {
        let code = random_code(rng);
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
        .into_iter()
        .map(|code| {
            let hash = argon
                .hash_password(code.as_bytes(), &salt)
                .map_err(|e| RecoveryError::Cost(e.to_string()))?
                .to_string();
            Ok(IssuedCode { code: group(&code), hash })
        })
        .collect()
}

fn random_code(rng: &mut impl CryptoRngCore) -> String {
    let mut bytes = [0u8; 10];
    rng.fill_bytes(&mut bytes);
    let bits = bytes.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    (0..CODE_LEN).rev().map(|i| char::from(ALPHABET[((bits >> (i * 5)) & 0x1f) as usize])).collect()
}

fn group(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// Normalises what a user typed to the 16 characters that are hashed, or `None` when it can't be
/// a code: case, spaces and dashes are ignored, `O` reads as `0`, `I` and `L` as `1`.
///
/// ```
/// use mfa_core::recovery::normalize;
/// assert_eq!(normalize(" abcd-efgh-jkmn-pq0o "), Some("ABCDEFGHJKMNPQ00".to_owned()));
/// assert_eq!(normalize("iL11 2222 3333 4444"), Some("1111222233334444".to_owned()));
/// assert_eq!(normalize("ABCD-EFGH"), None);
/// ```
pub fn normalize(input: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_LEN);
    for c in input.chars() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        if out.len() == CODE_LEN {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_LEN).then_some(out)
}

/// A parsed, checked stored hash.
struct StoredHash<'a> {
    phc: PasswordHash<'a>,
    params: Params,
    version: Version,
}

fn parse_hash(text: &str) -> Result<StoredHash<'_>, RecoveryError> {
    let phc = PasswordHash::new(text).map_err(|e| RecoveryError::MalformedHash(e.to_string()))?;
    if phc.algorithm != argon2::ARGON2ID_IDENT {
        return Err(RecoveryError::UnsupportedAlgorithm(phc.algorithm.to_string()));
    }
    if phc.salt.is_none() || phc.hash.is_none() {
        return Err(RecoveryError::MalformedHash("salt or hash missing".to_owned()));
    }
    let params = Params::try_from(&phc).map_err(|e| RecoveryError::MalformedHash(e.to_string()))?;
    check_cost(params.m_cost(), params.t_cost(), params.p_cost())?;
    let version = Version::try_from(phc.version.unwrap_or(0x13))
        .map_err(|e| RecoveryError::MalformedHash(e.to_string()))?;
    Ok(StoredHash { phc, params, version })
}

/// Whether `input` is the code behind `hash`. A malformed hash is an error; input that can't be a
/// code is simply `false`.
pub fn verify(input: &str, hash: &str) -> Result<bool, RecoveryError> {
    Ok(find_match(input, &[hash])?.is_some())
}

/// The index (0-based) of the hash in `hashes` that `input` matches, or `None`.
///
/// Each distinct salt and cost among `hashes` costs one Argon2id computation; a set made by
/// [`generate_set`] has one. Every hash is compared (in constant time), whether or not an
/// earlier one matched. Any malformed hash is an error, even when another one matches.
pub fn find_match<S: AsRef<str>>(
    input: &str,
    hashes: &[S],
) -> Result<Option<usize>, RecoveryError> {
    let stored = hashes.iter().map(|h| parse_hash(h.as_ref())).collect::<Result<Vec<_>, _>>()?;
    let Some(code) = normalize(input) else {
        return Ok(None);
    };
    // One computed hash per distinct (version, params, salt): the PHC text before the hash part.
    let mut computed: Vec<(String, PasswordHash<'_>)> = Vec::new();
    let mut found = None;
    for (index, hash) in stored.iter().enumerate() {
        let key = format!("{:?}${}${:?}", hash.version, hash.phc.params, hash.phc.salt);
        let position = match computed.iter().position(|(k, _)| *k == key) {
            Some(p) => p,
            None => {
                let argon =
                    Argon2::new(argon2::Algorithm::Argon2id, hash.version, hash.params.clone());
                let salt = hash
                    .phc
                    .salt
                    .ok_or_else(|| RecoveryError::MalformedHash("salt missing".into()))?;
                let fresh = argon
                    .hash_password(code.as_bytes(), salt)
                    .map_err(|e| RecoveryError::MalformedHash(e.to_string()))?;
                computed.push((key, fresh));
                computed.len() - 1
            }
        };
        // `Output`'s equality is constant-time.
        if computed[position].1.hash == hash.phc.hash && found.is_none() {
            found = Some(index);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    fn cheap() -> HashCost {
        HashCost::new(64, 1, 1).unwrap()
    }

    #[test]
    fn a_set_has_distinct_grouped_codes_and_one_salt() {
        let mut rng = StdRng::seed_from_u64(1);
        let set = generate_set(&mut rng, 10, &cheap()).unwrap();
        assert_eq!(set.len(), 10);
        let salts: std::collections::HashSet<_> = set
            .iter()
            .map(|c| PasswordHash::new(&c.hash).unwrap().salt.unwrap().to_string())
            .collect();
        assert_eq!(salts.len(), 1);
        for (i, c) in set.iter().enumerate() {
            assert_eq!(c.code.len(), 19);
            assert_eq!(c.code.matches('-').count(), 3);
            assert!(c.hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
            assert_eq!(
                find_match(&c.code, &set.iter().map(|c| &c.hash).collect::<Vec<_>>()).unwrap(),
                Some(i)
            );
        }
    }

    #[test]
    fn default_cost_is_owasp_baseline() {
        let mut rng = StdRng::seed_from_u64(2);
        let set = generate_set(&mut rng, 1, &HashCost::default()).unwrap();
        assert!(set[0].hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(&set[0].code, &set[0].hash).unwrap());
    }

    #[test]
    fn count_out_of_range_is_refused() {
        let mut rng = StdRng::seed_from_u64(3);
        assert_eq!(generate_set(&mut rng, 0, &cheap()), Err(RecoveryError::Count(0)));
        assert_eq!(generate_set(&mut rng, 101, &cheap()), Err(RecoveryError::Count(101)));
    }

    #[test]
    fn malformed_and_foreign_hashes_are_errors() {
        assert!(matches!(
            verify("0000-0000-0000-0000", "nope"),
            Err(RecoveryError::MalformedHash(_))
        ));
        let bcrypt_like = "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        assert!(matches!(verify("x", bcrypt_like), Err(RecoveryError::UnsupportedAlgorithm(_))));
        let greedy = "$argon2id$v=19$m=4000000,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        assert!(matches!(verify("x", greedy), Err(RecoveryError::Cost(_))));
    }

    #[test]
    fn wrong_and_malformed_codes_do_not_match() {
        let mut rng = StdRng::seed_from_u64(4);
        let set = generate_set(&mut rng, 2, &cheap()).unwrap();
        assert!(!verify("0000-0000-0000-0000", &set[0].hash).unwrap());
        assert!(!verify("not a code", &set[0].hash).unwrap());
        assert!(!verify(&set[1].code, &set[0].hash).unwrap());
    }

    #[test]
    fn debug_hides_the_code() {
        let c = IssuedCode { code: "AAAA-BBBB-CCCC-DDDD".into(), hash: "h".into() };
        assert_eq!(format!("{c:?}"), r#"IssuedCode { code: "<redacted>", hash: "h" }"#);
    }

    /// A code is 10 random bytes (80 bits) in Crockford's base32, most significant bit first, as
    /// `data-encoding` writes it with Crockford's alphabet, grouped by 4. A code drawn twice for
    /// one set is drawn again. (The salt takes the RNG's first 16 bytes.)
    #[test]
    fn codes_are_their_80_random_bits_in_crockford_base32() {
        let mut crockford = data_encoding::Specification::new();
        crockford.symbols.push_str("0123456789ABCDEFGHJKMNPQRSTVWXYZ");
        let crockford = crockford.encoding().unwrap();
        let grouped = |bytes: &[u8]| {
            let text = crockford.encode(bytes);
            format!("{}-{}-{}-{}", &text[..4], &text[4..8], &text[8..12], &text[12..])
        };
        let first = [0x00, 0x44, 0x32, 0x14, 0xc7, 0x42, 0x54, 0xb6, 0x35, 0xcf];
        let second = [0xff, 0x01, 0x80, 0x7f, 0x10, 0x08, 0x04, 0x02, 0x01, 0xfe];
        let script = [[7; 16].as_slice(), &first, &first, &second].concat();
        let set = generate_set(&mut crate::ScriptedRng::bytes(script), 2, &cheap()).unwrap();
        let codes: Vec<&str> = set.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes, [grouped(&first), grouped(&second)]);
        assert_eq!(grouped(&[0xff; 10]), "ZZZZ-ZZZZ-ZZZZ-ZZZZ");
    }

    /// Only Crockford's 32 symbols (and O, I, L read as 0, 1, 1): not U, and not a non-ASCII
    /// letter whose low byte is one of them (U+0150 is 0x150).
    #[test]
    fn other_letters_are_not_codes() {
        assert_eq!(normalize("ABCD-EFGH-JKMN-PQRS").as_deref(), Some("ABCDEFGHJKMNPQRS"));
        assert_eq!(normalize("ABCD-EFGH-JKMN-PQRU"), None);
        assert_eq!(normalize("ABCD-EFGH-JKMN-PQR\u{150}"), None);
    }

    /// A stored hash's cost is capped at m=262144 (256 MiB), t=10, p=8, so that a crafted hash
    /// can't exhaust memory or CPU; the caps themselves are accepted.
    #[test]
    fn costs_up_to_the_caps_are_accepted_and_beyond_them_refused() {
        for (m, t, p) in [(256 * 1024, 1, 1), (64, 10, 1), (64, 1, 8)] {
            assert!(HashCost::new(m, t, p).is_ok(), "m={m},t={t},p={p}");
        }
        for (m, t, p) in [(256 * 1024 + 1, 1, 1), (64, 11, 1), (64, 1, 9)] {
            assert!(
                matches!(HashCost::new(m, t, p), Err(RecoveryError::Cost(_))),
                "m={m},t={t},p={p}"
            );
        }
    }

    #[test]
    fn a_hash_without_its_hash_part_is_malformed() {
        let no_hash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ";
        assert!(matches!(
            verify("0000-0000-0000-0000", no_hash),
            Err(RecoveryError::MalformedHash(_))
        ));
    }

    /// Hashes of two sets (two salts) in one list: each is checked with its own salt.
    #[test]
    fn hashes_of_two_sets_are_each_checked_with_their_own_salt() {
        let mut rng = StdRng::seed_from_u64(5);
        let a = generate_set(&mut rng, 1, &cheap()).unwrap();
        let b = generate_set(&mut rng, 1, &cheap()).unwrap();
        let hashes = [&a[0].hash, &b[0].hash];
        assert_eq!(find_match(&a[0].code, &hashes).unwrap(), Some(0));
        assert_eq!(find_match(&b[0].code, &hashes).unwrap(), Some(1));
    }
}
