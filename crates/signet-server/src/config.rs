//! The issuer's settings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use signet::{Algorithm, Clock, SystemClock};

use crate::listener::ConnectionLimits;

/// The longest access-token lifetime accepted without the explicit long-lived setting.
pub const MAX_ACCESS_LIFETIME: Duration = Duration::from_secs(3600);

/// How the issuer runs. Build it with [`Config::new`] and adjust the public fields.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let mut config = signet_server::Config::default(); // or `Settings` from a file and flags
/// config.issuer = "https://auth.example.com".into();
/// config.access_lifetime = Duration::from_secs(300);
/// assert!(config.check().is_ok());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The issuer URL, written into `iss` and the discovery documents.
    pub issuer: String,
    /// Directory of the master key file, and of the SQLite database unless `database_url`
    /// names another.
    pub data_dir: PathBuf,
    /// The database: `sqlite://PATH` (default: `signet.db` in `data_dir`).
    pub database_url: Option<String>,
    /// Run the embedded migrations at start-up (the default); without it, a database whose
    /// migrations have not all run is refused (run `signet migrate`).
    pub migrate: bool,
    /// Access-token lifetime (default 10 minutes).
    pub access_lifetime: Duration,
    /// Allow an access-token lifetime over one hour.
    pub allow_long_lived_access_tokens: bool,
    /// Refresh-token idle lifetime: how long an unused refresh token stays valid (14 days).
    pub refresh_idle: Duration,
    /// Refresh-token absolute lifetime: how long a login lasts at most (90 days).
    pub refresh_absolute: Duration,
    /// Signing algorithm for new keys: ES256 (default), EdDSA, RS256 or PS256.
    pub signing_alg: Algorithm,
    /// How long clients may cache the JWKS (300 s).
    pub jwks_max_age: Duration,
    /// How long a rotated key is published before it signs (300 s): long enough for
    /// verifiers' JWKS caches to see it. `signet key rotate` honours it too.
    pub key_lead_time: Duration,
    /// The master key, base64url, instead of the key file in the data directory.
    pub master_key: Option<String>,
    /// How often keys are reloaded (so that `signet key rotate` takes effect) and expired
    /// state is pruned (15 s).
    pub housekeeping: Duration,
    /// How often the signing key is rotated (30 days).
    pub rotation: Duration,
    /// Password logins allowed per user name per minute (10).
    pub login_attempts_per_user: u32,
    /// Password logins allowed per client address per minute (30). IPv6 addresses count by
    /// their /64.
    pub login_attempts_per_address: u32,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` headers name the client address (for the
    /// address limit). Empty (the default): those headers are ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Password hashes (argon2id) computed at once; more wait briefly, then get 503 (one per
    /// core by default).
    pub max_concurrent_hashes: usize,
    /// How long a login waits for a hashing slot before it is answered 503 (2 s).
    pub max_hash_wait: Duration,
    /// How long a just-rotated refresh token may be presented again by the same client and
    /// still succeed, within its family (10 s; zero turns it off).
    pub refresh_grace: Duration,
    /// How long the revocation feed keeps an entry after its token's `exp`: the largest
    /// leeway a verifier may use (120 s). Published in discovery.
    pub revocation_retention: Duration,
    /// Header-read timeout, idle timeout and connection cap of the listener.
    pub connections: ConnectionLimits,
    /// Revocation streams open at once, in all (1024) and per client (16).
    pub max_streams: usize,
    /// See `max_streams`.
    pub max_streams_per_client: usize,
    /// Where `/metrics` is served, apart from the API (none by default in the library; the
    /// CLI's default is 127.0.0.1:9464).
    pub metrics_listen: Option<SocketAddr>,
    /// A bearer token that opens `/metrics` on the main listener too; without it `/metrics` is
    /// only on `metrics_listen`.
    pub metrics_token: Option<signet::SecretString>,
    /// Redis (`redis://...`) holding the login rate-limit counters of every instance; `None`:
    /// each instance counts on its own, in memory.
    pub redis_url: Option<String>,
    /// The product name the login pages show ("Signet").
    pub product_name: String,
    /// How long an SSO session (the login page's cookie) lasts at most (12 hours).
    pub sso_session_lifetime: Duration,
    /// The clock every decision that depends on the time reads: the system clock, or a fixed
    /// one in tests ([`signet::FixedClock`]).
    pub clock: Arc<dyn Clock>,
}

