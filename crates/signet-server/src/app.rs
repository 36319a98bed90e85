//! The issuer's HTTP application: state, routes, and serving with graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::config::Config;
use crate::domain::Issuer;
use crate::domain::keys::KeyManager;
use crate::error::ApiError;
use crate::sealing::MasterKey;
use crate::{feed, oauth, passwords};

/// The largest request body accepted.
const MAX_BODY: usize = 64 * 1024;

/// What every handler shares: the domain's `Issuer`, and what only serving needs.
#[derive(Debug, Clone)]
pub struct AppState {
    issuer: Issuer,
    pub(crate) master: Arc<MasterKey>,
    /// Woken when another process changed keys, clients or users (PostgreSQL notifications).
    config_changed: Arc<tokio::sync::Notify>,
    /// Set when the server stops, so that long-lived streams end and shutdown can finish.
    pub(crate) stopping: tokio::sync::watch::Receiver<bool>,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
    /// Revocation streams open now, in all and per client.
    pub(crate) streams: Arc<crate::feed::StreamCount>,
}

/// Handlers reach the domain's parts through the state, and pass it where an `Issuer` is
/// wanted.
impl std::ops::Deref for AppState {
    type Target = Issuer;

    fn deref(&self) -> &Issuer {
        &self.issuer
    }
}

impl AppState {
    /// The domain's parts, to replace one in a test.
    #[cfg(test)]
    pub(crate) fn issuer_mut(&mut self) -> &mut Issuer {
        &mut self.issuer
    }

    /// Opens the data directory (database, master key) and loads or makes the signing keys.
    pub async fn open(config: Config) -> Result<Self> {
        config.check().map_err(anyhow::Error::msg)?;
        let (store, master, keys) = KeyManager::open(&config).await?;
        keys.refresh(config.now(), None)
            .await
            .context("cannot load the signing keys")?;
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let config_limits = (
            crate::limits::Quota {
                attempts: config.login_attempts_per_user,
                window: Duration::from_secs(60),
            },
            crate::limits::Quota {
                attempts: config.login_attempts_per_address,
                window: Duration::from_secs(60),
            },
        );
        let dummy = crate::sealing::random_token(16)?;
        let dummy_hash = tokio::task::spawn_blocking(move || passwords::hash(&dummy)).await??;
        let hashing = Arc::new(passwords::Hashers::start(config.max_concurrent_hashes)?);
        let mut limits = crate::limits::LoginLimits::new(config_limits.0, config_limits.1);
        if let Some(url) = &config.redis_url {
            limits = limits.shared_in(url, config.issuer()).await?;
        }
        Ok(Self {
            issuer: Issuer {
                hashing,
                config: Arc::new(config),
                store,
                keys,
                dummy_hash,
                fanout: Arc::default(),
                metrics: Arc::default(),
                clients: Arc::default(),
                users: Arc::default(),
                sessions: Arc::default(),
                limits: Arc::new(limits),
            },
            streams: Arc::default(),
            master,
            config_changed: Arc::default(),
            stopping,
            stop: Arc::new(stop),
        })
    }

