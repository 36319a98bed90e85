//! `signet serve` and the administration commands on the issuer's data directory.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use signet_server::{Admin, AppState, Config};
use zeroize::Zeroizing;

use crate::cli::{ClientCommand, DataDir, ServeArgs, UserCommand};
use crate::input::parse_duration;

/// The TOML configuration file: the same settings as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
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
    key_lead_time: Option<String>,
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
fn connection_limits(
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

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Flags (and their `SIGNET_*` variables) over the file, over the defaults.
/// Reads the issuer's TOML configuration file.
fn read_file_config(path: &std::path::Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), e.message()))
}

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
    if let Some(alg) = args.signing_alg.clone().or(file.signing_alg) {
        config.signing_alg =
            crate::keys::parse_alg(Some(&alg))?.ok_or_else(|| anyhow!("no algorithm"))?;
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

pub(crate) fn init_logs(format: &str) -> Result<()> {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SIGNET_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none());
    match format {
        "json" => builder.json().init(),
        "text" => builder.init(),
        other => bail!("unknown log format {other:?} (use text or json)"),
    }
    Ok(())
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
        signet_server::serve_on(state, listener, signet_server::shutdown_signal()).await?;
        tracing::info!("signet stopped");
        Ok(())
    })
}

fn admin_config(dir: &DataDir) -> Config {
    let mut config = Config::new();
    config.data_dir = dir.data_dir.clone();
    config.database_url = dir.database_url.clone();
    config.master_key = std::env::var("SIGNET_MASTER_KEY")
        .ok()
        .filter(|v| !v.is_empty());
    // Cutoffs last as long as the issuer's tokens: at least the longest lifetime allowed
    // without the long-lived setting, longer when the issuer's variable says so.
    if let Some(lifetime) = std::env::var("SIGNET_ACCESS_TOKEN_LIFETIME")
        .ok()
        .and_then(|v| parse_duration(&v).ok())
    {
        config.access_lifetime = lifetime;
    }
    config
}

/// Reads a secret from standard input, which must not be a terminal (so it is not echoed and
/// not left in the shell history as an argument).
fn secret_from_stdin(what: &str) -> Result<Zeroizing<String>> {
    if std::io::stdin().is_terminal() {
        bail!("pipe the {what} into standard input (it is never taken as an argument)");
    }
    let mut s = Zeroizing::new(String::new());
    std::io::stdin()
        .read_to_string(&mut s)
        .with_context(|| format!("cannot read the {what}"))?;
    let trimmed = Zeroizing::new(s.trim_end_matches(['\r', '\n']).to_owned());
    if trimmed.is_empty() {
        bail!("the {what} is empty");
    }
    Ok(trimmed)
}

fn claims(pairs: &[String]) -> Result<serde_json::Map<String, serde_json::Value>> {
    pairs
        .iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| anyhow!("--claim {p:?}: use KEY=VALUE"))?;
            let value =
                serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_owned()));
            Ok((k.to_owned(), value))
        })
        .collect()
}

fn profile_of(args: crate::cli::ProfileArgs) -> signet_server::Profile {
    signet_server::Profile {
        email: args.email,
        email_verified: args.email_verified,
        display_name: args.display_name,
    }
}

pub(crate) fn user(cmd: UserCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    runtime()?.block_on(async {
        match cmd {
            UserCommand::Add {
                name,
                password_stdin: _,
                roles,
                claims: pairs,
                profile,
                dir,
            } => {
                let password = secret_from_stdin("password")?;
                let admin = Admin::open(&admin_config(&dir)).await?;
                let user = admin
                    .add_user(&name, password, roles, claims(&pairs)?, profile_of(profile))
                    .await?;
                writeln!(out, "added user {} (sub {})", user.name, user.id)?;
            }
            UserCommand::Set { name, profile, dir } => {
                Admin::open(&admin_config(&dir))
                    .await?
                    .set_profile(&name, profile_of(profile))
                    .await?;
                writeln!(out, "updated user {name}")?;
            }
            UserCommand::List(dir) => {
                let admin = Admin::open(&admin_config(&dir)).await?;
                for u in admin.users().await? {
                    let state = if u.disabled { "disabled" } else { "active" };
                    writeln!(
                        out,
                        "{}\t{}\t{state}\troles={}",
                        u.name,
                        u.id,
                        u.roles.join(",")
                    )?;
                }
            }
            UserCommand::Disable { name, dir } => {
                Admin::open(&admin_config(&dir))
                    .await?
                    .disable_user(&name)
                    .await?;
                writeln!(
                    out,
                    "disabled user {name}; their logins and tokens are revoked"
                )?;
            }
            UserCommand::SetPassword {
                name,
                password_stdin: _,
                dir,
            } => {
                let password = secret_from_stdin("password")?;
                Admin::open(&admin_config(&dir))
                    .await?
                    .set_password(&name, password)
                    .await?;
                writeln!(
                    out,
                    "set the password of {name}; their logins and tokens are revoked"
                )?;
            }
            UserCommand::Revoke { name, dir } => {
                Admin::open(&admin_config(&dir))
                    .await?
                    .log_out_user(&name)
                    .await?;
                writeln!(
                    out,
                    "logged {name} out everywhere; their logins and tokens are revoked"
                )?;
            }
            UserCommand::Delete { name, dir } => {
                Admin::open(&admin_config(&dir))
                    .await?
                    .delete_user(&name)
                    .await?;
                writeln!(
                    out,
                    "deleted user {name}; their logins and tokens are revoked"
                )?;
            }
        }
        Ok(())
    })
}

