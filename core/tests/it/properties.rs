//! Property tests: TOTP windows, recovery-code input forms, SMS keyword classification.

use mfa_core::recovery::normalize;
use mfa_core::secret::TotpSecret;
use mfa_core::sms_keyword::{classify, Keyword, HELP, OPT_IN, OPT_OUT};
use mfa_core::totp::{hotp_code, match_step, totp_code, verify, Algorithm, TotpParams};
use proptest::prelude::*;

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![Just(Algorithm::Sha1), Just(Algorithm::Sha256), Just(Algorithm::Sha512)]
}

proptest! {
    /// The HOTP of any key (shorter or longer than SHA-1's 64-byte block) and counter is RFC
    /// 4226's dynamic truncation of the HMAC-SHA1 that RustCrypto's `hmac` computes: the
    /// hand-written HMAC-SHA1 of `mfa_core::totp` is checked against another implementation.
    #[test]
    fn hotp_sha1_agrees_with_the_hmac_crate(
        key in proptest::collection::vec(any::<u8>(), 1..200),
        counter in any::<u64>(),
    ) {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
        mac.update(&counter.to_be_bytes());
        let tag = mac.finalize().into_bytes();
        let offset = usize::from(tag[19] & 0x0f);
        let word = u32::from_be_bytes([tag[offset], tag[offset + 1], tag[offset + 2], tag[offset + 3]]);
        let expected = format!("{:010}", u64::from(word & 0x7fff_ffff) % 10_000_000_000);
        let secret = TotpSecret::from_bytes(key).unwrap();
        prop_assert_eq!(hotp_code(&secret, counter, 10, Algorithm::Sha1), expected);
    }

    /// A code made at step `s` verifies at every time within `window` steps of `s`, and the
    /// matched step is `s` (unless another step of the window happens to share the code).
    #[test]
    fn a_code_verifies_inside_its_window(
        key in prop::collection::vec(any::<u8>(), 10..64),
        algorithm in algorithm(),
        digits in 6i64..=10,
        period in 1i64..=120,
        step in 10u64..1_000_000_000,
        window in 0u32..=3,
        offset in -3i64..=3,
        second in 0u64..120,
    ) {
        prop_assume!(offset.unsigned_abs() <= u64::from(window));
        let secret = TotpSecret::from_bytes(key).unwrap();
        let params = TotpParams::new(algorithm, digits, period).unwrap();
        let p = params.period();
        let code = totp_code(&secret, step * p + second % p, &params);
        let at = step.checked_add_signed(offset).unwrap() * p + second % p;
        let matched = verify(&secret, &code, at, window, &params);
        prop_assert!(matched.is_some());
        let matched = matched.unwrap();
        prop_assert!(matched == step || totp_code(&secret, matched * p, &params) == code);
    }

    /// Outside the window a code does not verify, unless a step inside the window has the very
    /// same code (a 10^-digits coincidence, checked explicitly rather than assumed away).
    #[test]
    fn a_code_does_not_verify_outside_its_window(
        key in prop::collection::vec(any::<u8>(), 10..64),
        algorithm in algorithm(),
        step in 100u64..1_000_000_000,
        window in 0u32..=3,
        distance in 1u64..50,
    ) {
        let secret = TotpSecret::from_bytes(key).unwrap();
        let params = TotpParams::new(algorithm, 6, 30).unwrap();
        let code = totp_code(&secret, step * 30, &params);
        let at_step = step + u64::from(window) + distance;
        let coincidence = (at_step - u64::from(window)..=at_step + u64::from(window))
            .any(|s| totp_code(&secret, s * 30, &params) == code);
        let matched = verify(&secret, &code, at_step * 30, window, &params);
        prop_assert_eq!(matched.is_some(), coincidence);
    }

    /// With the step already used as the floor, the same code is refused (the replay guard).
    #[test]
    fn a_used_step_is_refused(key in prop::collection::vec(any::<u8>(), 16..32), step in 10u64..1_000_000_000) {
        let secret = TotpSecret::from_bytes(key).unwrap();
        let params = TotpParams::default();
        let code = totp_code(&secret, step * 30, &params);
        let first = match_step(&secret, &code, step * 30, 1, &params, None);
        prop_assert!(first.is_some());
        let again = match_step(&secret, &code, step * 30, 1, &params, first);
        prop_assert_eq!(again, None);
    }

    /// Every way a person might type a recovery code normalises to the same 16 characters.
    #[test]
    fn recovery_code_input_forms_normalise_alike(
        code in "[0-9A-HJKMNP-TV-Z]{16}",
        lower in any::<bool>(),
        sep in prop_oneof![Just(""), Just("-"), Just(" "), Just(" - ")],
        pad in prop_oneof![Just(""), Just(" "), Just("\t\n ")],
        confuse in any::<bool>(),
    ) {
        let grouped: Vec<String> = code.as_bytes().chunks(4).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect();
        let mut typed = format!("{pad}{}{pad}", grouped.join(sep));
        if confuse {
            typed = typed.replace('0', "O").replace('1', if lower { "l" } else { "I" });
        }
        if lower {
            typed = typed.to_lowercase();
        }
        prop_assert_eq!(normalize(&typed), Some(code));
    }

    /// Keywords are recognised whatever their case and surrounding white space.
    #[test]
    fn keyword_classification_ignores_case_and_space(
        index in 0usize..18,
        case in prop::collection::vec(any::<bool>(), 12),
        before in "[ \t\r\n]{0,3}",
        after in "[ \t\r\n]{0,3}",
    ) {
        let all: Vec<(&str, Keyword)> = OPT_OUT.iter().map(|w| (*w, Keyword::OptOut))
            .chain(HELP.iter().map(|w| (*w, Keyword::Help)))
            .chain(OPT_IN.iter().map(|w| (*w, Keyword::OptIn)))
            .collect();
        let (word, kind) = all[index % all.len()];
        let mixed: String = word.chars().zip(case.iter().cycle())
            .map(|(c, lower)| if *lower { c.to_ascii_lowercase() } else { c })
            .collect();
        prop_assert_eq!(classify(&format!("{before}{mixed}{after}")), kind);
        prop_assert_eq!(classify(&format!("{before}{mixed} please{after}")), Keyword::Other);
    }
}
