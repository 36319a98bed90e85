//! The Signet verifier side: a tower layer, an axum extractor and `signet proxy`.
//!
//! This crate is reserved for the guard. It is built by its own issue; until then it only
//! re-exports the core library version so that the workspace layout is in place.

/// The version of the core library this guard is built on.
pub const CORE_VERSION: &str = signet::VERSION;
