//! `signet demo`: in one process, on embedded SQLite in a temporary folder, the issuer with a
//! demo user and clients, a single-page app served from the issuer's origin (static HTML and
//! JavaScript, no build step), and a small API on its own port behind signet-guard.

use anyhow::{Context, Result};
use axum::Router;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use signet_guard::{Auth, Guard, GuardLayer, IssuerOptions, Refusal};
use signet_server::{Admin, AppState, ClientSpec, Config, OidcRegistration, Profile};

use crate::cli::DemoArgs;
use crate::{init_logs, runtime};

const APP_HTML: &str = include_str!("demo/index.html");
const APP_JS: &str = include_str!("demo/app.js");
/// Where the second demo client, a third-party "partner app", lands after single sign-on.
const PARTNER_HTML: &str = include_str!("demo/partner.html");
/// The audience of the demo API's tokens.
const API_AUDIENCE: &str = "demo-api";

/// A page of the demo app, with headers that allow only its own script and the API.
fn asset(content_type: &'static str, body: String, api: &str) -> Response {
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' {api}; frame-ancestors 'none'; base-uri 'none'"
    );
    let mut r = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// The app's routes on the issuer's origin: `/demo/`, its script and its settings.
fn app_routes(issuer: &str, api: &str) -> Router {
    let config = serde_json::json!({
        "issuer": issuer,
        "client_id": "demo-spa",
        "redirect_uri": format!("{issuer}/demo/"),
        "scope": "openid profile email demo:read",
        "api": api,
        // The readable CSRF cookie of the issuer's browser sessions (plain-http loopback name).
        "csrf_cookie": "signet-csrf",
    })
    .to_string();
    let (a, b, c, d) = (
        api.to_owned(),
        api.to_owned(),
        api.to_owned(),
        api.to_owned(),
    );
    Router::new()
        .route(
            "/demo/",
            get(move || async move { asset("text/html; charset=utf-8", APP_HTML.into(), &a) }),
        )
        .route(
            "/demo/app.js",
            get(move || async move { asset("text/javascript", APP_JS.into(), &b) }),
        )
        .route(
            "/demo/config.json",
            get(move || async move { asset("application/json", config, &c) }),
        )
        .route(
            "/demo/partner",
            get(move || async move { asset("text/html; charset=utf-8", PARTNER_HTML.into(), &d) }),
        )
}

/// The demo API: who called, with which scopes.
async fn hello(auth: Auth) -> Result<axum::Json<serde_json::Value>, Refusal> {
    auth.require_scope("demo:read")?;
    Ok(axum::Json(serde_json::json!({
        "message": "hello from the API behind signet-guard",
        "sub": auth.subject(),
        "scope": auth.scopes().collect::<Vec<_>>().join(" "),
    })))
}

/// A random password for the demo user.
fn demo_password() -> Result<zeroize::Zeroizing<String>> {
    let mut bytes = [0u8; 12];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| anyhow::anyhow!("no randomness"))?;
    Ok(zeroize::Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
    ))
}

/// Registers the demo user and clients; returns the user's password and the API's secret.
async fn seed(config: &Config, issuer: &str) -> Result<(zeroize::Zeroizing<String>, String)> {
    let admin = Admin::open(config).await?;
    let password = demo_password()?;
    admin
        .add_user(
            "demo",
            password.clone(),
            vec![],
            serde_json::Map::new(),
            Profile {
                email: Some("demo@example.com".into()),
                email_verified: true,
                display_name: Some("Demo User".into()),
            },
        )
        .await?;
    admin
        .register_client(ClientSpec {
            id: "demo-spa".into(),
            public: true,
            grants: vec!["authorization_code".into(), "refresh_token".into()],
            scopes: ["openid", "profile", "email", "demo:read"]
                .map(Into::into)
                .to_vec(),
            audiences: vec![API_AUDIENCE.into()],
            oidc: OidcRegistration {
                redirect_uris: vec![format!("{issuer}/demo/")],
                post_logout_redirect_uris: vec![format!("{issuer}/demo/")],
                first_party: true,
                name: Some("Signet demo app".into()),
                backchannel_logout_uri: None,
            },
            ..ClientSpec::default()
        })
        .await?;
    // A second application, not first-party: its first login in a browser asks for consent,
    // and then needs no password while the SSO session lasts.
    admin
        .register_client(ClientSpec {
            id: "demo-partner".into(),
            public: true,
            grants: vec!["authorization_code".into()],
            scopes: ["openid", "profile", "email"].map(Into::into).to_vec(),
            oidc: OidcRegistration {
                redirect_uris: vec![format!("{issuer}/demo/partner")],
                first_party: false,
                name: Some("Partner app".into()),
                ..OidcRegistration::default()
            },
            ..ClientSpec::default()
        })
        .await?;
    let api = admin
        .register_client(ClientSpec {
            id: API_AUDIENCE.into(),
            grants: vec!["client_credentials".into()],
            audiences: vec![API_AUDIENCE.into()],
            introspect: true,
            ..ClientSpec::default()
        })
        .await?;
    let secret = api
        .secret
        .context("the API client got no secret")?
        .to_string();
    Ok((password, secret))
}

/// Runs the demo until Ctrl-C.
pub(crate) fn demo(args: &DemoArgs) -> Result<()> {
    init_logs("text")?;
    runtime()?.block_on(async move {
        let folder = tempfile::tempdir().context("cannot make a temporary folder")?;
        let issuer_listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let api_listener = tokio::net::TcpListener::bind(args.api_listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.api_listen))?;
        let issuer = format!("http://{}", issuer_listener.local_addr()?);
        let api = format!("http://{}", api_listener.local_addr()?);
        let mut config = Config::new();
        config.data_dir = folder.path().join("data");
        config.issuer = issuer.clone();
        config.listen = issuer_listener.local_addr()?;
        let (password, secret) = seed(&config, &issuer).await?;
        let state = AppState::open(config).await?;
        let server = tokio::spawn(signet_server::serve_with(
            state,
            issuer_listener,
            app_routes(&issuer, &api),
            crate::shutdown_signal(),
        ));
        let mut options = IssuerOptions::new(issuer.clone(), API_AUDIENCE);
        options.client = Some((API_AUDIENCE.into(), signet::SecretString::new(secret)));
        let guard = Guard::from_issuer(options)
            .await
            .context("the API's guard cannot reach the issuer")?;
        let cors = tower_http::cors::CorsLayer::new()
            .allow_origin(HeaderValue::from_str(&issuer)?)
            .allow_methods([Method::GET])
            .allow_headers([header::AUTHORIZATION]);
        let api_app = Router::new()
            .route("/hello", get(hello))
            .layer(GuardLayer::new(guard))
            .layer(cors);
        let api_server = tokio::spawn(async move {
            axum::serve(api_listener, api_app)
                .with_graceful_shutdown(crate::shutdown_signal())
                .await
        });
        {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "Signet demo (data in a temporary folder, gone when it stops)"
            )?;
            writeln!(out, "  app       {issuer}/demo/")?;
            writeln!(out, "  user      demo")?;
            writeln!(out, "  password  {}", password.as_str())?;
            writeln!(out, "  API       {api}/hello (behind signet-guard)")?;
            writeln!(out, "Ctrl-C stops it.")?;
            out.flush()?;
        }
        server.await??;
        api_server.await??;
        drop(folder);
        Ok(())
    })
}