pub(crate) fn client(cmd: ClientCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    runtime()?.block_on(async {
        match cmd {
            ClientCommand::Add {
                id,
                secret_stdin,
                public,
                grants,
                scopes,
                audiences,
                introspect,
                roles,
                oidc,
                dir,
            } => {
                let secret = if secret_stdin {
                    Some(secret_from_stdin("client secret")?)
                } else {
                    None
                };
                let admin = Admin::open(&admin_config(&dir)).await?;
                let new = admin
                    .register_client(signet_server::ClientSpec {
                        id,
                        public,
                        secret,
                        grants,
                        scopes: scopes
                            .iter()
                            .flat_map(|s| s.split_whitespace())
                            .map(str::to_owned)
                            .collect(),
                        audiences,
                        introspect,
                        roles,
                        oidc: signet_server::OidcRegistration {
                            redirect_uris: oidc.redirect_uris,
                            post_logout_redirect_uris: oidc.post_logout_redirect_uris,
                            backchannel_logout_uri: oidc.backchannel_logout_uri,
                            first_party: oidc.first_party,
                            name: oidc.name,
                        },
                    })
                    .await?;
                writeln!(
                    out,
                    "added client {} (grants: {})",
                    new.client.id,
                    new.client.grants.join(", ")
                )?;
                if let Some(secret) = new.secret {
                    writeln!(out, "client secret (shown once): {}", secret.as_str())?;
                }
            }
            ClientCommand::List(dir) => {
                let admin = Admin::open(&admin_config(&dir)).await?;
                for c in admin.clients().await? {
                    let kind = if c.is_public() {
                        "public"
                    } else {
                        "confidential"
                    };
                    writeln!(
                        out,
                        "{}\t{kind}\tgrants={}\tscopes={}\taudiences={}",
                        c.id,
                        c.grants.join(","),
                        c.scopes.join(","),
                        c.audiences.join(",")
                    )?;
                }
            }
            ClientCommand::Delete { id, dir } => {
                Admin::open(&admin_config(&dir))
                    .await?
                    .delete_client(&id)
                    .await?;
                writeln!(
                    out,
                    "deleted client {id}; its logins and tokens are revoked"
                )?;
            }
            ClientCommand::RotateSecret { id, dir } => {
                let secret = Admin::open(&admin_config(&dir))
                    .await?
                    .rotate_client_secret(&id)
                    .await?;
                writeln!(
                    out,
                    "rotated the secret of {id}; its logins and tokens are revoked"
                )?;
                writeln!(out, "client secret (shown once): {}", secret.as_str())?;
            }
        }
        Ok(())
    })
}

pub(crate) fn key_list(dir: &DataDir) -> Result<()> {
    let keys =
        runtime()?.block_on(async { Admin::open(&admin_config(dir)).await?.keys().await })?;
    let mut out = std::io::stdout().lock();
    for k in keys {
        writeln!(
            out,
            "{}\t{}\t{}\tactive_from={}",
            k.kid, k.alg, k.state, k.active_from
        )?;
    }
    Ok(())
}

pub(crate) fn key_rotate(
    dir: &DataDir,
    now: bool,
    lead_time: Option<&str>,
    file: Option<&std::path::Path>,
) -> Result<()> {
    let mut config = admin_config(dir);
    let from_file = match file {
        Some(path) => read_file_config(path)?.key_lead_time,
        None => None,
    };
    if let Some(lead) = lead_time.map(str::to_owned).or(from_file) {
        config.key_lead_time = parse_duration(&lead)?;
    }
    let kid = runtime()?.block_on(async {
        let admin = Admin::open(&config).await?;
        if now {
            admin.rotate_key_now().await
        } else {
            admin.rotate_key().await
        }
    })?;
    let when = if now {
        "signs now".to_owned()
    } else {
        format!(
            "is published now and signs in {} s, once JWKS caches have seen it",
            config.key_lead_time.as_secs()
        )
    };
    writeln!(std::io::stdout().lock(), "new key {kid} {when}")?;
    Ok(())
}

