//! Every test vector of RFC 4226 (HOTP, appendix D) and RFC 6238 (TOTP, appendix B).

use mfa_core::secret::TotpSecret;
use mfa_core::totp::{hotp_code, match_step, totp_code, Algorithm, TotpParams};

/// RFC 6238 appendix B seeds: ASCII "1234567890" repeated to 20, 32 and 64 bytes.
fn seed(algorithm: Algorithm) -> TotpSecret {
    let len = match algorithm {
        Algorithm::Sha1 => 20,
        Algorithm::Sha256 => 32,
        Algorithm::Sha512 => 64,
    };
    TotpSecret::from_bytes(b"1234567890".iter().cycle().take(len).copied().collect()).unwrap()
}

include!("../vectors/rfc.rs");

#[test]
fn rfc6238_every_vector() {
    for &(time, sha1, sha256, sha512) in RFC6238 {
        for (algorithm, expected) in
            [(Algorithm::Sha1, sha1), (Algorithm::Sha256, sha256), (Algorithm::Sha512, sha512)]
        {
            let params = TotpParams::new(algorithm, 8, 30).unwrap();
            let secret = seed(algorithm);
            assert_eq!(totp_code(&secret, time, &params), expected, "{algorithm} at {time}");
            // And each code verifies at its time, matching the step that contains it.
            assert_eq!(
                match_step(&secret, expected, time, 0, &params, None),
                Some(time / 30),
                "{algorithm} at {time}"
            );
        }
    }
}

#[test]
fn rfc4226_every_vector() {
    let secret = seed(Algorithm::Sha1);
    for (counter, expected) in RFC4226.iter().enumerate() {
        assert_eq!(hotp_code(&secret, counter as u64, 6, Algorithm::Sha1), *expected);
    }
}

/// RFC 4226 appendix D's intermediate "Truncated" decimal values, which give the 9 and 10-digit
/// codes (the 31-bit value modulo 10^9, and the value itself zero-padded to 10).
#[test]
fn rfc4226_truncated_values_give_longer_codes() {
    let truncated: [u64; 10] = [
        1284755224, 1094287082, 137359152, 1726969429, 1640338314, 868254676, 1918287922, 82162583,
        673399871, 645520489,
    ];
    let secret = seed(Algorithm::Sha1);
    for (counter, value) in truncated.iter().enumerate() {
        let c = counter as u64;
        assert_eq!(hotp_code(&secret, c, 10, Algorithm::Sha1), format!("{value:010}"));
        assert_eq!(
            hotp_code(&secret, c, 9, Algorithm::Sha1),
            format!("{:09}", value % 1_000_000_000)
        );
    }
}
