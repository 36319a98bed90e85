//! The guard: keys, rules, the revocation set and the verified-token cache, checked locally
//! for every request.

use std::sync::{Arc, RwLock};

use signet::{Clock, KeySet, SystemClock, Validation};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::cache::{DEFAULT_CAPACITY, VerifiedCache};
use crate::metrics::Metrics;
use crate::remote::{self, Jwks, RemoteError};
use crate::revocation::RevocationSet;
use crate::{AccessClaims, Refusal};

/// Checks access tokens against the issuer's keys, the validation rules and the revocations,
/// with a cache of tokens already verified. Cheap to clone and share. The background tasks of
/// a guard made by [`Guard::from_issuer`] (JWKS refresh, revocation follower) hold a
/// [`WeakGuard`], so they end once the last `Guard` is dropped.
///
/// # Examples
///
/// ```
/// use signet::{Algorithm, KeySet, SigningKey, TokenBuilder};
/// use signet_guard::Guard;
/// let key = SigningKey::generate(Algorithm::ES256)?;
/// let guard = Guard::builder(KeySet::new([key.verifying_key().clone()]), "https://auth.example.com", "orders-api").build();
/// let token = TokenBuilder::new().issuer("https://auth.example.com").audience("orders-api").subject("alice").typ("at+jwt").sign(&key)?;
/// assert_eq!(guard.check(&token)?.sub.as_deref(), Some("alice"));
/// // A revoked token is refused from then on, cache or not.
/// let jti = signet::dangerous::insecure_decode_claims::<()>(&signet::UnverifiedToken::parse(&token)?)?.jti.unwrap().into_owned();
/// guard.revoke(jti, u64::MAX);
/// assert!(guard.check(&token).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

/// A handle that does not keep its guard alive.
///
/// # Examples
///
/// ```
/// # use signet::{Algorithm, KeySet, SigningKey};
/// # let key = SigningKey::generate(Algorithm::ES256)?;
/// let guard = signet_guard::Guard::builder(KeySet::new([key.verifying_key().clone()]), "i", "a").build();
/// let weak = guard.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(guard);
/// assert!(weak.upgrade().is_none()); // what lets background tasks end with the last handle
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct WeakGuard {
    inner: std::sync::Weak<Inner>,
}

impl WeakGuard {
    /// The guard, unless every [`Guard`] handle has been dropped.
    pub fn upgrade(&self) -> Option<Guard> {
        self.inner.upgrade().map(|inner| Guard { inner })
    }
}

#[derive(Debug)]
struct Inner {
    keys: RwLock<Arc<KeySet>>,
    /// Keys the issuer withdrew (`signet key revoke`): never trusted again, even if a JWKS
    /// fetched from a lagging issuer still lists them, and never a reason to fetch.
    withdrawn: RwLock<std::collections::HashSet<String>>,
    jwks: Option<Arc<Jwks>>,
    /// When the revocation feed was last heard from (Unix seconds; 0: never).
    feed_contact: AtomicU64,
    /// What to do when the feed has been silent longer than the bound; `None`: no feed.
    stale: Option<(Duration, StalePolicy)>,
    /// How long keys fetched from the issuer stay usable while it cannot be reached.
    max_keys_staleness: Duration,
    metrics: Metrics,
    validation: Validation,
    leeway: u64,
    revoked: RevocationSet,
    cache: Option<VerifiedCache>,
    cookie: Option<String>,
    clock: Arc<dyn Clock>,
    /// The `iss` its tokens must carry.
    issuer: String,
}

/// Builds a [`Guard`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// # use signet::{Algorithm, KeySet, SigningKey};
/// # let key = SigningKey::generate(Algorithm::ES256)?;
/// let guard = signet_guard::Guard::builder(KeySet::new([key.verifying_key().clone()]), "https://auth.example.com", "orders-api")
///     .leeway(Duration::from_secs(30))
///     .cookie("signet_at") // a browser's token may come in this cookie too
///     .cache_capacity(50_000)
///     .build();
/// assert_eq!(guard.cookie(), Some("signet_at"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct GuardBuilder {
    keys: KeySet,
    issuer: String,
    audience: String,
    any_type: bool,
    leeway: u64,
    cache: Option<usize>,
    cookie: Option<String>,
    clock: Arc<dyn Clock>,
    /// Set by [`Guard::from_issuer`]: where the keys come from and how stale they may get.
    remote: Option<Remote>,
}

