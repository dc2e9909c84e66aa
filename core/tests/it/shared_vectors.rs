//! The vectors in `core/tests/vectors/recovery.json`, which mfa_pg's SQL tests check too: a
//! recovery-code hash or TOTP code made on one side is accepted on the other.

use mfa_core::recovery::{find_match, verify};
use mfa_core::secret::TotpSecret;
use mfa_core::totp::{match_step, totp_code, TotpParams};
use serde_json::Value;

fn vectors(section: &str) -> Vec<Value> {
    let all: Value = serde_json::from_str(include_str!("../vectors/recovery.json")).unwrap();
    all[section].as_array().unwrap().clone()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap()
}

#[test]
fn recovery_hashes_verify_their_codes_as_typed() {
    let set = vectors("recovery");
    let hashes: Vec<&str> = set.iter().map(|v| text(v, "hash")).collect();
    for (index, v) in set.iter().enumerate() {
        let code = text(v, "code");
        assert!(verify(code, text(v, "hash")).unwrap(), "{code}");
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(find_match(&typed, &hashes).unwrap(), Some(index), "{typed}");
    }
    assert_eq!(find_match("0000-0000-0000-0000", &hashes).unwrap(), None);
}

#[test]
fn totp_codes_match_at_their_times() {
    for v in vectors("totp") {
        let secret = TotpSecret::from_base32(text(&v, "secret")).unwrap();
        let algorithm = text(&v, "algorithm").parse().unwrap();
        let period = v["period"].as_i64().unwrap();
        let params = TotpParams::new(algorithm, v["digits"].as_i64().unwrap(), period).unwrap();
        let time = v["time"].as_u64().unwrap();
        assert_eq!(totp_code(&secret, time, &params), text(&v, "code"), "{v}");
        let step = match_step(&secret, text(&v, "code"), time, 0, &params, None);
        assert_eq!(step, Some(time / params.period()), "{v}");
    }
}
