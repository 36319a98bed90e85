//! The Signet issuer (`signet serve`).
//!
//! This crate is reserved for the issuer: login, access and refresh tokens, revocation, key
//! rotation and publication. It is built by its own issue; until then it only re-exports the
//! core library version so that the workspace layout is in place.

/// The version of the core library this issuer is built on.
pub const CORE_VERSION: &str = signet::VERSION;
