//! JWK and JWKS documents: parsing, key loading, thumbprints and the JSON written back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::{Jwk, JwkSet, KeySet, SigningKey, VerifyingKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(jwk) = Jwk::from_json(data) {
        let _ = jwk.thumbprint();
        let _ = jwk.to_json();
        if let Ok(key) = VerifyingKey::from_jwk(&jwk) {
            let _ = key.to_jwk();
            let _ = key.thumbprint();
        }
        if let Ok(key) = SigningKey::from_jwk(&jwk) {
            let _ = key.public_jwk();
        }
    }
    if let Ok(set) = JwkSet::from_json(data) {
        let _ = set.to_json();
    }
    if let Ok(set) = KeySet::from_jwks_json(data) {
        let _ = set.skipped().len();
    }
});
