//! The issuer's domain: the grants (client credentials, password, refresh), revoking and
//! introspecting tokens, and the signing keys. No HTTP types here: these functions take an
//! [`Issuer`] (the settings with their clock, the store, the key ring, caches and login
//! limits) and domain values, and fail with a [`DomainError`], which `crate::error` alone
//! turns into an RFC 6749 answer. They are tested without HTTP, with an injected clock.

pub(crate) mod grants;
pub(crate) mod keys;
pub(crate) mod logout;
pub(crate) mod ssf;
pub(crate) mod sso;
pub(crate) mod tokens;

use std::sync::Arc;

use crate::cache::TtlCache;
use crate::config::Config;
use crate::fanout::Fanout;
use crate::limits::LoginLimits;
use crate::metrics::Metrics;
use crate::passwords::Hashers;
use crate::store::{Client, SharedStore, SsoSession, StoreError, User};
use keys::KeyManager;

/// What the domain works with; cheap to clone.
#[derive(Debug, Clone)]
pub struct Issuer {
    /// The settings, with the clock.
    pub(crate) config: Arc<Config>,
    pub(crate) store: SharedStore,
    /// The signing keys.
    pub(crate) keys: Arc<KeyManager>,
    /// An argon2id hash of a random password: unknown users are checked against it.
    pub(crate) dummy_hash: String,
    /// The revocation streams' broadcaster, woken whenever this instance writes a feed entry.
    pub(crate) fanout: Arc<Fanout>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limits: Arc<LoginLimits>,
    /// The threads that check passwords.
    pub(crate) hashing: Arc<Hashers>,
    pub(crate) clients: Arc<TtlCache<Client>>,
    pub(crate) users: Arc<TtlCache<User>>,
    /// SSO sessions by cookie hash. A session ended by another instance may be taken as live
    /// for up to the cache's second, which only buys a code that cannot be redeemed: a code's
    /// redemption checks its session in the store.
    pub(crate) sessions: Arc<TtlCache<SsoSession>>,
}

impl Issuer {
    /// The time now on the configured clock, in Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        self.config.now()
    }

    /// Ends a login: its refresh tokens stop working, its live access tokens are denied, and
    /// the revocation streams are woken to push the denials.
    pub(crate) async fn end_login(&self, family_id: &str, now: i64) -> anyhow::Result<()> {
        self.store.revoke_family(family_id, now).await?;
        self.fanout.wake();
        Ok(())
    }

    /// Denies one access token's `jti` until `exp`, and wakes the revocation streams.
    pub(crate) async fn deny(&self, jti: &str, exp: i64, now: i64) -> anyhow::Result<()> {
        self.store.revoke_jti(jti, exp, now).await?;
        self.fanout.wake();
        Ok(())
    }
}

/// Signs a token with `key` as `build` says. An RSA signature (RS*/PS*) costs about a
/// millisecond of CPU, so it runs on the blocking pool rather than on an async worker thread,
/// which would stall every request queued behind it; the other algorithms are cheap and sign
/// inline.
pub(crate) async fn sign_with(
    key: &Arc<signet::SigningKey>,
    build: impl FnOnce(&signet::SigningKey) -> Result<String, signet::SignError> + Send + 'static,
) -> Result<String, DomainError> {
    let signed = if key.alg().family() == signet::KeyFamily::Rsa {
        let key = Arc::clone(key);
        tokio::task::spawn_blocking(move || build(&key))
            .await
            .map_err(|e| DomainError::Internal(e.into()))?
    } else {
        build(key)
    };
    signed.map_err(|e| DomainError::Internal(e.into()))
}

/// The HTTP client for what the issuer sends to receivers it does not control (back-channel
/// logout tokens, pushed security events): 5 s per attempt, redirects never followed. `None`
/// (logged) if it cannot be built.
pub(crate) fn outbound(purpose: &'static str) -> Option<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .inspect_err(|e| tracing::error!(error = %e, purpose, "cannot build the HTTP client"))
        .ok()
}

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
