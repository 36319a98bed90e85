//! The issuer's settings as people write them, from any source: the TOML file, or flags and
//! `SIGNET_*` variables. Every field is optional. [`Settings::over`] layers two sources (the
//! higher one wins field by field), and [`Settings::apply`] checks the text and sets a
//! [`Config`]. So the merge rule (flags over variables over the file over the defaults) lives
//! here once, whatever front end reads the sources.
//!
//! ```
//! use signet_server::{Config, Settings};
//!
//! let file: Settings = toml::from_str("access_token_lifetime = \"5m\"\nmax_streams = 64")?;
//! let flags = Settings { max_streams: Some(8), ..Settings::default() };
//! let mut config = Config::new();
//! flags.over(file).apply(&mut config)?;
//! assert_eq!(config.access_lifetime.as_secs(), 300);
//! assert_eq!(config.max_streams, 8);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

use crate::config::Config;
use crate::listener::ConnectionLimits;

/// Settings as text; see the module documentation. The names are those of the TOML file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // each field is the setting of the same name in the README
pub struct Settings {
    pub listen: Option<String>,
    pub issuer: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub access_token_lifetime: Option<String>,
    pub allow_long_lived_access_tokens: Option<bool>,
    pub signing_alg: Option<String>,
    pub log_format: Option<String>,
    pub refresh_idle: Option<String>,
    pub refresh_absolute: Option<String>,
    pub jwks_max_age: Option<String>,
    pub key_lead_time: Option<String>,
    pub login_attempts_per_user: Option<u32>,
    pub login_attempts_per_address: Option<u32>,
    pub metrics_listen: Option<String>,
    pub trusted_proxies: Option<Vec<String>>,
    pub refresh_grace: Option<String>,
    pub header_read_timeout: Option<String>,
    pub idle_timeout: Option<String>,
    pub max_connections: Option<usize>,
    pub max_streams: Option<usize>,
    pub max_streams_per_client: Option<usize>,
    pub max_concurrent_hashes: Option<usize>,
    pub product_name: Option<String>,
    pub sso_session_lifetime: Option<String>,
}

/// Parses `90s`, `15m`, `1h`, `7d` (or plain seconds).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// assert_eq!(signet_server::parse_duration("15m")?, Duration::from_secs(900));
/// assert_eq!(signet_server::parse_duration("90")?, Duration::from_secs(90));
/// assert!(signet_server::parse_duration("soon").is_err());
/// # Ok::<(), anyhow::Error>(())
/// ```
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits
        .parse()
        .with_context(|| format!("invalid duration `{s}` (use 90s, 15m, 1h, 7d)"))?;
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => bail!("invalid duration `{s}` (use 90s, 15m, 1h, 7d)"),
    };
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .with_context(|| format!("duration `{s}` is too long"))
}

/// `high`'s fields where set, else `low`'s.
macro_rules! layered {
    ($high:ident, $low:ident, $($field:ident),* $(,)?) => {
        Settings { $($field: $high.$field.or($low.$field)),* }
    };
}

