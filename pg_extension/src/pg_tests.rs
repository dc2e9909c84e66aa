//! `#[pg_test]`s: every SQL function called through SPI inside a real PostgreSQL 15, with the RFC
//! 4226 and RFC 6238 vectors, the vectors shared with mfa-core, each error's SQLSTATE and message,
//! NULL in and out, and the volatility, strictness and parallel safety each function declares.

// Test code: a failed check panics, as in any #[test]. clippy's allow-unwrap/panic-in-tests only
// recognise `cfg(test)`, and these tests are also built with `feature = "pg_test"` into the
// extension that `cargo pgrx test` loads.
#![allow(clippy::unwrap_used, clippy::panic)]

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use mfa_core::recovery::{self, HashCost};
    use mfa_core::secret::TotpSecret;
    use pgrx::datum::DatumWithOid;
    use pgrx::prelude::*;
    use rand_core::OsRng;

    // RFC6238 and RFC4226: the RFC vectors, written once for mfa-core's tests and these.
    include!("../../core/tests/vectors/rfc.rs");

    /// The vectors mfa-core's tests check too (core/tests/it/shared_vectors.rs).
    const SHARED: &str = include_str!("../../core/tests/vectors/recovery.json");

    /// "12345678901234567890" as base32: the RFC 4226 secret and RFC 6238's SHA1 seed.
    const RFC_SHA1_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    /// RFC 6238's seed for `algorithm`: ASCII "1234567890" repeated to 20, 32 or 64 bytes, as base32.
    fn rfc6238_seed(algorithm: &str) -> String {
        let len = match algorithm {
            "SHA1" => 20,
            "SHA256" => 32,
            _ => 64,
        };
        let bytes = b"1234567890".iter().cycle().take(len).copied().collect();
        TotpSecret::from_bytes(bytes).unwrap().to_base32()
    }

    fn one<T: FromDatum + IntoDatum>(query: &str, args: &[DatumWithOid]) -> Option<T> {
        Spi::get_one_with_args(query, args).unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    fn is_true(query: &str) {
        assert_eq!(one::<bool>(&format!("SELECT {query}"), &[]), Some(true), "{query}");
    }

    fn literal(text: &str) -> String {
        format!("'{}'", text.replace('\'', "''"))
    }

    /// Asserts that evaluating `expression` raises the SQL condition `condition` (a PL/pgSQL
    /// condition name such as `invalid_parameter_value`) with `message` in its text.
    fn assert_error(expression: &str, condition: &str, message: &str) {
        let block = format!(
            "DO $t$ BEGIN PERFORM {expression}; RAISE EXCEPTION 'no error from %', {e}; \
             EXCEPTION WHEN {condition} THEN IF position({m} IN SQLERRM) = 0 THEN \
             RAISE EXCEPTION 'unexpected message: %', SQLERRM; END IF; END $t$",
            e = literal(expression),
            m = literal(message),
        );
        Spi::run(&block).unwrap_or_else(|e| panic!("{expression}: {e}"));
    }

    #[pg_test]
    fn rfc6238_every_vector_through_sql() {
        for &(time, sha1, sha256, sha512) in RFC6238 {
            for (algorithm, expected) in [("SHA1", sha1), ("SHA256", sha256), ("SHA512", sha512)] {
                let args = || {
                    [
                        rfc6238_seed(algorithm).into(),
                        i64::try_from(time).unwrap().into(),
                        algorithm.into(),
                    ]
                };
                let code =
                    one::<String>("SELECT mfa.totp_code($1, to_timestamp($2), 8, 30, $3)", &args());
                assert_eq!(code.as_deref(), Some(expected), "{algorithm} at {time}");
                let verify =
                    format!("mfa.totp_verify($1, '{expected}', to_timestamp($2), 0, 8, 30, $3)");
                assert_eq!(one::<bool>(&format!("SELECT {verify}"), &args()), Some(true));
                let step = one::<i64>(
                    &format!("SELECT mfa.totp_match_step($1, '{expected}', NULL, to_timestamp($2), 0, 8, 30, $3)"),
                    &args(),
                );
                assert_eq!(step, Some(i64::try_from(time / 30).unwrap()), "{algorithm} at {time}");
            }
        }
    }

    #[pg_test]
    fn rfc4226_every_vector_through_sql() {
        for (counter, expected) in (0i64..).zip(RFC4226) {
            let code = one::<String>(
                "SELECT mfa.hotp_code($1, $2)",
                &[RFC_SHA1_SECRET.into(), counter.into()],
            );
            assert_eq!(code.as_deref(), Some(expected), "counter {counter}");
        }
        // RFC 4226's "Truncated" value for counter 0 gives the 10-digit code.
        is_true(&format!("mfa.hotp_code('{RFC_SHA1_SECRET}', 0, 10, 'sha-1') = '1284755224'"));
    }

    #[pg_test]
    fn shared_vectors_agree_with_mfa_core() {
        let totp =
            "SELECT bool_and(mfa.totp_code(v->>'secret', to_timestamp((v->>'time')::bigint), \
                    (v->>'digits')::int, (v->>'period')::int, v->>'algorithm') = v->>'code') \
                    FROM json_array_elements($1::json->'totp') v";
        assert_eq!(one::<bool>(totp, &[SHARED.into()]), Some(true));
        let verify = "SELECT bool_and(mfa.recovery_code_verify(lower(v->>'code'), v->>'hash')) \
                      FROM json_array_elements($1::json->'recovery') v";
        assert_eq!(one::<bool>(verify, &[SHARED.into()]), Some(true));
        // The whole fixture as one array: each code is found at its own 1-based position.
        let positions = "WITH v AS (SELECT e, n FROM json_array_elements($1::json->'recovery') \
                         WITH ORDINALITY AS t(e, n)), \
                         h AS (SELECT array_agg(e->>'hash' ORDER BY n) AS hashes FROM v) \
                         SELECT bool_and(mfa.recovery_code_match(e->>'code', hashes) = n) FROM v, h";
        assert_eq!(one::<bool>(positions, &[SHARED.into()]), Some(true));
    }

    #[pg_test]
    fn recovery_codes_from_sql_verify_in_mfa_core() {
        let (codes, hashes) = Spi::get_two::<Vec<String>, Vec<String>>(
            "SELECT array_agg(code), array_agg(hash) FROM mfa.recovery_codes_new()",
        )
        .unwrap();
        let (codes, hashes) = (codes.unwrap(), hashes.unwrap());
        assert_eq!(codes.len(), 10);
        for (index, (code, hash)) in codes.iter().zip(&hashes).enumerate() {
            assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
            assert_eq!(code.len(), 19);
            assert_eq!(recovery::find_match(code, &hashes).unwrap(), Some(index));
        }
        assert!(recovery::verify(&codes[3], &hashes[3]).unwrap());
    }

    #[pg_test]
    fn recovery_codes_from_mfa_core_verify_in_sql() {
        let set = recovery::generate_set(&mut OsRng, 3, &HashCost::new(64, 1, 1).unwrap()).unwrap();
        let hashes: Vec<&str> = set.iter().map(|c| c.hash.as_str()).collect();
        for (position, issued) in (1i32..).zip(&set) {
            let typed = issued.code.to_lowercase().replace('-', " ");
            let args = || [typed.as_str().into(), issued.hash.as_str().into()];
            assert_eq!(one::<bool>("SELECT mfa.recovery_code_verify($1, $2)", &args()), Some(true));
            let matched = one::<i32>(
                "SELECT mfa.recovery_code_match($1, $2)",
                &[typed.as_str().into(), hashes.clone().into()],
            );
            assert_eq!(matched, Some(position));
        }
        let wrong = one::<bool>(
            "SELECT mfa.recovery_code_verify('0000-0000-0000-0000', $1)",
            &[hashes[0].into()],
        );
        assert_eq!(wrong, Some(false));
    }

    #[pg_test]
    fn recovery_code_match_skips_nulls_and_counts_from_one() {
        let set = recovery::generate_set(&mut OsRng, 2, &HashCost::new(64, 1, 1).unwrap()).unwrap();
        let args = || {
            [set[1].code.as_str().into(), set[0].hash.as_str().into(), set[1].hash.as_str().into()]
        };
        let matched =
            one::<i32>("SELECT mfa.recovery_code_match($1, ARRAY[NULL, $2, NULL, $3])", &args());
        assert_eq!(matched, Some(4));
        let none =
            one::<i32>("SELECT mfa.recovery_code_match('not a code', ARRAY[$2, $3])", &args());
        assert_eq!(none, None);
        is_true("mfa.recovery_code_match('0000-0000-0000-0000', ARRAY[NULL]::text[]) IS NULL");
    }

    #[pg_test]
    fn totp_new_secret_is_160_random_bits() {
        let secret = one::<String>("SELECT mfa.totp_new_secret()", &[]).unwrap();
        assert_eq!(secret.len(), 32);
        assert_eq!(TotpSecret::from_base32(&secret).unwrap().as_bytes().len(), 20);
        is_true("mfa.totp_new_secret() <> mfa.totp_new_secret()");
    }

    #[pg_test]
    fn totp_uri_names_issuer_and_account() {
        is_true(
            "mfa.totp_uri('JBSWY3DPEHPK3PXP', 'ada@example.com', 'Acme Corp') = \
             'otpauth://totp/Acme%20Corp:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Corp'",
        );
        is_true(
            "mfa.totp_uri('jbswy3dpehpk3pxp', 'ada', 'Acme', 8, 60, 'SHA256') = \
             'otpauth://totp/Acme:ada?secret=JBSWY3DPEHPK3PXP&digits=8&algorithm=SHA256&issuer=Acme&period=60'",
        );
    }

    #[pg_test]
    fn totp_defaults_are_now_six_digits_thirty_seconds() {
        is_true("mfa.totp_verify('JBSWY3DPEHPK3PXP', mfa.totp_code('JBSWY3DPEHPK3PXP'))");
        is_true("length(mfa.totp_code('JBSWY3DPEHPK3PXP')) = 6");
        is_true(
            "mfa.totp_code('JBSWY3DPEHPK3PXP') = \
             mfa.totp_code('JBSWY3DPEHPK3PXP', now(), 6, 30, 'SHA1')",
        );
        // Seconds are truncated: 59.999 is in the same step as 59.
        is_true(&format!(
            "mfa.totp_code('{RFC_SHA1_SECRET}', to_timestamp(59.999), 8) = '94287082'"
        ));
    }

    /// The README's default window 1, "the previous, current and next step", with no window
    /// argument: RFC 6238's vectors at 1111111109 and 1111111111 are in steps 0x23523EC and
    /// 0x23523ED (its table's T), so each one's code is accepted at the other's time, and
    /// refused two steps (60 s) away from its own step.
    #[pg_test]
    fn totp_default_window_is_one_step_each_way() {
        let [(early, early_code, ..), (late, late_code, ..)] = [RFC6238[1], RFC6238[2]];
        let verify = |code: &str, at: u64| {
            one::<bool>(
                &format!(
                    "SELECT mfa.totp_verify('{RFC_SHA1_SECRET}', '{code}', to_timestamp({at}), \
                     digits => 8)"
                ),
                &[],
            )
        };
        let step = |code: &str, at: u64| {
            one::<i64>(
                &format!(
                    "SELECT mfa.totp_match_step('{RFC_SHA1_SECRET}', '{code}', NULL, \
                     to_timestamp({at}), digits => 8)"
                ),
                &[],
            )
        };
        // The code of the step before, and of the step after.
        assert_eq!(verify(early_code, late), Some(true));
        assert_eq!(verify(late_code, early), Some(true));
        assert_eq!(step(early_code, late), Some(0x0235_23EC));
        assert_eq!(step(late_code, early), Some(0x0235_23ED));
        // Two steps away: refused.
        assert_eq!(verify(early_code, early + 60), Some(false));
        assert_eq!(verify(late_code, late - 60), Some(false));
        assert_eq!(step(early_code, early + 60), None);
        assert_eq!(step(late_code, late - 60), None);
    }

    #[pg_test]
    fn totp_verify_accepts_within_the_window_only() {
        // The code of step 1,000,000 (time 30,000,000), checked one and two steps later.
        let code = |at: &str| format!("mfa.totp_code('JBSWY3DPEHPK3PXP', to_timestamp({at}))");
        let verify = |at: &str, window: i32| {
            format!(
                "mfa.totp_verify('JBSWY3DPEHPK3PXP', {}, to_timestamp({at}), {window})",
                code("30000000")
            )
        };
        is_true(&verify("30000030", 1));
        is_true(&format!("NOT {}", verify("30000030", 0)));
        is_true(&format!("NOT {}", verify("30000060", 1)));
        is_true(&verify("30000060", 2));
        is_true("NOT mfa.totp_verify('JBSWY3DPEHPK3PXP', 'abcdef')");
    }

    #[pg_test]
    fn totp_match_step_refuses_a_step_already_accepted() {
        let matched = |after: &str| {
            one::<i64>(
                &format!(
                    "SELECT mfa.totp_match_step('JBSWY3DPEHPK3PXP', \
                     mfa.totp_code('JBSWY3DPEHPK3PXP', to_timestamp(30000000)), {after}, \
                     to_timestamp(30000030))"
                ),
                &[],
            )
        };
        assert_eq!(matched("NULL"), Some(1_000_000));
        assert_eq!(matched("-5"), Some(1_000_000));
        assert_eq!(matched("999999"), Some(1_000_000));
        assert_eq!(matched("1000000"), None);
        assert_eq!(matched("1000001"), None);
    }

    #[pg_test]
    fn null_in_gives_null_out() {
        let hash = "'$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA'";
        for expression in [
            "mfa.totp_uri(NULL, 'ada', 'Acme')",
            "mfa.totp_uri(:s, NULL, 'Acme')",
            "mfa.totp_uri(:s, 'ada', NULL)",
            "mfa.totp_uri(:s, 'ada', 'Acme', NULL)",
            "mfa.totp_code(NULL)",
            "mfa.totp_code(:s, NULL)",
            "mfa.totp_code(:s, now(), 6, 30, NULL)",
            "mfa.totp_verify(NULL, '123456')",
            "mfa.totp_verify(:s, NULL)",
            "mfa.totp_verify(:s, '123456', NULL)",
            "mfa.totp_verify(:s, '123456', now(), NULL)",
            "mfa.totp_match_step(NULL, '123456')",
            "mfa.totp_match_step(:s, NULL)",
            "mfa.totp_match_step(:s, '123456', NULL, NULL)",
            "mfa.totp_match_step(:s, '123456', NULL, now(), NULL)",
            "mfa.totp_match_step(:s, '123456', NULL, now(), 1, 6, 30, NULL)",
            "mfa.totp_match_step(NULL, '123456', NULL, now(), 1, 99)",
            "mfa.hotp_code(NULL, 0)",
            "mfa.hotp_code(:s, NULL)",
            "mfa.hotp_code(:s, 0, NULL)",
            "mfa.recovery_code_verify(NULL, :h)",
            "mfa.recovery_code_verify('0000-0000-0000-0000', NULL)",
            "mfa.recovery_code_match(NULL, ARRAY[:h])",
            "mfa.recovery_code_match('0000-0000-0000-0000', NULL)",
        ] {
            let expression = expression.replace(":s", "'JBSWY3DPEHPK3PXP'").replace(":h", hash);
            is_true(&format!("{expression} IS NULL"));
        }
        is_true("NOT EXISTS (SELECT FROM mfa.recovery_codes_new(NULL))");
    }

    #[pg_test]
    fn bad_totp_input_is_an_error_with_a_sqlstate() {
        let s = "'JBSWY3DPEHPK3PXP'";
        let invalid = "invalid_parameter_value";
        for (expression, message) in [
            ("mfa.totp_code('not base32!')".to_owned(), "not valid base32"),
            ("mfa.totp_code(' == ')".to_owned(), "the TOTP secret is empty"),
            (format!("mfa.totp_code({s}, now(), 5)"), "6 to 10 digits, not 5"),
            (format!("mfa.totp_code({s}, now(), 11)"), "6 to 10 digits, not 11"),
            (format!("mfa.totp_code({s}, now(), 6, 0)"), "at least 1 second, not 0"),
            (format!("mfa.totp_code({s}, now(), 6, -30)"), "at least 1 second, not -30"),
            (format!("mfa.totp_code({s}, now(), 6, 30, 'MD5')"), "unknown TOTP algorithm \"MD5\""),
            (format!("mfa.totp_verify({s}, '123456', now(), 11)"), "0 to 10 steps, not 11"),
            (format!("mfa.totp_verify({s}, '123456', now(), -1)"), "0 to 10 steps, not -1"),
            ("mfa.totp_verify('1', '123456')".to_owned(), "not valid base32"),
            (format!("mfa.totp_match_step({s}, '123456', NULL, now(), 11)"), "not 11"),
            (format!("mfa.totp_match_step({s}, '123456', 5, now(), 1, 4)"), "not 4"),
            ("mfa.totp_match_step('!', '123456')".to_owned(), "not valid base32"),
            (format!("mfa.hotp_code({s}, -1)"), "must not be negative, not -1"),
            (format!("mfa.hotp_code({s}, 0, 12)"), "6 to 10 digits, not 12"),
            (format!("mfa.hotp_code({s}, 0, 6, 'SHA3')"), "unknown TOTP algorithm"),
            (format!("mfa.totp_uri({s}, 'a:b', 'Acme')"), "account name"),
            (format!("mfa.totp_uri({s}, 'ada', '')"), "issuer"),
            (format!("mfa.totp_uri({s}, 'ada', 'Acme', 6, 30, 'SHA-3')"), "unknown TOTP algorithm"),
        ] {
            assert_error(&expression, invalid, message);
        }
        let overflow = "datetime_field_overflow";
        assert_error(&format!("mfa.totp_code({s}, '1969-12-31 23:59:59.5Z')"), overflow, "1970");
        assert_error(&format!("mfa.totp_verify({s}, '1', '-infinity')"), overflow, "finite");
        assert_error(&format!("mfa.totp_match_step({s}, '1', 1, 'infinity')"), overflow, "finite");
    }

    #[pg_test]
    fn bad_recovery_input_is_an_error_with_a_sqlstate() {
        let code = "'0000-0000-0000-0000'";
        let invalid = "invalid_parameter_value";
        assert_error("mfa.recovery_codes_new(0)", invalid, "1 to 100 recovery codes, not 0");
        assert_error("mfa.recovery_codes_new(101)", invalid, "not 101");
        let malformed = "invalid_text_representation";
        assert_error(&format!("mfa.recovery_code_verify({code}, 'nope')"), malformed, "malformed");
        assert_error(
            &format!("mfa.recovery_code_match({code}, ARRAY[NULL, 'nope'])"),
            malformed,
            "malformed recovery-code hash",
        );
        let argon2i = "'$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA'";
        let greedy = "'$argon2id$v=19$m=4000000,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA'";
        assert_error(&format!("mfa.recovery_code_verify({code}, {argon2i})"), invalid, "argon2id");
        assert_error(&format!("mfa.recovery_code_verify({code}, {greedy})"), invalid, "cost");
    }

    #[pg_test]
    fn functions_declare_volatility_strictness_and_parallel_safety() {
        // name: volatility (i immutable, v volatile), parallel (s safe), strict (t/f)
        let declared = one::<String>(
            "SELECT string_agg(format('%s:%s%s%s', proname, provolatile, proparallel, \
             CASE WHEN proisstrict THEN 't' ELSE 'f' END), ' ' ORDER BY proname) \
             FROM pg_proc WHERE pronamespace = 'mfa'::regnamespace",
            &[],
        );
        assert_eq!(
            declared.as_deref(),
            Some(
                "hotp_code:ist recovery_code_match:ist recovery_code_verify:ist \
                 recovery_codes_new:vst totp_code:ist totp_match_step:isf totp_new_secret:vst \
                 totp_uri:ist totp_verify:ist"
            )
        );
    }
}
