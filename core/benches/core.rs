//! Benchmarks of the hot checks: TOTP verify with window 1 (and, as its floor, one HMAC-SHA1 of
//! 8 bytes with the key set up), and one recovery-code attempt against a set of 10 at the default
//! Argon2id cost.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use mfa_core::recovery::{find_match, generate_set, HashCost};
use mfa_core::secret::TotpSecret;
use mfa_core::totp::{totp_code, verify, TotpParams};
use rand::{rngs::StdRng, SeedableRng};

fn totp(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let secret = TotpSecret::generate(&mut rng);
    let params = TotpParams::default();
    let now = 1_700_000_000;
    let code = totp_code(&secret, now - 30, &params);
    c.bench_function("totp_verify_window_1", |b| {
        b.iter(|| verify(black_box(&secret), black_box(&code), black_box(now), 1, &params))
    });
    // The floor under a window-1 verify: 3 of these, and one key setup.
    let keyed = <hmac::Hmac<sha1::Sha1> as hmac::Mac>::new_from_slice(secret.as_bytes()).unwrap();
    c.bench_function("hmac_sha1_of_8_bytes_key_set_up", |b| {
        b.iter(|| {
            let mut mac = black_box(&keyed).clone();
            hmac::Mac::update(&mut mac, &black_box(1u64).to_be_bytes());
            hmac::Mac::finalize(mac).into_bytes()
        })
    });
    let base32 = secret.to_base32();
    c.bench_function("totp_verify_window_1_from_base32", |b| {
        b.iter(|| {
            let secret = TotpSecret::from_base32(black_box(&base32)).unwrap();
            verify(&secret, black_box(&code), black_box(now), 1, &params)
        })
    });
}

fn recovery(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    let set = generate_set(&mut rng, 10, &HashCost::default()).unwrap();
    let hashes: Vec<&str> = set.iter().map(|c| c.hash.as_str()).collect();
    let mut group = c.benchmark_group("recovery");
    group.sample_size(20);
    group.bench_function("recovery_code_match_in_set_of_10", |b| {
        b.iter(|| find_match(black_box(&set[7].code), black_box(&hashes)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, totp, recovery);
criterion_main!(benches);