    /// The routes.
    pub fn router(&self) -> Router {
        let mut router = Router::new();
        if self.config.metrics_token.is_some() {
            router = router.route("/metrics", get(crate::metrics::metrics_with_token));
        }
        router
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/.well-known/oauth-authorization-server", get(discovery))
            .route("/.well-known/jwks.json", get(jwks))
            .route(
                "/oauth2/authorize",
                get(crate::login::authorize_get).post(crate::login::authorize_post),
            )
            .route("/oauth2/login", post(crate::login::login))
            .route("/oauth2/consent", post(crate::login::consent))
            .route(
                "/oauth2/logout",
                get(crate::logout::logout_get).post(crate::logout::logout_post),
            )
            .route(
                "/oauth2/userinfo",
                get(crate::login::userinfo).post(crate::login::userinfo),
            )
            .route("/assets/signet.css", get(crate::pages::stylesheet))
            .route("/oauth2/token", post(oauth::token))
            .route("/oauth2/revoke", post(oauth::revoke))
            .route("/oauth2/introspect", post(oauth::introspect))
            .route("/oauth2/revocations", get(feed::revocations))
            .route("/session/login", post(crate::session::login))
            .route("/session/code", post(crate::session::code))
            .route("/session/refresh", post(crate::session::refresh))
            .route("/session/logout", post(crate::session::logout))
            .route("/openapi.json", get(crate::openapi::openapi))
            .route(
                "/admin/users/{name}/disable",
                post(crate::admin_api::disable_user),
            )
            .route(
                "/admin/users/{name}/revoke",
                post(crate::admin_api::revoke_user),
            )
            .route(
                "/admin/users/{name}/delete",
                post(crate::admin_api::delete_user),
            )
            .route(
                "/admin/users/{name}/password",
                post(crate::admin_api::set_password),
            )
            .route(
                "/admin/clients/{id}/delete",
                post(crate::admin_api::delete_client),
            )
            .route(
                "/admin/clients/{id}/rotate-secret",
                post(crate::admin_api::rotate_secret),
            )
            .route(
                "/admin/sessions/{sid}/revoke",
                post(crate::admin_api::revoke_session),
            )
            .route(
                "/admin/keys/{kid}/revoke",
                post(crate::admin_api::revoke_key),
            )
            .route("/admin/keys/rotate", post(crate::admin_api::rotate_key))
            .route(
                "/.well-known/ssf-configuration",
                get(crate::ssf::configuration),
            )
            .route(
                "/ssf/streams",
                post(crate::ssf::create)
                    .get(crate::ssf::read)
                    .patch(crate::ssf::update)
                    .put(crate::ssf::replace)
                    .delete(crate::ssf::delete),
            )
            .route(
                "/ssf/status",
                get(crate::ssf::status).post(crate::ssf::set_status),
            )
            .route("/ssf/subjects:add", post(crate::ssf::add_subject))
            .route("/ssf/subjects:remove", post(crate::ssf::remove_subject))
            .route("/ssf/verify", post(crate::ssf::verify))
            .route("/ssf/poll/{stream_id}", post(crate::ssf::poll))
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(ready))
            .fallback(not_found)
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                crate::metrics::count,
            ))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(30),
            ))
            .with_state(self.clone())
    }

    /// Hears of the changes other processes sharing the store make, where the store can say
    /// (PostgreSQL): new feed entries wake the broadcaster, changed keys, clients or users
    /// empty the caches and reload the keys at once. Elsewhere polling once a second sees them.
    async fn follow_changes(&self) {
        let state = self.clone();
        let on_change: crate::store::OnChange = Arc::new(move |change| match change {
            crate::store::Change::Feed => state.fanout.wake(),
            crate::store::Change::Config => {
                state.clients.clear();
                state.users.clear();
                state.sessions.clear();
                state.config_changed.notify_one();
            }
        });
        match self.store.watch(on_change).await {
            Ok(true) => tracing::info!("following changes made by other instances"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "cannot follow other instances' changes; polling"),
        }
    }

    /// Reloads keys (rotating on schedule) and prunes expired state, forever. A change to the
    /// key table made by another process (`signet key revoke`, `signet key rotate`) is seen
    /// within a second.
    pub async fn housekeeping(self) {
        let mut tick = tokio::time::interval(Duration::from_secs(1).min(self.config.housekeeping));
        let mut last_full = tokio::time::Instant::now();
        let mut seen_keys = String::new();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.config_changed.notified() => {}
            }
            let now = self.now();
            let version = match self.store.keys_version().await {
                Ok(version) => version,
                Err(e) => {
                    // Nothing is known of the keys, and pruning would fail too: next tick.
                    tracing::warn!(error = %e, "cannot read the signing keys' version");
                    continue;
                }
            };
            let due = last_full.elapsed() >= self.config.housekeeping;
            if version == seen_keys && !due {
                continue;
            }
            let changed = version != seen_keys && !seen_keys.is_empty();
            seen_keys = version;
            if let Err(e) = self.keys.refresh(now, Some(self.config.rotation)).await {
                tracing::error!(error = %format!("{e:#}"), "key refresh failed");
            }
            if changed {
                // The JWKS now shows the change; verifiers learn of it through the feed's key
                // entry: wake the streams.
                self.fanout.wake();
            }
            if !due {
                continue;
            }
            last_full = tokio::time::Instant::now();
            self.limits.prune();
            let keep = i64::try_from(self.config.revocation_retention.as_secs()).unwrap_or(0);
            if let Err(e) = self.store.prune(now, keep).await {
                tracing::error!(error = %format!("{e:#}"), "pruning failed");
            }
        }
    }
}

