//! Browser sessions: the access token goes to the page (to be kept in memory), the refresh
//! token into an HttpOnly `__Host-` cookie with SameSite=Strict. Refresh and logout need a
//! matching `Origin` and a CSRF token (double submit: a readable cookie echoed in
//! `X-CSRF-Token`). No token ever travels in a URL.

use std::net::SocketAddr;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::app::AppState;
use crate::domain::grants::{self, Issued};
use crate::error::ApiError;
use crate::sealing::random_token;
use crate::store::Client;

/// The issuer's cookie names, in one place: `__Host-` names with `Secure`, except for a
/// plain-http loopback issuer (development on one machine, where nothing crosses a network).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CookieNames {
    /// A browser session's refresh token (HttpOnly).
    pub(crate) refresh: &'static str,
    /// A browser session's CSRF value, read by script and sent back as `X-CSRF-Token`.
    pub(crate) csrf: &'static str,
    /// The SSO session (HttpOnly, SameSite=Lax so that it comes along when an application
    /// sends the browser here).
    pub(crate) sso: &'static str,
    /// The login, consent and logout forms' anti-CSRF value (double submit).
    pub(crate) form_csrf: &'static str,
    /// Whether the cookies are `Secure`.
    pub(crate) secure: bool,
}

const LOOPBACK_NAMES: CookieNames = CookieNames {
    refresh: "signet-refresh",
    csrf: "signet-csrf",
    sso: "signet-sso",
    form_csrf: "signet-login-csrf",
    secure: false,
};

const HOST_NAMES: CookieNames = CookieNames {
    refresh: "__Host-signet-refresh",
    csrf: "__Host-signet-csrf",
    sso: "__Host-signet-sso",
    form_csrf: "__Host-signet-login-csrf",
    secure: true,
};

/// The cookie names of this issuer.
pub(crate) fn cookie_names(state: &AppState) -> CookieNames {
    if state.config.loopback_http() {
        LOOPBACK_NAMES
    } else {
        HOST_NAMES
    }
}

/// The value of the cookie `name`, if the request carries it.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let values = headers.get_all(header::COOKIE);
    signet::web::cookie(values.iter().filter_map(|v| v.to_str().ok()), name).map(str::to_owned)
}

fn set_cookie(
    name: &str,
    value: &str,
    http_only: bool,
    secure: bool,
    max_age: i64,
) -> Result<HeaderValue, ApiError> {
    cookie_header(name, value, http_only, secure, max_age, "Strict")
}

/// A `Set-Cookie` value for the whole site (`Path=/`).
pub(crate) fn cookie_header(
    name: &str,
    value: &str,
    http_only: bool,
    secure: bool,
    max_age: i64,
    same_site: &str,
) -> Result<HeaderValue, ApiError> {
    let mut c = format!("{name}={value}; Path=/; SameSite={same_site}; Max-Age={max_age}");
    if secure {
        c.push_str("; Secure");
    }
    if http_only {
        c.push_str("; HttpOnly");
    }
    HeaderValue::from_str(&c).map_err(|e| ApiError::Internal(e.into()))
}

/// The browser must come from the issuer's own origin.
pub(crate) fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Forbidden("missing Origin"))?;
    let issuer = state.config.issuer();
    let own = issuer
        .find("://")
        .and_then(|i| issuer[i + 3..].find('/').map(|j| &issuer[..i + 3 + j]))
        .unwrap_or(issuer);
    if origin == own {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Origin not allowed"))
    }
}

fn check_csrf(headers: &HeaderMap, names: &CookieNames) -> Result<(), ApiError> {
    let sent = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Forbidden("missing X-CSRF-Token"))?;
    let cookie = cookie(headers, names.csrf).ok_or(ApiError::Forbidden("missing CSRF cookie"))?;
    if crate::sealing::secret_eq(sent.as_bytes(), cookie.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("CSRF token mismatch"))
    }
}

/// Checks a refresh or logout request: the issuer's own Origin and the CSRF token.
fn same_site_request(state: &AppState, headers: &HeaderMap) -> Result<CookieNames, ApiError> {
    check_origin(state, headers)?;
    let names = cookie_names(state);
    check_csrf(headers, &names)?;
    Ok(names)
}

/// The access token in the body, the refresh token and a fresh CSRF token in cookies.
fn session_response(state: &AppState, issued: Issued) -> Result<Response, ApiError> {
    let names = cookie_names(state);
    let refresh = issued
        .refresh_token
        .clone()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("login without refresh token")))?;
    let max_age = i64::try_from(state.config.refresh_idle.as_secs()).unwrap_or(i64::MAX);
    let csrf = random_token(32)?;
    let mut response = crate::oauth::token_response(Issued {
        refresh_token: None,
        ..issued
    });
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(names.refresh, &refresh, true, names.secure, max_age)?,
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(names.csrf, &csrf, false, names.secure, max_age)?,
    );
    Ok(response)
}