impl Config {
    /// Defaults: 127.0.0.1:8080, issuer `http://127.0.0.1:8080`, data in `./signet-data`.
    pub fn new() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            issuer: "http://127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("signet-data"),
            database_url: None,
            migrate: true,
            access_lifetime: Duration::from_secs(600),
            allow_long_lived_access_tokens: false,
            refresh_idle: Duration::from_secs(14 * 86_400),
            refresh_absolute: Duration::from_secs(90 * 86_400),
            signing_alg: Algorithm::ES256,
            jwks_max_age: Duration::from_secs(300),
            key_lead_time: Duration::from_secs(300),
            master_key: None,
            housekeeping: Duration::from_secs(15),
            rotation: Duration::from_secs(30 * 86_400),
            login_attempts_per_user: 10,
            login_attempts_per_address: 30,
            trusted_proxies: Vec::new(),
            max_concurrent_hashes: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_hash_wait: Duration::from_secs(2),
            refresh_grace: Duration::from_secs(10),
            revocation_retention: Duration::from_secs(120),
            connections: ConnectionLimits::default(),
            max_streams: 1024,
            max_streams_per_client: 16,
            metrics_listen: None,
            metrics_token: None,
            redis_url: None,
            product_name: "Signet".to_owned(),
            sso_session_lifetime: Duration::from_secs(12 * 3600),
            clock: Arc::new(SystemClock),
        }
    }

    /// The time now on the configured clock, in Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        i64::try_from(self.clock.now()).unwrap_or(i64::MAX)
    }

    /// Checks the settings that must not be silently accepted.
    pub fn check(&self) -> Result<(), String> {
        if self.access_lifetime > MAX_ACCESS_LIFETIME && !self.allow_long_lived_access_tokens {
            return Err(format!(
                "an access-token lifetime of {}s is over one hour; set the long-lived access tokens setting if you mean it",
                self.access_lifetime.as_secs()
            ));
        }
        if self.access_lifetime.is_zero() {
            return Err("the access-token lifetime must be positive".into());
        }
        if !matches!(
            self.signing_alg,
            Algorithm::ES256 | Algorithm::EdDSA | Algorithm::RS256 | Algorithm::PS256
        ) {
            return Err(format!(
                "signing algorithm {} is not offered; use ES256, EdDSA, RS256 or PS256",
                self.signing_alg
            ));
        }
        if self.max_concurrent_hashes == 0 {
            return Err("at least one password hash must be allowed at a time".into());
        }
        if self.connections.header_read_timeout.is_zero() || self.connections.idle_timeout.is_zero()
        {
            return Err("connection timeouts must be positive".into());
        }
        if !(self.issuer.starts_with("https://") || self.issuer.starts_with("http://")) {
            return Err(format!("issuer {:?} must be an http(s) URL", self.issuer));
        }
        Ok(())
    }

    /// Where the state lives: the SQLite file or the PostgreSQL database the settings name.
    pub(crate) fn database(&self) -> anyhow::Result<crate::store::Location> {
        crate::store::Location::of(self.database_url.as_deref(), &self.data_dir)
    }

    /// The issuer without a trailing slash.
    pub(crate) fn issuer(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    /// Whether the issuer is a plain-http loopback one (development on one machine), where
    /// cookies cannot be `Secure`.
    pub(crate) fn loopback_http(&self) -> bool {
        url::Url::parse(self.issuer()).is_ok_and(|u| u.scheme() == "http" && is_loopback_host(&u))
    }
}

/// Whether `url`'s host is `localhost` or a loopback address.
pub(crate) fn is_loopback_host(url: &url::Url) -> bool {
    url.host_str().is_some_and(signet::web::is_loopback_host)
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}
