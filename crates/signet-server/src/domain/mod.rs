//! The issuer's domain: the grants (client credentials, password, refresh), revoking and
//! introspecting tokens. No HTTP types here: these functions take the issuer's state (its
//! store, clock, key ring and limits) and domain values, and fail with a [`DomainError`],
//! which `crate::error` alone turns into an RFC 6749 answer. They are tested without HTTP,
//! with an injected clock.

pub(crate) mod grants;
pub(crate) mod tokens;

use crate::store::StoreError;

/// Why the domain refused or failed a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum DomainError {
    /// A parameter is out of bounds (such as a user name that is too long).
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// The grant (password, refresh token) is invalid, expired or revoked.
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// The client may not use this grant type.
    #[error("the client may not use this grant type")]
    UnauthorizedClient,
    /// A requested scope is not allowed.
    #[error("a requested scope is not allowed for this client")]
    InvalidScope,
    /// The requested audience is not allowed for the client.
    #[error("the requested audience is not allowed for this client")]
    InvalidTarget,
    /// Too many login attempts; retry after this many seconds.
    #[error("too many login attempts; try again later")]
    TooManyAttempts(u64),
    /// A limit of the issuer (password hashing) is reached; retry shortly.
    #[error("{0}")]
    Busy(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else (signing, randomness).
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<anyhow::Error> for DomainError {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(e)
    }
}
