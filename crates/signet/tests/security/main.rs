//! Security behaviour: attacks refused (each test named after the attack it stops), claim
//! validation, key handling, and property tests.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

mod attacks;
mod keys;
mod properties;
mod validation;
#[path = "../common/vectors.rs"]
mod vectors;

use std::sync::{Arc, OnceLock};

use base64::Engine;
use signet::{Algorithm, FixedClock, SigningKey, TokenBuilder, Validation};
pub(crate) use vectors::vector;

/// The instant every test's clock is stopped at: 2026-01-01T00:00:00Z.
pub(crate) const NOW: u64 = 1_767_225_600;
pub(crate) const ISS: &str = "https://issuer.example";
pub(crate) const AUD: &str = "api";

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

/// One key per algorithm, made once (RSA generation is slow).
pub(crate) fn key(alg: Algorithm) -> &'static SigningKey {
    static KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        Algorithm::ALL
            .iter()
            .map(|a| SigningKey::generate(*a).unwrap())
            .collect()
    });
    keys.iter().find(|k| k.alg() == alg).unwrap()
}

pub(crate) fn validation() -> Validation {
    Validation::builder()
        .issuer(ISS)
        .audience(AUD)
        .clock(Arc::new(FixedClock(NOW)))
        .build()
}

/// A valid token for [`validation`], signed by `key`.
pub(crate) fn token(key: &SigningKey) -> String {
    TokenBuilder::new()
        .issuer(ISS)
        .audience(AUD)
        .subject("alice")
        .clock(Arc::new(FixedClock(NOW)))
        .sign(key)
        .unwrap()
}

/// Signs raw header and payload JSON exactly as given, bypassing Signet's own header writer,
/// to build tokens an attacker could send. For HMAC this is the attacker knowing the secret.
pub(crate) fn forge(key: &SigningKey, header: &str, payload: &str) -> String {
    key.sign_jws_with_header(header.as_bytes(), payload.as_bytes())
        .unwrap()
}

/// A JSON payload with valid times for [`validation`] plus `extra` members.
pub(crate) fn payload(extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    format!(
        r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"iat":{NOW}{sep}{extra}}}"#,
        NOW + 300
    )
}
