//! The OAuth 2.0 endpoints: token (RFC 6749), revocation (RFC 7009), introspection (RFC 7662).

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use std::net::{IpAddr, SocketAddr};

use axum::Extension;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use signet::{TokenBuilder, Validation};
use zeroize::Zeroizing;

use crate::app::AppState;
use crate::error::ApiError;
use crate::form::{Form, authenticate};
use crate::metrics::inc;
use crate::sealing::random_token;
use crate::store::{Client, Family, RefreshUse, Successor, User};

/// Claims the issuer sets itself; a user's configured claims cannot override them.
const RESERVED: [&str; 10] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "client_id",
    "scope",
    "roles",
];

pub(crate) fn refresh_hash(token: &str) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn no_store(body: impl serde::Serialize) -> Response {
    let mut r = (StatusCode::OK, Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// The scope granted: the requested one if every part is allowed, else the client's own.
fn grant_scope(client: &Client, requested: Option<&str>) -> Result<String, ApiError> {
    match requested {
        None => Ok(client.scopes.join(" ")),
        Some(req) => {
            if req.split(' ').all(|s| client.scopes.iter().any(|c| c == s)) {
                Ok(req.to_owned())
            } else {
                Err(ApiError::InvalidScope)
            }
        }
    }
}

fn grant_audience(client: &Client, form: &Form) -> Result<String, ApiError> {
    match form.get("audience").or_else(|| form.get("resource")) {
        Some(a) if client.audiences.iter().any(|c| c == a) => Ok(a.to_owned()),
        Some(_) => Err(ApiError::InvalidTarget),
        None => client
            .audiences
            .first()
            .cloned()
            .ok_or(ApiError::InvalidTarget),
    }
}

fn allowed(client: &Client, grant: &str) -> Result<(), ApiError> {
    if client.grants.iter().any(|g| g == grant) {
        Ok(())
    } else {
        Err(ApiError::UnauthorizedClient)
    }
}

pub(crate) struct Issued {
    pub(crate) access_token: String,
    pub(crate) expires_in: i64,
    pub(crate) scope: String,
    pub(crate) refresh_token: Option<String>,
}

impl Issued {
    pub(crate) fn response(self) -> Response {
        let body = crate::wire::TokenResponse {
            access_token: self.access_token,
            token_type: "Bearer",
            expires_in: self.expires_in,
            scope: (!self.scope.is_empty()).then_some(self.scope),
            refresh_token: self.refresh_token,
        };
        no_store(body)
    }
}

/// Where the `jti` of an access token about to be signed comes from.
enum Jti {
    /// A client's own token: a fresh `jti` (deleting the client denies it by a client cutoff).
    OfClient,
    /// A token of a login: this `jti`, recorded beside its refresh token.
    OfLogin(String),
}

/// Signs an RFC 9068 access token with `ring`'s active key.
async fn access_token(
    state: &AppState,
    ring: &crate::keys::KeyRing,
    client: &Client,
    user: Option<&User>,
    scope: &str,
    audience: &str,
    jti: Jti,
) -> Result<(String, i64), ApiError> {
    let mut custom = Map::new();
    custom.insert("client_id".into(), json!(client.id));
    if !scope.is_empty() {
        custom.insert("scope".into(), json!(scope));
    }
    if let Some(user) = user {
        if !user.roles.is_empty() {
            custom.insert("roles".into(), json!(user.roles));
        }
        for (k, v) in &user.claims {
            if !RESERVED.contains(&k.as_str()) {
                custom.insert(k.clone(), v.clone());
            }
        }
    }
    let jti = match jti {
        Jti::OfLogin(jti) => jti,
        Jti::OfClient => random_token(16)?,
    };
    let lifetime = state.config.access_lifetime;
    let token = TokenBuilder::with_custom(custom)
        .issuer(state.config.issuer())
        .subject(user.map_or(client.id.as_str(), |u| u.id.as_str()))
        .audience(audience)
        .expires_in(lifetime)
        .clock(state.config.clock.as_ref())
        .typ("at+jwt")
        .jti(jti.as_str())
        .sign(&ring.active)
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok((token, secs(lifetime)))
}

/// Starts a login: stores its family with the first refresh token and the `jti` of the access
/// token issued beside it; returns the refresh token and that `jti`.
async fn first_refresh_token(
    state: &AppState,
    family: &Family,
    kid: &str,
) -> Result<(String, String), ApiError> {
    let now = state.now();
    let token = random_token(32)?;
    let jti = random_token(16)?;
    let expires = (now + secs(state.config.refresh_idle)).min(family.expires_at);
    let access = crate::store::IssuedAccess {
        jti: &jti,
        exp: now + secs(state.config.access_lifetime),
        kid,
    };
    state
        .store
        .start_family(family, &refresh_hash(&token), expires, access, now)
        .await?;
    Ok((token, jti))
}

async fn client_credentials(
    state: &AppState,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Issued, ApiError> {
    let client = authenticate(state, headers, form, false).await?;
    allowed(&client, "client_credentials")?;
    let scope = grant_scope(&client, form.get("scope"))?;
    let audience = grant_audience(&client, form)?;
    let ring = state.keys.current(state.now()).await?;
    let (access_token, expires_in) = access_token(
        state,
        &ring,
        &client,
        None,
        &scope,
        &audience,
        Jti::OfClient,
    )
    .await?;
    Ok(Issued {
        access_token,
        expires_in,
        scope,
        refresh_token: None,
    })
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
    allowed(&client, "password")?;
    let password = Zeroizing::new(form.require("password", "password is required")?.to_owned());
    let scope = grant_scope(&client, form.get("scope"))?;
    let audience = grant_audience(&client, form)?;
    password_login(state, &client, username, password, scope, audience, peer).await
}

/// Checks a user's password (rate-limited) and starts a login: a refresh family, a refresh
/// token and an access token. Shared by the password grant and browser sessions.
pub(crate) async fn password_login(
    state: &AppState,
    client: &Client,
    username: &str,
    password: Zeroizing<String>,
    scope: String,
    audience: String,
    peer: Option<IpAddr>,
) -> Result<Issued, ApiError> {
    let client = client.clone();
    if username.len() > crate::limits::MAX_USER_NAME {
        return Err(ApiError::InvalidRequest("the user name is too long"));
    }
    if let Err(retry) = state.limits.attempt(username, peer).await {
        inc(&state.metrics.rate_limited);
        return Err(ApiError::TooManyAttempts(retry.as_secs()));
    }
    let user = state
        .store
        .user_by_name(username)
        .await?
        .filter(|u| !u.disabled);
    let ok = state
        .hashing
        .check(
            state.config.max_hash_wait,
            password,
            user.as_ref().map(|u| u.password_hash.clone()),
            state.dummy_hash.clone(),
        )
        .await?;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        _ => {
            tracing::info!(client = %client.id, "login failed");
            inc(&state.metrics.login_failures);
            return Err(ApiError::InvalidGrant("invalid username or password"));
        }
    };
    let now = state.now();
    let family = Family {
        id: random_token(16)?,
        user_id: Some(user.id.clone()),
        client_id: client.id.clone(),
        scope: scope.clone(),
        audience: audience.clone(),
        expires_at: now + secs(state.config.refresh_absolute),
        revoked: false,
    };
    let ring = state.keys.current(now).await?;
    let (refresh, jti) = first_refresh_token(state, &family, ring.kid()).await?;
    let (access_token, expires_in) = access_token(
        state,
        &ring,
        &client,
        Some(&user),
        &scope,
        &audience,
        Jti::OfLogin(jti),
    )
    .await?;
    Ok(Issued {
        access_token,
        expires_in,
        scope,
        refresh_token: Some(refresh),
    })
}

async fn refresh(state: &AppState, headers: &HeaderMap, form: &Form) -> Result<Issued, ApiError> {
    let client = authenticate(state, headers, form, true).await?;
    allowed(&client, "refresh_token")?;
    let presented = form.require("refresh_token", "refresh_token is required")?;
    rotate(state, &client, presented, form.get("scope")).await
}

/// Uses a refresh token. Everything that can refuse the request without touching the token
/// is checked first (its client, the scope asked for, the user), and the access token is
/// signed before the rotation is committed, so a bad request never burns a good token:
///
/// - an unknown, expired or revoked token, or one of another client's logins: `invalid_grant`,
///   nothing changes;
/// - a scope outside what the login was granted *and* what the client may still have:
///   `invalid_scope`, nothing changes;
/// - a live token: rotated; of concurrent uses exactly one wins;
/// - a token rotated less than `refresh_grace` ago, presented again by its client while its
///   successor is unused: rotated again, the unused successor discarded (a lost answer, two
///   tabs), so the family still has one live token;
/// - any other rotated token: reuse, and the whole family is revoked.
///
/// Shared by the refresh grant and browser sessions.
pub(crate) async fn rotate(
    state: &AppState,
    client: &Client,
    presented: &str,
    scope_request: Option<&str>,
) -> Result<Issued, ApiError> {
    let client = client.clone();
    let now = state.now();
    let hash = refresh_hash(presented);
    let invalid = || ApiError::InvalidGrant("the refresh token is invalid");
    let Some(family) = state.store.family_of(&hash).await? else {
        return Err(invalid());
    };
    if family.client_id != client.id || family.revoked || family.expires_at <= now {
        return Err(invalid());
    }
    // What the login was granted, less what the client may no longer have.
    let granted: Vec<&str> = family
        .scope
        .split(' ')
        .filter(|s| !s.is_empty() && client.scopes.iter().any(|c| c == s))
        .collect();
    let scope = match scope_request {
        Some(req) if req.split(' ').all(|s| granted.contains(&s)) => req.to_owned(),
        Some(_) => return Err(ApiError::InvalidScope),
        None => granted.join(" "),
    };
    let user = match &family.user_id {
        Some(id) => match state
            .users
            .get(id, || state.store.user_by_id(id))
            .await?
            .filter(|u| !u.disabled)
        {
            Some(user) => Some(user),
            None => {
                state.end_login(&family.id, now).await?;
                return Err(invalid());
            }
        },
        None => None,
    };
    let ring = state.keys.current(now).await?;
    let refresh = random_token(32)?;
    let next = Successor {
        hash: refresh_hash(&refresh),
        expires_at: now + secs(state.config.refresh_idle),
        jti: random_token(16)?,
        access_exp: now + secs(state.config.access_lifetime),
        kid: ring.kid().to_owned(),
    };
    let (access_token, expires_in) = access_token(
        state,
        &ring,
        &client,
        user.as_ref(),
        &scope,
        &family.audience,
        Jti::OfLogin(next.jti.clone()),
    )
    .await?;
    match state.store.use_refresh(&hash, now, &next).await? {
        RefreshUse::Rotated(f) if f.id == family.id => {}
        RefreshUse::Rotated(_) | RefreshUse::Invalid => return Err(invalid()),
        RefreshUse::Reused { family_id, used_at } => {
            let grace = secs(state.config.refresh_grace);
            let again = grace > 0
                && now - used_at <= grace
                && state
                    .store
                    .regrace(&hash, now, now - grace, &next)
                    .await?
                    .is_some();
            if !again {
                // A rotated token came back: whoever holds the family's tokens, one copy leaked.
                tracing::warn!(client = %client.id, "refresh token reuse: family revoked");
                inc(&state.metrics.reuse_detections);
                state.end_login(&family_id, now).await?;
                return Err(invalid());
            }
        }
    }
    Ok(Issued {
        access_token,
        expires_in,
        scope,
        refresh_token: Some(refresh),
    })
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
        "refresh_token" => {
            let issued = refresh(&state, &headers, &form).await?;
            inc(&m.issued_refresh_token);
            issued
        }
        _ => return Err(ApiError::UnsupportedGrantType),
    };
    Ok(issued.response())
}

/// One of this issuer's access tokens, checked except for its expiry and audience.
async fn own_access_token(
    state: &AppState,
    token: &str,
) -> Option<signet::Claims<'static, Map<String, Value>>> {
    let ring = state.keys.current(state.now()).await.ok()?;
    let validation = Validation::builder()
        .issuer(state.config.issuer())
        .insecure_any_audience()
        .required_typ("at+jwt")
        .clock(std::sync::Arc::clone(&state.config.clock))
        .build();
    ring.verifier.verify(token, &validation).ok()
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
    let now = state.now();
    // A refresh token in any state (a rotated one too) ends its whole login.
    if let Some(family) = state.store.family_of(&refresh_hash(token)).await? {
        if family.client_id == client.id && !family.revoked {
            state.end_login(&family.id, now).await?;
        }
    } else if let Some(claims) = own_access_token(&state, token).await
        && claims.custom.get("client_id").and_then(Value::as_str) == Some(client.id.as_str())
        && let (Some(jti), Some(exp)) = (claims.jti.as_deref(), claims.exp)
    {
        state
            .deny(jti, i64::try_from(exp.as_secs()).unwrap_or(i64::MAX), now)
            .await?;
    }
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
    let now = state.now();
    // Only the token's own client, or a resource server registered for its audience, learns
    // anything about it.
    let may_see = |client_id: &str, audience: &str| {
        asker.id == client_id || (asker.introspect && asker.audiences.iter().any(|a| a == audience))
    };
    if let Some((family, exp)) = state
        .store
        .refresh_family(&refresh_hash(token), now)
        .await?
        && may_see(&family.client_id, &family.audience)
    {
        return Ok(no_store(json!({
            "active": true, "token_type": "refresh_token", "client_id": family.client_id,
            "scope": family.scope, "exp": exp,
        })));
    }
    if let Some(claims) = own_access_token(&state, token).await
        && claims.aud.as_ref().is_some_and(|aud| {
            let client_id = claims
                .custom
                .get("client_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            aud.iter().any(|a| may_see(client_id, a))
        })
        && claims
            .exp
            .is_some_and(|e| i64::try_from(e.as_secs()).unwrap_or(i64::MAX) > now)
        && !state
            .store
            .is_denied(
                claims.jti.as_deref().unwrap_or_default(),
                claims
                    .custom
                    .get("client_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                claims
                    .iat
                    .map_or(0, |i| i64::try_from(i.as_secs()).unwrap_or(i64::MAX)),
            )
            .await?
    {
        let mut body = serde_json::to_value(&claims).map_err(|e| ApiError::Internal(e.into()))?;
        body["active"] = json!(true);
        body["token_type"] = json!("Bearer");
        return Ok(no_store(body));
    }
    Ok(no_store(json!({"active": false})))
}
