// The test vectors of RFC 4226 (HOTP, appendix D) and RFC 6238 (TOTP, appendix B), written once and
// `include!`d by mfa-core's tests (core/tests/it/rfc_vectors.rs) and mfa_pg's pg_tests.

/// (time, SHA1, SHA256, SHA512) from RFC 6238 appendix B, 8 digits, 30 s. The seeds are ASCII
/// "1234567890" repeated to 20, 32 and 64 bytes.
const RFC6238: &[(u64, &str, &str, &str)] = &[
    (59, "94287082", "46119246", "90693936"),
    (1_111_111_109, "07081804", "68084774", "25091201"),
    (1_111_111_111, "14050471", "67062674", "99943326"),
    (1_234_567_890, "89005924", "91819424", "93441116"),
    (2_000_000_000, "69279037", "90698825", "38618901"),
    (20_000_000_000, "65353130", "77737706", "47863826"),
];

/// RFC 4226 appendix D: counters 0 to 9 for the secret "12345678901234567890", 6 digits.
const RFC4226: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];
