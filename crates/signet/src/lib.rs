#![doc = include_str!("../../../README.md")]
//!
//! # The library
//!
//! - Keys: [`SigningKey`] and [`VerifyingKey`], each pinned to one [`Algorithm`]; a
//!   [`KeySet`] chooses among verifying keys by `kid`.
//! - Tokens: [`UnverifiedToken`] shows only its [`Header`]; [`UnverifiedToken::verify`]
//!   yields [`Verified`] claims. Reading claims without verifying is in [`dangerous`].
//! - Rules: [`Validation`] (issuer and audience required unless waived by an `insecure_`
//!   method).
//! - Signing: [`Signer`] and [`TokenBuilder`].

mod alg;
mod b64;
mod claims;
pub mod dangerous;
mod error;
mod flatten;
mod header;
mod json;
mod jwk;
mod key;
mod keyset;
mod pem;
mod roca;
pub mod scope;
mod secret;
mod sign;
mod token;
mod validation;
pub mod web;

pub use alg::{Algorithm, KeyFamily, UnknownAlgorithm};
pub use claims::{Audience, Claims, NumericDate};
pub use error::{Error, KeyError, Malformed, SignError, WeakKey};
pub use flatten::REGISTERED as REGISTERED_CLAIMS;
pub use header::Header;
pub use jwk::{Jwk, JwkSet, SkippedKey};
pub use key::{MIN_RSA_BITS, SigningKey, VerifyingKey};
pub use keyset::KeySet;
pub use secret::SecretString;
pub use sign::{DEFAULT_LIFETIME, Signer, TokenBuilder};
pub use token::{DEFAULT_MAX_TOKEN_SIZE, KeySource, UnverifiedToken, Verified};
pub use validation::{
    Clock, DEFAULT_LEEWAY, FixedClock, SystemClock, Validation, ValidationBuilder, state,
};

/// This library's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