impl Settings {
    /// Reads a TOML configuration file.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), e.message()))
    }

    /// These settings over `lower`: each field set here wins.
    pub fn over(self, lower: Settings) -> Settings {
        layered!(
            self,
            lower,
            listen,
            issuer,
            data_dir,
            database_url,
            redis_url,
            access_token_lifetime,
            allow_long_lived_access_tokens,
            signing_alg,
            log_format,
            refresh_idle,
            refresh_absolute,
            jwks_max_age,
            key_lead_time,
            login_attempts_per_user,
            login_attempts_per_address,
            metrics_listen,
            trusted_proxies,
            refresh_grace,
            header_read_timeout,
            idle_timeout,
            max_connections,
            max_streams,
            max_streams_per_client,
            max_concurrent_hashes,
            product_name,
            sso_session_lifetime,
        )
    }

    /// Sets `config` from these settings; a value that does not parse is an error naming it.
    /// `log_format` is the front end's to read; `metrics_listen` is set only when given (`off`
    /// turns the listener off).
    pub fn apply(&self, config: &mut Config) -> Result<()> {
        if let Some(listen) = &self.listen {
            config.listen = listen
                .parse()
                .map_err(|_| anyhow!("invalid listen address {listen:?}"))?;
            config.issuer = format!("http://{}", config.listen);
        }
        if let Some(issuer) = &self.issuer {
            config.issuer.clone_from(issuer);
        }
        if let Some(dir) = &self.data_dir {
            config.data_dir.clone_from(dir);
        }
        config.database_url.clone_from(&self.database_url);
        config.redis_url.clone_from(&self.redis_url);
        config.allow_long_lived_access_tokens =
            self.allow_long_lived_access_tokens.unwrap_or(false);
        if let Some(alg) = &self.signing_alg {
            config.signing_alg = alg.parse().map_err(|_| {
                anyhow!("unsupported signing algorithm `{alg}` (use ES256, EdDSA, RS256 or PS256)")
            })?;
        }
        for (value, slot) in [
            (&self.access_token_lifetime, &mut config.access_lifetime),
            (&self.refresh_idle, &mut config.refresh_idle),
            (&self.refresh_absolute, &mut config.refresh_absolute),
            (&self.jwks_max_age, &mut config.jwks_max_age),
            (&self.key_lead_time, &mut config.key_lead_time),
            (&self.sso_session_lifetime, &mut config.sso_session_lifetime),
        ] {
            if let Some(v) = value {
                *slot = parse_duration(v)?;
            }
        }
        if let Some(n) = self.login_attempts_per_user {
            config.login_attempts_per_user = n;
        }
        if let Some(n) = self.login_attempts_per_address {
            config.login_attempts_per_address = n;
        }
        if let Some(n) = self.max_concurrent_hashes {
            config.max_concurrent_hashes = n;
        }
        if let Some(name) = &self.product_name {
            config.product_name.clone_from(name);
        }
        config.trusted_proxies = self
            .trusted_proxies
            .iter()
            .flatten()
            .map(|p| {
                p.trim()
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| p.trim().parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        anyhow!("invalid trusted proxy {p:?} (use a CIDR such as 10.0.0.0/8)")
                    })
            })
            .collect::<Result<_>>()?;
        if let Some(d) = &self.refresh_grace {
            config.refresh_grace = if d.trim() == "0" {
                Duration::ZERO
            } else {
                parse_duration(d)?
            };
        }
        self.apply_connections(&mut config.connections)?;
        if let Some(n) = self.max_streams {
            config.max_streams = n;
        }
        if let Some(n) = self.max_streams_per_client {
            config.max_streams_per_client = n;
        }
        match self.metrics_listen.as_deref() {
            Some("off") => config.metrics_listen = None,
            Some(v) => {
                config.metrics_listen = Some(
                    v.parse()
                        .map_err(|_| anyhow!("invalid metrics address {v:?}"))?,
                );
            }
            None => {}
        }
        Ok(())
    }

    /// Sets the connection bounds (`header_read_timeout`, `idle_timeout`, `max_connections`),
    /// for the issuer and `signet proxy` alike.
    pub fn apply_connections(&self, limits: &mut ConnectionLimits) -> Result<()> {
        if let Some(d) = &self.header_read_timeout {
            limits.header_read_timeout = parse_duration(d)?;
        }
        if let Some(d) = &self.idle_timeout {
            limits.idle_timeout = parse_duration(d)?;
        }
        if let Some(n) = self.max_connections {
            if n == 0 {
                bail!("--max-connections must be at least 1");
            }
            limits.max_connections = n;
        }
        if limits.header_read_timeout.is_zero() || limits.idle_timeout.is_zero() {
            bail!("connection timeouts must be positive");
        }
        Ok(())
    }
}
