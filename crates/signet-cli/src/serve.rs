//! `signet serve`: the issuer's settings from flags (with their `SIGNET_*` variables) over the
//! TOML file, merged by `signet_server::Settings`, and the server itself.

use anyhow::{Context, Result};
use signet_server::{AppState, Config, Settings};

use crate::cli::ServeArgs;
use crate::{init_logs, runtime};

/// The default address of the issuer's metrics listener.
const DEFAULT_METRICS: &str = "127.0.0.1:9464";

impl crate::cli::ConnectionArgs {
    /// The connection bounds given as flags (or their variables).
    pub(crate) fn settings(&self) -> Settings {
        Settings {
            header_read_timeout: self.header_read_timeout.clone(),
            idle_timeout: self.idle_timeout.clone(),
            max_connections: self.max_connections,
            ..Settings::default()
        }
    }
}

/// The settings given as flags (clap has already put each `SIGNET_*` variable under its flag).
fn flags(args: &ServeArgs) -> Settings {
    Settings {
        listen: args.listen.clone(),
        issuer: args.issuer.clone(),
        data_dir: args.data_dir.clone(),
        database_url: args.database_url.clone(),
        redis_url: args.redis_url.clone(),
        access_token_lifetime: args.access_token_lifetime.clone(),
        allow_long_lived_access_tokens: args.allow_long_lived_access_tokens.then_some(true),
        signing_alg: args.signing_alg.map(|a| a.name().to_owned()),
        key_lead_time: args.key_lead_time.clone(),
        log_format: args.log_format.clone(),
        metrics_listen: args.metrics_listen.clone(),
        trusted_proxies: (!args.trusted_proxies.is_empty()).then(|| args.trusted_proxies.clone()),
        refresh_grace: args.refresh_grace.clone(),
        max_streams: args.max_streams,
        max_streams_per_client: args.max_streams_per_client,
        ..args.connections.settings()
    }
}

/// Flags (and their `SIGNET_*` variables) over the file, over the defaults (the merge is
/// `signet_server::Settings`'); then what only a process decides: whether the default metrics
/// address is free, and the secrets that come from the environment alone.
fn config(args: &ServeArgs) -> Result<(Config, String, bool)> {
    let file = match &args.config {
        Some(path) => Settings::from_toml_file(path)?,
        None => Settings::default(),
    };
    let settings = flags(args).over(file);
    let mut config = Config::new();
    settings.apply(&mut config)?;
    config.migrate = !args.no_migrate;
    if settings.metrics_listen.is_none() {
        // The default address is skipped, with a warning, when another process holds it.
        config.metrics_listen = match std::net::TcpListener::bind(DEFAULT_METRICS) {
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
        };
    }
    config.metrics_token = std::env::var("SIGNET_METRICS_TOKEN")
        .ok()
        .filter(|v| !v.is_empty())
        .map(signet::SecretString::new);
    config.master_key = std::env::var("SIGNET_MASTER_KEY")
        .ok()
        .filter(|v| !v.is_empty());
    config.check().map_err(anyhow::Error::msg)?;
    let log_format = settings.log_format.unwrap_or_else(|| "text".into());
    Ok((config, log_format, settings.issuer.is_some()))
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