#[utoipa::path(get, path = "/.well-known/openid-configuration", responses((status = 200, description = "OpenID Connect discovery; the same document is at /.well-known/oauth-authorization-server (RFC 8414)")))]
pub(crate) async fn discovery(State(state): State<AppState>) -> Response {
    let iss = state.config.issuer();
    let alg = state.config.signing_alg.name();
    let doc = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth2/authorize"),
        "token_endpoint": format!("{iss}/oauth2/token"),
        "userinfo_endpoint": format!("{iss}/oauth2/userinfo"),
        "end_session_endpoint": format!("{iss}/oauth2/logout"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "revocation_endpoint": format!("{iss}/oauth2/revoke"),
        "introspection_endpoint": format!("{iss}/oauth2/introspect"),
        "revocation_feed_endpoint": format!("{iss}/oauth2/revocations"),
        "revocation_feed_retention_seconds": state.config.revocation_retention.as_secs(),
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "grant_types_supported": ["authorization_code", "client_credentials", "password", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "token_endpoint_auth_signing_alg_values_supported": [alg],
        "id_token_signing_alg_values_supported": [alg],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "azp", "name", "preferred_username", "email", "email_verified"],
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "userinfo_signing_alg_values_supported": [],
    });
    let mut r = axum::Json(doc).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

#[utoipa::path(get, path = "/.well-known/jwks.json", responses((status = 200, description = "The public signing keys (JWKS), with Cache-Control")))]
pub(crate) async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let ring = state.keys.current(state.now()).await?;
    let max_age = state.config.jwks_max_age.as_secs();
    let cache = HeaderValue::from_str(&format!("public, max-age={max_age}"))
        .map_err(|e| ApiError::Internal(e.into()))?;
    let mut r = (
        [(header::CONTENT_TYPE, "application/jwk-set+json")],
        ring.jwks.to_string(),
    )
        .into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, cache);
    Ok(r)
}

#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "The database answers"), (status = 503, description = "It does not")))]
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
        }
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": "not_found", "error_description": "no such endpoint"})),
    )
        .into_response()
}

/// How long open requests may take to finish once the server is told to stop.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves on `listener` until `shutdown` resolves (the binary's Ctrl-C or SIGTERM), then drains.
/// `/metrics` is served on the configured metrics address, if any.
///
/// # Examples
///
/// ```no_run
/// # #[tokio::main]
/// # async fn main() -> anyhow::Result<()> {
/// let mut config = signet_server::Config::default();
/// config.issuer = "http://127.0.0.1:8080".into();
/// let state = signet_server::AppState::open(config).await?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// signet_server::serve_on(state, listener, async { let _ = tokio::signal::ctrl_c().await; }).await
/// # }
/// ```
pub async fn serve_on(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    serve_with(state, listener, Router::new(), shutdown).await
}

/// Serves as [`serve_on`] does, with `extra` routes beside the issuer's on the same origin
/// (such as the pages of `signet demo`).
pub async fn serve_with(
    state: AppState,
    listener: tokio::net::TcpListener,
    extra: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let limits = state.config.connections;
    let metrics = match state.config.metrics_listen {
        Some(addr) => {
            let metrics_listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} for metrics"))?;
            tracing::info!(listen = %metrics_listener.local_addr()?, "metrics served");
            let mut stopping = state.stopping.clone();
            let router = Router::new()
                .route("/metrics", get(crate::metrics::metrics))
                .with_state(state.clone());
            Some(tokio::spawn(crate::listener::serve_router(
                metrics_listener,
                router,
                limits,
                async move {
                    let _ = stopping.wait_for(|stop| *stop).await;
                },
                DRAIN,
            )))
        }
        None => None,
    };
    state.follow_changes().await;
    let housekeeping = tokio::spawn(state.clone().housekeeping());
    let broadcaster = tokio::spawn(crate::feed::broadcaster(state.clone()));
    let pusher = tokio::spawn(crate::domain::ssf::push_forever((*state).clone()));
    let app = extra.merge(state.router());
    let stop = Arc::clone(&state.stop);
    let shutdown = async move {
        shutdown.await;
        // End the event streams, which would otherwise hold the shutdown open.
        let _ = stop.send(true);
    };
    let result = crate::listener::serve_router(listener, app, limits, shutdown, DRAIN)
        .await
        .context("server failed");
    housekeeping.abort();
    broadcaster.abort();
    pusher.abort();
    if let Some(m) = metrics {
        let _ = m.await;
    }
    result
}
