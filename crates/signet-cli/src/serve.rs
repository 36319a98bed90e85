//! `signet serve`: the issuer's settings, from flags over `SIGNET_*` variables over the TOML
//! file over the defaults, and the server itself.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use signet_server::{AppState, Config};

use crate::cli::ServeArgs;
use crate::input::parse_duration;
use crate::{init_logs, runtime};

/// The TOML configuration file: the same settings as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    listen: Option<String>,
    issuer: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    redis_url: Option<String>,
    access_token_lifetime: Option<String>,
    allow_long_lived_access_tokens: Option<bool>,
    signing_alg: Option<String>,
    log_format: Option<String>,
    refresh_idle: Option<String>,
    refresh_absolute: Option<String>,
    jwks_max_age: Option<String>,
    pub(crate) key_lead_time: Option<String>,
    login_attempts_per_user: Option<u32>,
    login_attempts_per_address: Option<u32>,
    metrics_listen: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    refresh_grace: Option<String>,
    header_read_timeout: Option<String>,
    idle_timeout: Option<String>,
    max_connections: Option<usize>,
    max_streams: Option<usize>,
    max_streams_per_client: Option<usize>,
    max_concurrent_hashes: Option<usize>,
    product_name: Option<String>,
    sso_session_lifetime: Option<String>,
}

/// The default address of the issuer's metrics listener.
const DEFAULT_METRICS: &str = "127.0.0.1:9464";

/// Applies connection bounds given as flags over those of the file.
pub(crate) fn connection_limits(
    limits: &mut signet_server::ConnectionLimits,
    args: &crate::cli::ConnectionArgs,
    file: (Option<String>, Option<String>, Option<usize>),
) -> Result<()> {
    if let Some(d) = args.header_read_timeout.clone().or(file.0) {
        limits.header_read_timeout = parse_duration(&d)?;
    }
    if let Some(d) = args.idle_timeout.clone().or(file.1) {
        limits.idle_timeout = parse_duration(&d)?;
    }
    if let Some(n) = args.max_connections.or(file.2) {
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

/// Reads the issuer's TOML configuration file.
pub(crate) fn read_file_config(path: &std::path::Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), e.message()))
}

/// Flags (and their `SIGNET_*` variables) over the file, over the defaults.
fn config(args: &ServeArgs) -> Result<(Config, String, bool)> {
    let file: FileConfig = match &args.config {
        Some(path) => read_file_config(path)?,
        None => FileConfig::default(),
    };
    let mut config = Config::new();
    if let Some(listen) = args.listen.clone().or(file.listen) {
        config.listen = listen
            .parse()
            .map_err(|_| anyhow!("invalid listen address {listen:?}"))?;
        config.issuer = format!("http://{}", config.listen);
    }
    let issuer_given = args.issuer.is_some() || file.issuer.is_some();
    if let Some(issuer) = args.issuer.clone().or(file.issuer) {
        config.issuer = issuer;
    }
    if let Some(dir) = args.data_dir.clone().or(file.data_dir) {
        config.data_dir = dir;
    }
    config.database_url = args.database_url.clone().or(file.database_url);
    config.redis_url = args.redis_url.clone().or(file.redis_url);
    config.migrate = !args.no_migrate;
    if let Some(d) = args
        .access_token_lifetime
        .clone()
        .or(file.access_token_lifetime)
    {
        config.access_lifetime = parse_duration(&d)?;
    }
    config.allow_long_lived_access_tokens =
        args.allow_long_lived_access_tokens || file.allow_long_lived_access_tokens.unwrap_or(false);
    let from_file = file
        .signing_alg
        .map(|a| crate::keys::parse_alg(Some(&a)))
        .transpose()?
        .flatten();
    if let Some(alg) = args.signing_alg.or(from_file) {
        config.signing_alg = alg;
    }
    for (value, slot) in [
        (file.refresh_idle, &mut config.refresh_idle),
        (file.refresh_absolute, &mut config.refresh_absolute),
        (file.jwks_max_age, &mut config.jwks_max_age),
        (
            args.key_lead_time.clone().or(file.key_lead_time),
            &mut config.key_lead_time,
        ),
        (file.sso_session_lifetime, &mut config.sso_session_lifetime),
    ] {
        if let Some(v) = value {
            *slot = parse_duration(&v)?;
        }
    }
    if let Some(n) = file.login_attempts_per_user {
        config.login_attempts_per_user = n;
    }
    if let Some(n) = file.login_attempts_per_address {
        config.login_attempts_per_address = n;
    }
    if let Some(n) = file.max_concurrent_hashes {
        config.max_concurrent_hashes = n;
    }
    if let Some(name) = file.product_name {
        config.product_name = name;
    }
    let proxies = if args.trusted_proxies.is_empty() {
        file.trusted_proxies.unwrap_or_default()
    } else {
        args.trusted_proxies.clone()
    };
    config.trusted_proxies = proxies
        .iter()
        .map(|p| {
            p.trim()
                .parse::<ipnet::IpNet>()
                .or_else(|_| p.trim().parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow!("invalid trusted proxy {p:?} (use a CIDR such as 10.0.0.0/8)"))
        })
        .collect::<Result<_>>()?;
    if let Some(d) = args.refresh_grace.clone().or(file.refresh_grace) {
        config.refresh_grace = if d.trim() == "0" {
            std::time::Duration::ZERO
        } else {
            parse_duration(&d)?
        };
    }
    connection_limits(
        &mut config.connections,
        &args.connections,
        (
            file.header_read_timeout,
            file.idle_timeout,
            file.max_connections,
        ),
    )?;
    if let Some(n) = args.max_streams.or(file.max_streams) {
        config.max_streams = n;
    }
    if let Some(n) = args.max_streams_per_client.or(file.max_streams_per_client) {
        config.max_streams_per_client = n;
    }
    config.metrics_listen = match args.metrics_listen.clone().or(file.metrics_listen) {
        Some(v) if v == "off" => None,
        Some(v) => Some(
            v.parse()
                .map_err(|_| anyhow!("invalid metrics address {v:?}"))?,
        ),
        // The default address is skipped, with a warning, when another process holds it.
        None => match std::net::TcpListener::bind(DEFAULT_METRICS) {
            Ok(probe) => {
                drop(probe);
                DEFAULT_METRICS.parse().ok()
            }
            Err(_) => {
                eprintln!(
                    "warning: {DEFAULT_METRICS} is taken; /metrics is not served (set --metrics-listen)"
                );
                None
            }
        },
    };
    config.metrics_token = std::env::var("SIGNET_METRICS_TOKEN")
        .ok()
        .filter(|v| !v.is_empty())
        .map(signet::SecretString::new);
    config.master_key = std::env::var("SIGNET_MASTER_KEY")
        .ok()
        .filter(|v| !v.is_empty());
    config.check().map_err(anyhow::Error::msg)?;
    let log_format = args
        .log_format
        .clone()
        .or(file.log_format)
        .unwrap_or_else(|| "text".into());
    Ok((config, log_format, issuer_given))
}

pub(crate) fn serve(args: &ServeArgs) -> Result<()> {
    let (mut config, log_format, issuer_given) = config(args)?;
    init_logs(&log_format)?;
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        if !issuer_given {
            // With port 0 the system picks the port; the issuer URL follows it.
            config.issuer = format!("http://{addr}");
        }
        let state = AppState::open(config.clone()).await?;
        tracing::info!(%addr, issuer = %config.issuer, data_dir = %config.data_dir.display(), "signet serving");
        signet_server::serve_on(state, listener, crate::shutdown_signal()).await?;
        tracing::info!("signet stopped");
        Ok(())
    })
}