/// What a guard that follows an issuer adds to the builder's options.
#[derive(Debug)]
struct Remote {
    jwks: Arc<Jwks>,
    max_keys_staleness: Duration,
    stale: Option<(Duration, StalePolicy)>,
}

impl Guard {
    /// The time now on the guard's clock, in Unix seconds.
    fn now(&self) -> u64 {
        self.inner.clock.now()
    }

    /// Whether the guard fetches the issuer's keys again when a token names an unknown `kid`.
    pub(crate) fn fetches_keys(&self) -> bool {
        self.inner.jwks.is_some()
    }

    /// A handle that does not keep the guard alive.
    pub fn downgrade(&self) -> WeakGuard {
        WeakGuard {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// The guard's clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.inner.clock)
    }

    /// The issuer whose tokens the guard accepts (their `iss`).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// A guard over these keys for tokens from `issuer` meant for `audience`. Only access
    /// tokens (`typ: at+jwt`, RFC 9068) pass unless
    /// [`insecure_any_token_type`](GuardBuilder::insecure_any_token_type) is called.
    pub fn builder(
        keys: KeySet,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> GuardBuilder {
        GuardBuilder {
            keys,
            issuer: issuer.into(),
            audience: audience.into(),
            any_type: false,
            leeway: 60,
            cache: Some(DEFAULT_CAPACITY),
            cookie: None,
            clock: Arc::new(SystemClock),
            remote: None,
        }
    }

    /// Replaces the keys (after the issuer published new ones). Cached tokens verified by a
    /// key that is no longer in the set are forgotten at once.
    pub fn set_keys(&self, keys: KeySet) {
        let keys = match self.inner.withdrawn.read() {
            Ok(withdrawn) if !withdrawn.is_empty() => KeySet::new(
                keys.keys()
                    .iter()
                    .filter(|k| !k.kid().is_some_and(|kid| withdrawn.contains(kid)))
                    .cloned(),
            ),
            _ => keys,
        };
        if let Some(cache) = &self.inner.cache {
            let kids: Vec<&str> = keys.keys().iter().filter_map(|k| k.kid()).collect();
            cache.keep_kids(&kids);
        }
        if let Ok(mut k) = self.inner.keys.write() {
            *k = Arc::new(keys);
        }
    }

    /// Stops trusting the key `kid` at once (the issuer withdrew it), before the next JWKS
    /// fetch confirms it.
    pub fn withdraw_key(&self, kid: &str) {
        if let Ok(mut withdrawn) = self.inner.withdrawn.write() {
            withdrawn.insert(kid.to_owned());
        }
        let current = self.inner.keys.read().map(|k| Arc::clone(&k));
        if let Ok(current) = current {
            let kept = current
                .keys()
                .iter()
                .filter(|k| k.kid() != Some(kid))
                .cloned();
            self.set_keys(KeySet::new(kept));
        }
    }

    /// Fetches the issuer's keys now, whatever the cooldown (the issuer said they changed).
    pub(crate) async fn refetch_keys_now(&self) {
        if let Some(jwks) = &self.inner.jwks {
            match jwks.fetch().await {
                Ok(keys) => self.set_keys(keys),
                Err(e) => tracing::warn!(error = %e, "JWKS fetch after a key change failed"),
            }
            // The issuer may publish the new key a moment later: let the next unknown kid
            // fetch again at once.
            jwks.forget_cooldown();
        }
    }

    /// Records a revocation pushed by the issuer.
    pub fn revoke(&self, jti: impl Into<String>, exp: u64) {
        self.inner.revoked.insert(jti, exp);
    }

    /// Forgets revocations of tokens that this guard refuses by their `exp` anyway (past
    /// `exp` plus the leeway).
    pub fn prune(&self) {
        self.inner.revoked.prune(self.now(), self.inner.leeway);
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
        let result = self.check_uncounted(token);
        match &result {
            Ok(_) => {
                self.inner.metrics.accepted.fetch_add(1, Ordering::Relaxed);
            }
            Err(r) => self.inner.metrics.refused(r.reason()),
        }
        result
    }

    fn check_uncounted(&self, token: &str) -> Result<Arc<AccessClaims>, Refusal> {
        self.feed_is_fresh()?;
        let inner = &self.inner;
        let now = self.now();
        if let Some(cache) = &inner.cache
            && let Some(claims) = cache.get(token, now)
        {
            // The same time checks as a full verification, on the same clock and leeway.
            inner
                .validation
                .check_times(&claims)
                .map_err(Refusal::Invalid)?;
            self.not_revoked(&claims)?;
            inner.metrics.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(claims);
        }
        if inner.cache.is_some() {
            inner.metrics.cache_misses.fetch_add(1, Ordering::Relaxed);
        }
        let keys = inner
            .keys
            .read()
            .map(|k| Arc::clone(&k))
            .map_err(|_| Refusal::Invalid(signet::Error::UnknownKey))?;
        let claims = Arc::new(
            keys.verify_as(token, &inner.validation)
                .map_err(Refusal::Invalid)?,
        );
        self.not_revoked(&claims)?;
        if let Some(cache) = &inner.cache {
            let parsed = signet::UnverifiedToken::parse_with_limit(token, token.len());
            let kid = parsed.as_ref().ok().and_then(|t| t.header().kid());
            cache.insert(token, Arc::clone(&claims), kid, now);
        }
        Ok(claims)
    }

    /// Under the refuse policy, refuses while the revocation feed has been silent too long.
    fn feed_is_fresh(&self) -> Result<(), Refusal> {
        if let Some(jwks) = &self.inner.jwks
            && self.now().saturating_sub(jwks.last_success())
                > self.inner.max_keys_staleness.as_secs()
        {
            return Err(Refusal::KeysStale);
        }
        match self.inner.stale {
            Some((bound, StalePolicy::Refuse)) if self.feed_age().is_none_or(|age| age > bound) => {
                Err(Refusal::RevocationsStale)
            }
            _ => Ok(()),
        }
    }

    /// The guard's metrics in the Prometheus text format: accepted and refused requests by
    /// reason, the cache hit ratio, JWKS fetches, the revocation lag and the feed's age.
    pub fn metrics(&self) -> String {
        use std::fmt::Write;
        let mut out = self
            .inner
            .metrics
            .render(self.jwks_fetches(), self.feed_age().map(|d| d.as_secs()));
        let (following, policy, bound) = match self.inner.stale {
            Some((bound, StalePolicy::Refuse)) => (1, "refuse", bound.as_secs()),
            Some((bound, _)) => (1, "keep_serving", bound.as_secs()),
            None => (0, "none", 0),
        };
        let stale =
            u8::from(following == 1 && self.feed_age().is_none_or(|age| age.as_secs() > bound));
        let _ = writeln!(
            out,
            "# TYPE signet_guard_revocations_followed gauge\nsignet_guard_revocations_followed {following}\n# TYPE signet_guard_revocation_feed_stale gauge\nsignet_guard_revocation_feed_stale{{policy=\"{policy}\",max_silence_seconds=\"{bound}\"}} {stale}\n# TYPE signet_guard_revocations_held gauge\nsignet_guard_revocations_held {}",
            self.inner.revoked.len()
        );
        out
    }

    /// Notes a new connection to the revocation stream.
    pub(crate) fn feed_connected(&self) {
        self.inner
            .metrics
            .feed_connects
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Records the lag of an entry the issuer wrote at `revoked_at_ms` (Unix milliseconds).
    pub(crate) fn note_lag(&self, revoked_at_ms: u64) {
        let lag_ms = self.inner.clock.now_ms().saturating_sub(revoked_at_ms);
        self.inner.metrics.lag(lag_ms);
    }

    /// Checks a token like [`Guard::check`]; when its `kid` is unknown and the keys come from
    /// the issuer, fetches them again first (at most once per cooldown) and checks once more.
    pub async fn verify(&self, token: &str) -> Result<Arc<AccessClaims>, Refusal> {
        match self.check(token) {
            Err(Refusal::Invalid(signet::Error::UnknownKey)) => self.recheck(token).await,
            other => other,
        }
    }

    /// After [`Guard::check`] found `token`'s key unknown: fetches the issuer's keys again (at
    /// most once per cooldown, and never for a withdrawn key) and checks once more.
    pub(crate) async fn recheck(&self, token: &str) -> Result<Arc<AccessClaims>, Refusal> {
        match &self.inner.jwks {
            Some(jwks) if !self.withdrawn(token) => {
                jwks.refetch(self).await;
                self.check(token)
            }
            _ => Err(Refusal::Invalid(signet::Error::UnknownKey)),
        }
    }

    /// Whether `token` names a key the issuer withdrew.
    fn withdrawn(&self, token: &str) -> bool {
        let kid = signet::UnverifiedToken::parse(token)
            .ok()
            .and_then(|t| t.header().kid().map(str::to_owned));
        match (kid, self.inner.withdrawn.read()) {
            (Some(kid), Ok(withdrawn)) => withdrawn.contains(&kid),
            _ => false,
        }
    }

    /// How many times the JWKS has been fetched (0 with static keys).
    pub fn jwks_fetches(&self) -> u64 {
        self.inner.jwks.as_ref().map_or(0, |j| j.fetches())
    }

    /// Notes that the revocation feed was heard from.
    pub(crate) fn feed_contact(&self) {
        self.inner.feed_contact.store(self.now(), Ordering::Relaxed);
    }

    /// How long ago the revocation feed was last heard from; `None` if never.
    pub fn feed_age(&self) -> Option<Duration> {
        match self.inner.feed_contact.load(Ordering::Relaxed) {
            0 => None,
            at => Some(Duration::from_secs(self.now().saturating_sub(at))),
        }
    }

    /// A guard for the issuer at `options.issuer`: discovery (or `options.jwks_url`) finds its JWKS (fetched now, then
    /// refreshed in the background and on unknown `kid`s) and, when client credentials are
    /// given, its revocation feed, which is followed in the background. Requires a Tokio
    /// runtime.
    pub async fn from_issuer(options: IssuerOptions) -> Result<Guard, RemoteError> {
        // No total timeout: the revocation stream is one long response. Connecting is bounded,
        // each read is bounded (the issuer sends a keep-alive every 5 s), and every plain
        // request carries its own timeout.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(options.max_feed_silence.max(Duration::from_secs(15)))
            .build()
            .map_err(|e| RemoteError::Invalid(e.to_string()))?;
        let insecure = options.insecure_http;
        remote::check_url(&options.issuer, insecure)?;
        let found = match &options.jwks_url {
            Some(url) => remote::Discovered {
                jwks_uri: url.clone(),
                revocation_feed: options.revocation_feed.clone(),
                retention: None,
            },
            None => remote::discover(&http, &options.issuer).await?,
        };
        remote::check_url(&found.jwks_uri, insecure)?;
        if let Some(feed) = &found.revocation_feed {
            remote::check_url(feed, insecure)?;
            // The feed's credentials go to the issuer's own origin only.
            if options.jwks_url.is_none() && !remote::same_origin(feed, &options.issuer) {
                return Err(RemoteError::Invalid(format!(
                    "the revocation feed {feed} is not on the issuer's origin; its credentials are not sent there"
                )));
            }
        }
        if options.client.is_none() && !options.insecure_no_revocation {
            return Err(RemoteError::Invalid(
                "following revocations needs client credentials (or the insecure_no_revocation option)".into(),
            ));
        }
        let follows = found.revocation_feed.is_some() && options.client.is_some();
        if options.client.is_some() && found.revocation_feed.is_none() {
            return Err(RemoteError::Invalid(
                "the issuer publishes no revocation feed".into(),
            ));
        }
        // A leeway longer than the feed keeps entries would let a token pass after its
        // revocation was dropped from the feed: never allow more.
        let mut leeway = options.leeway;
        if follows
            && let Some(kept) = found.retention
            && leeway > kept
        {
            tracing::warn!(
                leeway_secs = leeway.as_secs(),
                retention_secs = kept.as_secs(),
                "leeway cut to the revocation feed's retention"
            );
            leeway = kept;
        }
        let jwks = Arc::new(Jwks::new(
            http.clone(),
            found.jwks_uri,
            options.cooldown,
            Arc::clone(&options.clock),
        ));
        let keys = jwks.fetch().await?;
        let mut builder = Guard::builder(
            keys,
            options.issuer.trim_end_matches('/'),
            options.audience.clone(),
        )
        .leeway(leeway)
        .cache_capacity(options.cache_capacity)
        .clock(Arc::clone(&options.clock));
        if let Some(c) = &options.cookie {
            builder = builder.cookie(c.clone());
        }
        builder.remote = Some(Remote {
            jwks: Arc::clone(&jwks),
            // Staleness must outlast the refresh period, or fresh keys would count as stale.
            max_keys_staleness: options.max_keys_staleness.max(options.refresh_bounds.1 * 2),
            stale: follows.then_some((options.max_feed_silence, options.on_stale_feed)),
        });
        let guard = builder.build();
        tokio::spawn({
            let guard = guard.downgrade();
            async move { jwks.refresh_forever(guard, options.refresh_bounds).await }
        });
        if let (Some(feed), Some((id, secret))) = (found.revocation_feed, options.client) {
            use base64::Engine;
            let basic = base64::engine::general_purpose::STANDARD
                .encode(format!("{id}:{}", secret.expose()));
            tokio::spawn(remote::follow_revocations(
                guard.downgrade(),
                http,
                feed,
                format!("Basic {basic}"),
            ));
        }
        Ok(guard)
    }

    fn not_revoked(&self, claims: &AccessClaims) -> Result<(), Refusal> {
        let text = |name: &str| claims.custom.get(name).and_then(|v| v.as_str());
        let token = crate::TokenRef {
            jti: claims.jti.as_deref(),
            client_id: text("client_id"),
            sub: claims.sub.as_deref(),
            sid: text("sid"),
            iat: claims.iat.map_or(0, |i| i.as_secs()),
        };
        if self.inner.revoked.covers(&token) {
            return Err(Refusal::Revoked);
        }
        Ok(())
    }
}

impl GuardBuilder {
    /// The clock-skew tolerance for `exp`, `nbf` and `iat` (60 s by default).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.as_secs();
        self
    }

    /// **Insecure**: accept any JWT the issuer signed for the audience, not only access tokens;
    /// an ID token would then open the service.
    pub fn insecure_any_token_type(mut self) -> Self {
        self.any_type = true;
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

    /// Read the time from this clock instead of the system's (for tests and replays): token
    /// expiry, the cache, revocation pruning and the feed's and keys' staleness all use it.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The guard.
    pub fn build(self) -> Guard {
        let mut rules = Validation::builder()
            .issuer(self.issuer.clone())
            .audience(self.audience)
            .leeway(Duration::from_secs(self.leeway))
            .clock(Arc::clone(&self.clock));
        if !self.any_type {
            rules = rules.required_typ("at+jwt");
        }
        let validation = rules.build();
        let (jwks, max_keys_staleness, stale) = match self.remote {
            Some(r) => (Some(r.jwks), r.max_keys_staleness, r.stale),
            None => (None, Duration::MAX, None),
        };
        // A guard that follows a feed counts contact from its start, so that it is not stale
        // at once.
        let contact = if stale.is_some() { self.clock.now() } else { 0 };
        Guard {
            inner: Arc::new(Inner {
                keys: RwLock::new(Arc::new(self.keys)),
                withdrawn: RwLock::default(),
                jwks,
                feed_contact: AtomicU64::new(contact),
                stale,
                max_keys_staleness,
                metrics: Metrics::default(),
                validation,
                leeway: self.leeway,
                revoked: RevocationSet::default(),
                cache: self.cache.map(VerifiedCache::new),
                cookie: self.cookie,
                clock: self.clock,
                issuer: self.issuer,
            }),
        }
    }
}

/// How to reach an issuer, for [`Guard::from_issuer`].
///
/// # Examples
///
/// ```
/// let mut options = signet_guard::IssuerOptions::new("https://auth.example.com", "orders-api");
/// options.on_stale_feed = signet_guard::StalePolicy::Refuse; // 503 while revocations are unknown
/// options.max_feed_silence = std::time::Duration::from_secs(30);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuerOptions {
    /// The issuer URL.
    pub issuer: String,
    /// The audience tokens must be for.
    pub audience: String,
    /// The JWKS URL, instead of discovery from the issuer URL.
    pub jwks_url: Option<String>,
    /// The revocation feed URL, when `jwks_url` is given (discovery finds it otherwise).
    pub revocation_feed: Option<String>,
    /// Client credentials for the revocation feed (the id and the secret, which `Debug` never
    /// shows). Required unless `insecure_no_revocation`.
    pub client: Option<(String, signet::SecretString)>,
    /// **Insecure**: do not follow revocations (revoked tokens pass until they expire).
    pub insecure_no_revocation: bool,
    /// **Insecure**: allow plain http to an issuer that is not on a loopback address.
    pub insecure_http: bool,
    /// The clock-skew tolerance (60 s; never more than the feed keeps revocations).
    pub leeway: Duration,
    /// The least time between two fetches caused by unknown `kid`s (30 s).
    pub cooldown: Duration,
    /// How often the JWKS is fetched again anyway: the issuer's `Cache-Control: max-age`,
    /// kept within these bounds (1 minute to 1 hour).
    pub refresh_bounds: (Duration, Duration),
    /// How long the last good keys stay in use while the issuer cannot be reached (24 hours);
    /// after that every request is refused (503).
    pub max_keys_staleness: Duration,
    /// How long the revocation feed may be silent before `on_stale_feed` applies (60 s). The
    /// issuer's stream sends a keep-alive every 5 s, so this must be longer than that.
    pub max_feed_silence: Duration,
    /// Keep serving (the default; logged and in the metrics) or refuse with 503 when the
    /// revocation feed has been silent too long.
    pub on_stale_feed: StalePolicy,
    /// Verified tokens remembered (10,000; 0 turns the cache off).
    pub cache_capacity: usize,
    /// A cookie the token may come in.
    pub cookie: Option<String>,
    /// The clock (the system's; see [`GuardBuilder::clock`]).
    pub clock: Arc<dyn Clock>,
}

impl IssuerOptions {
    /// Options for `issuer` and `audience`, with the defaults above.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_url: None,
            revocation_feed: None,
            client: None,
            insecure_no_revocation: false,
            insecure_http: false,
            leeway: Duration::from_secs(60),
            cooldown: Duration::from_secs(30),
            refresh_bounds: (Duration::from_secs(60), Duration::from_secs(3600)),
            max_keys_staleness: Duration::from_secs(86_400),
            max_feed_silence: Duration::from_secs(60),
            on_stale_feed: StalePolicy::KeepServing,
            cache_capacity: DEFAULT_CAPACITY,
            cookie: None,
            clock: Arc::new(SystemClock),
        }
    }
}

/// What a guard does while it cannot hear the issuer's revocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StalePolicy {
    /// Keep accepting valid tokens; revocations made meanwhile are missed until the feed is
    /// back (then applied, from the last cursor).
    KeepServing,
    /// Refuse every request (503) until the feed is back.
    Refuse,
}
