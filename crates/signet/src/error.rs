//! Why a token or a key was refused.
//!
//! [`Error`] is what a verification answers: each variant is something an attacker (or a
//! broken peer) can cause, and none of them echoes the attacker's bytes. [`KeyError`] is what
//! loading or making a key answers: a problem with the caller's own material.

use crate::Algorithm;

/// Why a token was refused.
///
/// A signature failure says only "invalid signature". Messages never quote the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token is larger than the configured limit; nothing else was read.
    #[error("token is larger than the {limit}-byte limit")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The token is not a well-formed compact JWS or its JSON is malformed.
    #[error("malformed token: {0}")]
    Malformed(Malformed),
    /// The header names an algorithm Signet does not support (this includes `none`).
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// The header's algorithm is not the one the key is pinned to.
    #[error("algorithm mismatch: the key is for {expected}, the token says {found}")]
    AlgorithmMismatch {
        /// The key's algorithm.
        expected: Algorithm,
        /// The token's algorithm.
        found: Algorithm,
    },
    /// No key in the key set matches the token's `kid` and algorithm.
    #[error("unknown key: no key matches the token's kid and algorithm")]
    UnknownKey,
    /// The token has no `kid` and more than one key in the set fits its algorithm.
    #[error("ambiguous key: the token has no kid and several keys fit its algorithm")]
    AmbiguousKey,
    /// The header lists a critical extension that Signet does not understand.
    #[error("unsupported critical header parameter")]
    UnsupportedCritical,
    /// The signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// The token has expired (`exp`).
    #[error("token expired {ago_secs}s ago")]
    Expired {
        /// Seconds since expiry, leeway not counted.
        ago_secs: u64,
    },
    /// The token is not valid yet (`nbf`).
    #[error("token not valid for another {in_secs}s")]
    NotYetValid {
        /// Seconds until it becomes valid, leeway not counted.
        in_secs: u64,
    },
    /// The token claims to be issued in the future (`iat`), beyond the leeway.
    #[error("token issued in the future")]
    IssuedInFuture,
    /// The token was issued longer ago than the configured maximum age.
    #[error("token older than the maximum age")]
    TooOld,
    /// The `iss` claim is missing or is not an accepted issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// The `aud` claim is missing or names none of the accepted audiences.
    #[error("wrong audience")]
    WrongAudience,
    /// The header's `typ` is missing or is not the required type.
    #[error("wrong token type")]
    WrongType,
    /// The `sub` claim is missing or is not an allowed subject.
    #[error("subject not allowed")]
    WrongSubject,
    /// A required claim is absent.
    #[error("missing required claim `{0}`")]
    MissingClaim(Box<str>),
    /// A registered claim has the wrong JSON type or an out-of-range value.
    #[error("invalid `{0}` claim")]
    InvalidClaim(&'static str),
}

/// What exactly was malformed. The messages are fixed strings, never input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// Not exactly three dot-separated segments.
    #[error("a compact JWS has exactly three segments")]
    Segments,
    /// A segment is not canonical, unpadded base64url.
    #[error("invalid base64url")]
    Base64,
    /// The header is not a JSON object with a valid `alg`.
    #[error("invalid header")]
    Header,
    /// A JSON object repeats a member name.
    #[error("duplicate member name")]
    DuplicateMember,
    /// The payload is not a JSON object of valid claims.
    #[error("invalid claims")]
    Claims,
    /// The payload or header is not UTF-8.
    #[error("not UTF-8")]
    Utf8,
    /// The signature has the wrong length for the algorithm.
    #[error("signature of the wrong length")]
    SignatureLength,
}

impl From<Malformed> for Error {
    fn from(m: Malformed) -> Self {
        Self::Malformed(m)
    }
}

/// Why a key could not be loaded, made or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key material is not valid for the stated algorithm.
    #[error("invalid key: {0}")]
    Invalid(&'static str),
    /// The key is too weak to be used: which rule it broke.
    #[error("key too weak: {0}")]
    Weak(WeakKey),
    /// The key's family or curve does not fit the algorithm.
    #[error("the key does not fit algorithm {0}")]
    WrongAlgorithm(Algorithm),
    /// The JWK names an algorithm Signet does not support, or names none where one is needed.
    #[error("unsupported or missing JWK algorithm: {0}")]
    Algorithm(String),
    /// The JWK is not for signatures (`use` or `key_ops`).
    #[error("the JWK is not meant for {0}")]
    Usage(&'static str),
    /// The operation needs a private key and this is a public one, or the reverse.
    #[error("{0}")]
    Misuse(&'static str),
    /// The input is not valid JSON, PEM or DER.
    #[error("cannot parse key: {0}")]
    Parse(String),
    /// The key or key set could not be written as JSON.
    #[error("cannot write key as JSON: {0}")]
    Encode(String),
    /// The cryptographic backend failed.
    #[error("cryptographic backend failure")]
    Crypto,
}

/// The rule a weak key broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WeakKey {
    /// An RSA modulus shorter than the minimum.
    #[error("RSA key of {bits} bits; at least {min} are required")]
    RsaModulus {
        /// The modulus length.
        bits: usize,
        /// The shortest accepted.
        min: usize,
    },
    /// An RSA public exponent that is even or 1.
    #[error("RSA public exponent must be odd and greater than 1")]
    RsaExponent,
    /// An RSA modulus with the ROCA fingerprint (CVE-2017-15361).
    #[error("RSA modulus has the ROCA fingerprint (CVE-2017-15361)")]
    Roca,
    /// An HMAC secret shorter than its hash output.
    #[error("{alg} secret of {bytes} bytes; at least {min} are required")]
    HmacSecret {
        /// The algorithm.
        alg: Algorithm,
        /// The secret's length.
        bytes: usize,
        /// The shortest accepted.
        min: usize,
    },
}

/// Why a token could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The claims could not be serialized to a JSON object.
    #[error("claims cannot be serialized: {0}")]
    Claims(String),
    /// The protected header is not one Signet would accept, or names another algorithm.
    #[error("the protected header is invalid or names another algorithm than the key's")]
    Header,
    /// The cryptographic backend failed.
    #[error("cryptographic backend failure")]
    Crypto,
}
