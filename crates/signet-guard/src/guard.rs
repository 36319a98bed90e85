//! The guard: keys, rules, the revocation set and the verified-token cache, checked locally
//! for every request.

use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use signet::{KeySet, Validation};

use crate::cache::{DEFAULT_CAPACITY, VerifiedCache};
use crate::revocation::RevocationSet;
use crate::{AccessClaims, Refusal};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Checks access tokens against the issuer's keys, the validation rules and the revocations,
/// with a cache of tokens already verified. Cheap to clone and share.
#[derive(Debug, Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    keys: RwLock<Arc<KeySet>>,
    validation: Validation,
    leeway: u64,
    revoked: RevocationSet,
    cache: Option<VerifiedCache>,
    cookie: Option<String>,
}

/// Builds a [`Guard`].
#[derive(Debug)]
#[must_use]
pub struct GuardBuilder {
    keys: KeySet,
    validation: Validation,
    leeway: u64,
    cache: Option<usize>,
    cookie: Option<String>,
}

impl Guard {
    /// A guard over these keys. `validation` must name the issuer and the audience; build it
    /// with `required_typ("at+jwt")` so that only access tokens pass (RFC 9068).
    pub fn builder(keys: KeySet, validation: Validation) -> GuardBuilder {
        GuardBuilder {
            keys,
            validation,
            leeway: 60,
            cache: Some(DEFAULT_CAPACITY),
            cookie: None,
        }
    }

    /// Replaces the keys (after the issuer published new ones).
    pub fn set_keys(&self, keys: KeySet) {
        if let Ok(mut k) = self.inner.keys.write() {
            *k = Arc::new(keys);
        }
    }

    /// Records a revocation pushed by the issuer.
    pub fn revoke(&self, jti: impl Into<String>, exp: u64) {
        self.inner.revoked.insert(jti, exp);
    }

    /// Forgets revocations of tokens that have expired anyway.
    pub fn prune(&self) {
        self.inner.revoked.prune(now());
    }

    /// The revocations held.
    pub fn revocations(&self) -> &RevocationSet {
        &self.inner.revoked
    }

    /// The cookie a token may also come in, if configured.
    pub fn cookie(&self) -> Option<&str> {
        self.inner.cookie.as_deref()
    }

    /// Checks a token: from the cache when it has been verified before (expiry, not-before and
    /// revocation are checked again), else by full verification.
    pub fn check(&self, token: &str) -> Result<Arc<AccessClaims>, Refusal> {
        let inner = &self.inner;
        let now = now();
        if let Some(cache) = &inner.cache
            && let Some(claims) = cache.get(token)
        {
            if claims
                .exp
                .is_some_and(|e| now >= e.as_secs().saturating_add(inner.leeway))
            {
                let ago_secs = now - claims.exp.map_or(now, |e| e.as_secs());
                return Err(Refusal::Invalid(signet::Error::Expired { ago_secs }));
            }
            self.not_revoked(&claims)?;
            return Ok(claims);
        }
        let keys = inner
            .keys
            .read()
            .map(|k| Arc::clone(&k))
            .map_err(|_| Refusal::Invalid(signet::Error::UnknownKey))?;
        let claims = Arc::new(
            keys.verify(token, &inner.validation)
                .map_err(Refusal::Invalid)?,
        );
        self.not_revoked(&claims)?;
        if let Some(cache) = &inner.cache {
            cache.insert(token, Arc::clone(&claims), now);
        }
        Ok(claims)
    }

    fn not_revoked(&self, claims: &AccessClaims) -> Result<(), Refusal> {
        match claims.jti.as_deref() {
            Some(jti) if self.inner.revoked.contains(jti) => Err(Refusal::Revoked),
            _ => Ok(()),
        }
    }
}

impl GuardBuilder {
    /// The clock-skew tolerance used when a cached token's expiry is checked again; use the
    /// same as the validation's (60 s by default).
    pub fn leeway_secs(mut self, secs: u64) -> Self {
        self.leeway = secs;
        self
    }

    /// How many verified tokens to remember (10,000 by default); 0 turns the cache off.
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = (capacity > 0).then_some(capacity);
        self
    }

    /// Also take the token from this cookie when there is no `Authorization` header.
    pub fn cookie(mut self, name: impl Into<String>) -> Self {
        self.cookie = Some(name.into());
        self
    }

    /// The guard.
    pub fn build(self) -> Guard {
        Guard {
            inner: Arc::new(Inner {
                keys: RwLock::new(Arc::new(self.keys)),
                validation: self.validation,
                leeway: self.leeway,
                revoked: RevocationSet::default(),
                cache: self.cache.map(VerifiedCache::new),
                cookie: self.cookie,
            }),
        }
    }
}
