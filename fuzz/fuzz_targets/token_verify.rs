//! A compact token, parsed and verified against a fixed key set of every key family; the
//! unverified inspection path too. Nothing may panic, and nothing unsigned may pass.
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use signet::{Algorithm, FixedClock, KeySet, SigningKey, UnverifiedToken, Validation};

static KEYS: LazyLock<KeySet> = LazyLock::new(|| {
    let secret = [0x5a_u8; 64];
    let mut keys = vec![
        SigningKey::from_hmac_secret(Algorithm::HS256, &secret)
            .expect("hmac key")
            .with_kid("hs")
            .verifying_key()
            .clone(),
    ];
    for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
        keys.push(SigningKey::generate(alg).expect("key").verifying_key().clone());
    }
    KeySet::new(keys)
});

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let rules = Validation::builder()
        .issuer("https://issuer.example")
        .audience("api")
        .clock(Arc::new(FixedClock(1_767_225_600)))
        .build();
    // One-step and two-step verification must agree.
    let one = KEYS.verify_as::<serde_json::Value>(token, &rules).is_ok();
    if let Ok(parsed) = UnverifiedToken::parse(token) {
        let two = parsed.verify_as::<serde_json::Value>(&*KEYS, &rules).is_ok();
        assert_eq!(one, two, "one-step and two-step verification disagree");
        let _ = signet::dangerous::insecure_payload(&parsed);
    }
    // The fuzzer cannot sign: a token only it made must never verify.
    assert!(!one, "a token the fuzzer made was accepted");
    let _ = signet::dangerous::insecure_inspect(token, signet::DEFAULT_MAX_TOKEN_SIZE);
});
