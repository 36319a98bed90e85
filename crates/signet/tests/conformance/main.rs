//! Conformance: public test vectors run through Signet's own API.
//!
//! The vectors live in `tests/vectors/` (with their provenance), or where `SIGNET_VECTORS` says.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

mod interop;
mod rfc;
mod wycheproof_jose;
mod wycheproof_primitives;

#[path = "../common/vectors.rs"]
mod vectors;

use vectors::vector;

/// A JSON value as a parsed JWK.
fn jwk(v: &serde_json::Value) -> signet::Jwk {
    serde_json::from_value(v.clone()).unwrap()
}