pub(crate) fn key_revoke(dir: &DataDir, kid: &str, force: bool) -> Result<()> {
    let ended = runtime()?.block_on(async {
        Admin::open(&admin_config(dir))
            .await?
            .revoke_key(kid, force)
            .await
    })?;
    writeln!(
        std::io::stdout().lock(),
        "revoked key {kid}: removed from the JWKS, {ended} logins it signed for ended; verifiers are told to fetch the keys again"
    )?;
    Ok(())
}

/// The feed client's secret: from `--client-secret-file`, else `SIGNET_CLIENT_SECRET`.
fn feed_secret(args: &crate::cli::ProxyArgs) -> Result<String> {
    if let Some(path) = &args.client_secret_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the client secret from {}", path.display()))?;
        let secret = text.trim_end_matches(['\r', '\n']).to_owned();
        if secret.is_empty() {
            bail!("{} is empty", path.display());
        }
        return Ok(secret);
    }
    std::env::var("SIGNET_CLIENT_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            anyhow!("--client-id needs its secret in --client-secret-file or SIGNET_CLIENT_SECRET")
        })
}

pub(crate) fn migrate(dir: &DataDir) -> Result<()> {
    runtime()?.block_on(Admin::migrate(&admin_config(dir)))?;
    writeln!(std::io::stdout().lock(), "the database is migrated")?;
    Ok(())
}

pub(crate) fn proxy(args: &crate::cli::ProxyArgs) -> Result<()> {
    init_logs("text")?;
    let listen: std::net::SocketAddr = args
        .listen
        .parse()
        .map_err(|_| anyhow!("invalid listen address {:?}", args.listen))?;
    let metrics_listen: Option<std::net::SocketAddr> = args
        .metrics_listen
        .as_deref()
        .map(|m| {
            m.parse()
                .map_err(|_| anyhow!("invalid metrics address {m:?}"))
        })
        .transpose()?;
    let mut limits = signet_server::ConnectionLimits::default();
    connection_limits(&mut limits, &args.connections, (None, None, None))?;
    let mut options =
        signet_guard::IssuerOptions::new(args.issuer_url.clone(), args.audience.clone());
    match (&args.client_id, args.insecure_no_revocation) {
        (Some(id), _) => {
            options.client = Some((id.clone(), signet::SecretString::new(feed_secret(args)?)));
        }
        (None, true) => {
            options.insecure_no_revocation = true;
            tracing::warn!(
                "revocations are NOT followed (--insecure-no-revocation): revoked tokens pass until they expire"
            );
        }
        (None, false) => bail!(
            "signet proxy follows the issuer's revocations: give --client-id (secret in --client-secret-file or SIGNET_CLIENT_SECRET), or --insecure-no-revocation"
        ),
    }
    options.on_stale_feed = match args.on_feed_down {
        crate::cli::FeedDown::KeepServing => signet_guard::StalePolicy::KeepServing,
        crate::cli::FeedDown::Refuse => signet_guard::StalePolicy::Refuse,
    };
    options.max_feed_silence = parse_duration(&args.feed_max_silence)?;
    if args.insecure_http {
        options.insecure_http = true;
        tracing::warn!(
            "plain http to the issuer is allowed (--insecure-http): keys and revocations can be forged in transit"
        );
    }
    runtime()?.block_on(async move {
        let guard = signet_guard::Guard::from_issuer(options).await?;
        let app = signet_guard::proxy::router(guard.clone(), &args.upstream, args.require_scope.clone())?;
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let metrics = match metrics_listen {
            Some(addr) => {
                let l = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} for metrics"))?;
                tracing::info!(listen = %l.local_addr()?, "proxy metrics served");
                let router = axum::Router::new().route(
                    "/metrics",
                    axum::routing::get(move || {
                        let guard = guard.clone();
                        async move { guard.metrics() }
                    }),
                );
                let mut stopping = stop_rx.clone();
                Some(tokio::spawn(signet_server::serve_router(l, router, limits, async move {
                    let _ = stopping.wait_for(|s| *s).await;
                }, std::time::Duration::from_secs(5))))
            }
            None => None,
        };
        tracing::info!(addr = %listener.local_addr()?, upstream = %args.upstream, "signet proxy serving");
        signet_server::serve_router(listener, app, limits, async move {
            signet_server::shutdown_signal().await;
            let _ = stop_tx.send(true);
        }, std::time::Duration::from_secs(10)).await?;
        if let Some(m) = metrics {
            let _ = m.await;
        }
        Ok(())
    })
}
