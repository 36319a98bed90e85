//! The OAuth 2.0 endpoints: token (RFC 6749), revocation (RFC 7009), introspection (RFC 7662).
//! They parse the request, authenticate the client and call the domain ([`crate::domain`]).

use std::net::{IpAddr, SocketAddr};

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zeroize::Zeroizing;

use crate::app::AppState;
use crate::domain::grants::{self, Issued};
use crate::domain::tokens;
use crate::error::ApiError;
use crate::form::{Form, authenticate};
use crate::metrics::inc;

fn no_store(body: impl serde::Serialize) -> Response {
    let mut r = (StatusCode::OK, Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// The token endpoint's answer for what a grant issued.
pub(crate) fn token_response(issued: Issued) -> Response {
    let body = crate::wire::TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: (!issued.scope.is_empty()).then_some(issued.scope),
        refresh_token: issued.refresh_token,
        id_token: issued.id_token,
    };
    no_store(body)
}

async fn client_credentials(
    state: &AppState,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Issued, ApiError> {
    let client = authenticate(state, headers, form, false).await?;
    Ok(
        grants::client_credentials(state, &client, form.get("scope"), requested_audience(form))
            .await?,
    )
}

/// The audience asked for (`audience`, or RFC 8707 `resource`).
fn requested_audience(form: &Form) -> Option<&str> {
    form.get("audience").or_else(|| form.get("resource"))
}

async fn password(
    state: &AppState,
    headers: &HeaderMap,
    form: &Form,
    peer: Option<IpAddr>,
) -> Result<Issued, ApiError> {
    let username = form.require("username", "username is required")?;
    if username.len() > crate::limits::MAX_USER_NAME {
        return Err(ApiError::InvalidRequest("the user name is too long"));
    }
    let client = authenticate(state, headers, form, true).await?;
    grants::allowed(&client, "password")?;
    let password = Zeroizing::new(form.require("password", "password is required")?.to_owned());
    let scope = grants::grant_scope(&client, form.get("scope"))?;
    let audience = grants::grant_audience(&client, requested_audience(form))?;
    Ok(grants::password_login(state, &client, username, password, scope, audience, peer).await?)
}

async fn refresh(state: &AppState, headers: &HeaderMap, form: &Form) -> Result<Issued, ApiError> {
    let client = authenticate(state, headers, form, true).await?;
    grants::allowed(&client, "refresh_token")?;
    let presented = form.require("refresh_token", "refresh_token is required")?;
    Ok(grants::rotate(state, &client, presented, form.get("scope")).await?)
}

/// `POST /oauth2/token`.
#[utoipa::path(post, path = "/oauth2/token", request_body(content = crate::openapi::TokenRequest, content_type = "application/x-www-form-urlencoded"), responses((status = 200, body = crate::wire::TokenResponse), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 429, body = crate::wire::OAuthError), (status = 413, body = crate::wire::OAuthError), (status = 415, body = crate::wire::OAuthError), (status = 503, body = crate::wire::OAuthError)))]
pub(crate) async fn token(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let form = Form::parse(&headers, body)?;
    let m = &state.metrics;
    let issued = match form.require("grant_type", "grant_type is required")? {
        "client_credentials" => {
            let issued = client_credentials(&state, &headers, &form).await?;
            inc(&m.issued_client_credentials);
            issued
        }
        "password" => {
            let address = crate::limits::client_address(
                &state.config.trusted_proxies,
                &headers,
                peer.map(|p| p.0.0.ip()),
            );
            let issued = password(&state, &headers, &form, address).await?;
            inc(&m.issued_password);
            issued
        }
        "authorization_code" => {
            let client = authenticate(&state, &headers, &form, true).await?;
            let code = form.require("code", "code is required")?;
            let issued = crate::domain::sso::exchange_code(
                &state,
                &client,
                code,
                form.get("redirect_uri"),
                form.get("code_verifier"),
            )
            .await?;
            inc(&m.issued_authorization_code);
            issued
        }
        "refresh_token" => {
            let issued = refresh(&state, &headers, &form).await?;
            inc(&m.issued_refresh_token);
            issued
        }
        _ => return Err(ApiError::UnsupportedGrantType),
    };
    Ok(token_response(issued))
}

/// `POST /oauth2/revoke` (RFC 7009): a refresh token revokes its family; an access token's
/// `jti` is denied until it expires. Unknown tokens are answered 200 too.
#[utoipa::path(post, path = "/oauth2/revoke", request_body(content = crate::openapi::TokenParam, content_type = "application/x-www-form-urlencoded"), responses((status = 200, description = "Revoked, or unknown"), (status = 401, body = crate::wire::OAuthError), (status = 400, body = crate::wire::OAuthError), (status = 413, body = crate::wire::OAuthError), (status = 415, body = crate::wire::OAuthError)))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let form = Form::parse(&headers, body)?;
    let client = authenticate(&state, &headers, &form, true).await?;
    let token = form.require("token", "token is required")?;
    tokens::revoke(&state, &client, token).await?;
    inc(&state.metrics.revocations);
    Ok(StatusCode::OK.into_response())
}

/// `POST /oauth2/introspect` (RFC 7662), for confidential clients.
#[utoipa::path(post, path = "/oauth2/introspect", request_body(content = crate::openapi::TokenParam, content_type = "application/x-www-form-urlencoded"), responses((status = 200, description = "RFC 7662 answer: `active` and, when active, the token's claims"), (status = 401, body = crate::wire::OAuthError), (status = 400, body = crate::wire::OAuthError), (status = 413, body = crate::wire::OAuthError), (status = 415, body = crate::wire::OAuthError)))]
pub(crate) async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let form = Form::parse(&headers, body)?;
    let asker = authenticate(&state, &headers, &form, false).await?;
    let token = form.require("token", "token is required")?;
    if let Some(claims) = tokens::introspect(&state, &asker, token).await? {
        return Ok(no_store(claims));
    }
    Ok(no_store(serde_json::json!({"active": false})))
}
