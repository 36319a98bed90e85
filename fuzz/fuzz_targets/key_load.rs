//! PEM and DER key loading, public and private, for every algorithm.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signet::{Algorithm, SigningKey, VerifyingKey};

const ALGS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::PS384,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::ES512,
    Algorithm::EdDSA,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let alg = ALGS[usize::from(selector) % ALGS.len()];
    let _ = VerifyingKey::from_der(body, alg);
    let _ = SigningKey::from_der(body, alg);
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = VerifyingKey::from_pem(text, alg);
        let _ = SigningKey::from_pem(text, alg);
    }
});