/// A public client that may hold a browser session: one with the password grant, or (for a
/// code exchanged at `/session/code`) the authorization-code grant.
async fn session_client(state: &AppState, id: &str, grant: &str) -> Result<Client, ApiError> {
    match state.clients.get(id, || state.store.client(id)).await? {
        Some(c) if c.is_public() && c.grants.iter().any(|g| g == grant) => Ok(c),
        _ => Err(ApiError::InvalidClient { basic: false }),
    }
}

/// The JSON body of a browser request from the issuer's own origin.
fn same_origin_json<T: serde::de::DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    malformed: &'static str,
) -> Result<T, ApiError> {
    check_origin(state, headers)?;
    let body = body.map_err(|_| ApiError::TooLarge)?;
    require_json(headers)?;
    serde_json::from_slice(&body).map_err(|_| ApiError::InvalidRequest(malformed))
}

/// Refuses a body that is not JSON.
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if is_json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

#[derive(Deserialize)]
struct CodeBody {
    client_id: String,
    code: String,
    code_verifier: String,
    redirect_uri: String,
}

/// `POST /session/code` with a JSON body: a single-page app served from the issuer's origin
/// exchanges its authorization code (with its PKCE verifier) here instead of at the token
/// endpoint, so that the refresh token goes into the HttpOnly cookie, never into script. The
/// access and ID tokens are in the body.
#[utoipa::path(post, path = "/session/code", request_body(content = crate::openapi::SessionCode, content_type = "application/json"), responses((status = 200, body = crate::wire::TokenResponse, description = "Access and ID tokens in the body; refresh and CSRF tokens in cookies"), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 413, body = crate::wire::OAuthError), (status = 415, body = crate::wire::OAuthError), (status = 503, body = crate::wire::OAuthError)))]
pub(crate) async fn code(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: CodeBody = same_origin_json(&state, &headers, body, "malformed code body")?;
    let client = session_client(&state, &req.client_id, "authorization_code").await?;
    let issued = crate::domain::sso::exchange_code(
        &state,
        &client,
        &req.code,
        Some(&req.redirect_uri),
        Some(&req.code_verifier),
    )
    .await?;
    session_response(&state, issued)
}

#[derive(Deserialize)]
struct LoginBody {
    client_id: String,
    username: String,
    password: signet::SecretString,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    audience: Option<String>,
}

/// `POST /session/login` with a JSON body.
#[utoipa::path(post, path = "/session/login", request_body(content = crate::openapi::SessionLogin, content_type = "application/json"), responses((status = 200, body = crate::wire::TokenResponse, description = "Access token in the body; refresh and CSRF tokens in cookies"), (status = 400, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 413, body = crate::wire::OAuthError), (status = 415, body = crate::wire::OAuthError), (status = 429, body = crate::wire::OAuthError), (status = 503, body = crate::wire::OAuthError)))]
pub(crate) async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: LoginBody = same_origin_json(&state, &headers, body, "malformed login body")?;
    let client = session_client(&state, &req.client_id, "password").await?;
    let scope = grants::grant_scope(&client, req.scope.as_deref())?;
    let audience = grants::grant_audience(&client, req.audience.as_deref())?;
    let password = Zeroizing::new(req.password.expose().to_owned());
    let issued = grants::password_login(
        &state,
        &client,
        &req.username,
        password,
        scope,
        audience,
        crate::limits::client_address(
            &state.config.trusted_proxies,
            &headers,
            peer.map(|p| p.0.0.ip()),
        ),
    )
    .await?;
    session_response(&state, issued)
}

/// `POST /session/refresh`: rotates the cookie's refresh token.
#[utoipa::path(post, path = "/session/refresh", params(("X-CSRF-Token" = String, Header, description = "The CSRF cookie's value")), responses((status = 200, body = crate::wire::TokenResponse), (status = 400, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError)))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let names = same_site_request(&state, &headers)?;
    let presented = cookie(&headers, names.refresh).ok_or(ApiError::InvalidGrant("no session"))?;
    // The family's client, whatever the token's state: rotation decides, and detects reuse.
    let client_id = state
        .store
        .family_of(&grants::refresh_hash(&presented))
        .await?
        .map(|f| f.client_id)
        .ok_or(ApiError::InvalidGrant("no session"))?;
    let client = match session_client(&state, &client_id, "password").await {
        Ok(c) => c,
        Err(_) => session_client(&state, &client_id, "authorization_code").await?,
    };
    let issued = grants::rotate(&state, &client, &presented, None).await?;
    session_response(&state, issued)
}

/// `POST /session/logout`: ends the login and clears the cookies.
#[utoipa::path(post, path = "/session/logout", params(("X-CSRF-Token" = String, Header, description = "The CSRF cookie's value")), responses((status = 204, description = "Logged out; cookies cleared"), (status = 403, body = crate::wire::OAuthError)))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let names = same_site_request(&state, &headers)?;
    let now = state.now();
    if let Some(presented) = cookie(&headers, names.refresh)
        && let Some((family, _)) = state
            .store
            .refresh_family(&grants::refresh_hash(&presented), now)
            .await?
    {
        state.end_login(&family.id, now).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(names.refresh, "", true, names.secure, 0)?,
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(names.csrf, "", false, names.secure, 0)?,
    );
    Ok(response)
}
