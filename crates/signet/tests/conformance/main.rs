//! Conformance: public test vectors run through Signet's own API.
//!
//! The vectors live in `../shared/vectors/` beside the project (see its README for provenance).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

mod interop;
mod rfc;
mod wycheproof_jose;
mod wycheproof_primitives;

use std::path::PathBuf;

/// Reads a vector file as JSON.
fn vector(path: &str) -> serde_json::Value {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    serde_json::from_str(&text).unwrap()
}

/// A JSON value as a parsed JWK.
fn jwk(v: &serde_json::Value) -> signet::Jwk {
    serde_json::from_value(v.clone()).unwrap()
}
