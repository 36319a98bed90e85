//! `signet proxy`: the guard in front of a service written in any language.

use anyhow::{Context, Result, anyhow, bail};

use crate::input::parse_duration;
use crate::{init_logs, runtime};

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
    args.connections.settings().apply_connections(&mut limits)?;
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
            crate::shutdown_signal().await;
            let _ = stop_tx.send(true);
        }, std::time::Duration::from_secs(10)).await?;
        if let Some(m) = metrics {
            let _ = m.await;
        }
        Ok(())
    })
}
