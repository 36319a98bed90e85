//! Claim validation: any payload, signed with a known key so that it reaches the claims, checked
//! under several rule sets. Nothing may panic; expired or foreign tokens never pass.
#![no_main]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use signet::{Algorithm, FixedClock, SigningKey, Validation};

const NOW: u64 = 1_767_225_600;

static KEY: LazyLock<SigningKey> = LazyLock::new(|| {
    SigningKey::from_hmac_secret(Algorithm::HS256, &[0x42; 32]).expect("hmac key")
});

fuzz_target!(|data: &[u8]| {
    let Ok(token) = KEY.sign_jws_with_header(br#"{"alg":"HS256","typ":"at+jwt"}"#, data) else {
        return;
    };
    let clock = Arc::new(FixedClock(NOW));
    let strict = Validation::builder()
        .issuer("https://issuer.example")
        .audience("api")
        .required_typ("at+jwt")
        .max_age(Duration::from_secs(600))
        .require_claim("sub")
        .clock(clock.clone())
        .build();
    let lax = Validation::builder()
        .insecure_any_issuer()
        .insecure_any_audience()
        .insecure_allow_missing_exp()
        .clock(clock)
        .build();
    let key = KEY.verifying_key();
    if let Ok(claims) = key.verify_as::<serde_json::Value>(&token, &strict) {
        // What passed the strict rules is for this issuer and audience and is live now.
        assert_eq!(claims.iss.as_deref(), Some("https://issuer.example"));
        assert!(claims.aud.as_ref().is_some_and(|a| a.contains("api")));
        assert!(claims.exp.is_some_and(|e| e.as_secs() + 60 > NOW));
        assert!(claims.sub.is_some());
    }
    let _ = key.verify_as::<serde_json::Value>(&token, &lax);
    let _ = key.verify(&token, &lax);
});
