//! The OpenID Connect endpoints a browser visits: `/oauth2/authorize`, the login form it shows
//! (posted to `/oauth2/login`), and `/oauth2/userinfo`. They parse requests and render pages;
//! the rules are in [`crate::domain::sso`].

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zeroize::Zeroizing;

use crate::app::AppState;
use crate::domain::DomainError;
use crate::domain::sso::{self, AuthParams, AuthRequest, AuthorizeError};
use crate::error::ApiError;
use crate::pages::{self, ConsentPage, ENGLISH, FormPage, LoginPage};
use crate::sealing::random_token;
use crate::session::{CookieNames, cookie, cookie_header, cookie_names};

/// The login form's fields: the authorization request, carried through, and the login.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct LoginForm {
    #[serde(flatten)]
    request: AuthParams,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub(crate) fn error_page(state: &AppState, status: StatusCode, message: &str) -> Response {
    pages::page(
        status,
        pages::error(&ENGLISH, &state.config.product_name, message),
        Vec::new(),
    )
}

/// A failure of the store or the keys, as a page.
pub(crate) fn failure_page(state: &AppState, e: DomainError) -> Response {
    let api = ApiError::from(e);
    let status = api.status();
    if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
        tracing::error!(error = %api, "authorization request failed");
    }
    let message = if status == StatusCode::SERVICE_UNAVAILABLE {
        ENGLISH.busy
    } else {
        "Something went wrong. Please try again."
    };
    error_page(state, status, message)
}

/// Sends the browser back to the client with `params` and the issuer (RFC 9207).
fn back_to_client(
    state: &AppState,
    redirect_uri: &str,
    params: &[(&str, &str)],
    cookies: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return error_page(
            state,
            StatusCode::BAD_REQUEST,
            "The redirect URI is not valid.",
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        query.append_pair("iss", state.config.issuer());
    }
    pages::redirect(url.as_str(), cookies)
}

fn refusal(state: &AppState, e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page(message) => error_page(state, StatusCode::BAD_REQUEST, message),
        AuthorizeError::Redirect {
            redirect_uri,
            state: client_state,
            error,
            description,
        } => {
            let mut params = vec![("error", error), ("error_description", description)];
            if let Some(s) = &client_state {
                params.push(("state", s));
            }
            back_to_client(state, &redirect_uri, &params, Vec::new())
        }
        AuthorizeError::Domain(e) => failure_page(state, e),
    }
}

/// Issues a code in `session` and sends it to the client.
async fn grant_code(
    state: &AppState,
    request: &AuthRequest,
    session: &crate::store::SsoSession,
    cookies: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    match sso::issue_code(state, request, session).await {
        Ok(code) => {
            let mut params = vec![("code", code.as_str())];
            if let Some(s) = &request.state {
                params.push(("state", s));
            }
            back_to_client(state, &request.redirect_uri, &params, cookies)
        }
        Err(e) => failure_page(state, e),
    }
}

/// Goes on once the browser has a session: the consent page when the user must be asked
/// (`consent_required` when no page may be shown), else a code.
async fn continue_with(
    state: &AppState,
    request: &AuthRequest,
    params: &AuthParams,
    session: &crate::store::SsoSession,
    mut cookies: Vec<(HeaderName, HeaderValue)>,
) -> Response {
    match sso::needs_consent(state, request, session).await {
        Ok(false) => grant_code(state, request, session, cookies).await,
        Ok(true) if request.prompt.none => refusal(
            state,
            AuthorizeError::Redirect {
                redirect_uri: request.redirect_uri.clone(),
                state: request.state.clone(),
                error: "consent_required",
                description: "the user has not agreed to this client's scopes",
            },
        ),
        Ok(true) => {
            let Some((csrf, cookie)) = form_csrf(state) else {
                return error_page(state, StatusCode::INTERNAL_SERVER_ERROR, ENGLISH.busy);
            };
            cookies.push((header::SET_COOKIE, cookie));
            let body = pages::consent(
                &ENGLISH,
                &ConsentPage {
                    form: FormPage {
                        product: &state.config.product_name,
                        client: client_name(request),
                        request: params,
                        csrf: &csrf,
                    },
                    scope: &request.scope,
                },
            );
            pages::page(StatusCode::OK, body, cookies)
        }
        Err(e) => failure_page(state, e),
    }
}

/// A fresh anti-CSRF token for a form page, and the cookie that carries it (none if no random
/// token can be had).
fn form_csrf(state: &AppState) -> Option<(String, HeaderValue)> {
    let names = cookie_names(state);
    let csrf = random_token(16).ok()?;
    let cookie = cookie_header(names.form_csrf, &csrf, true, names.secure, 3600, "Strict").ok()?;
    Some((csrf, cookie))
}

/// The name a page shows for the client of `request`: its registered name, else its id.
fn client_name(request: &AuthRequest) -> &str {
    request
        .client
        .oidc
        .name
        .as_deref()
        .unwrap_or(&request.client.id)
}

/// The login page for `request`, with a fresh anti-CSRF cookie.
fn login_page(
    state: &AppState,
    request: &AuthRequest,
    params: &AuthParams,
    status: StatusCode,
    username: &str,
    error: Option<&str>,
) -> Response {
    let Some((csrf, cookie)) = form_csrf(state) else {
        return error_page(state, StatusCode::INTERNAL_SERVER_ERROR, ENGLISH.busy);
    };
    let username = if username.is_empty() {
        request.login_hint.as_deref().unwrap_or("")
    } else {
        username
    };
    let body = pages::login(
        &ENGLISH,
        &LoginPage {
            form: FormPage {
                product: &state.config.product_name,
                client: client_name(request),
                request: params,
                csrf: &csrf,
            },
            username,
            error,
        },
    );
    pages::page(status, body, vec![(header::SET_COOKIE, cookie)])
}

/// Answers a checked request: a code at once when the browser's SSO session suffices, an
/// error when no page may be shown, else the login page.
async fn authorize_with(state: &AppState, headers: &HeaderMap, params: AuthParams) -> Response {
    let request = match sso::check_request(state, &params).await {
        Ok(r) => r,
        Err(e) => return refusal(state, e),
    };
    let names = cookie_names(state);
    let session = match sso::session(state, cookie(headers, names.sso).as_deref()).await {
        Ok(s) => s,
        Err(e) => return failure_page(state, e),
    };
    if let Some(session) = session.filter(|s| sso::session_suffices(state, &request, s)) {
        return continue_with(state, &request, &params, &session, Vec::new()).await;
    }
    if request.prompt.none {
        return refusal(
            state,
            AuthorizeError::Redirect {
                redirect_uri: request.redirect_uri.clone(),
                state: request.state.clone(),
                error: "login_required",
                description: "the user is not logged in",
            },
        );
    }
    login_page(state, &request, &params, StatusCode::OK, "", None)
}

/// `GET /oauth2/authorize`.
#[utoipa::path(get, path = "/oauth2/authorize", params(AuthParams), responses((status = 200, description = "The login or consent page", content_type = "text/html", body = String), (status = 303, description = "Back to the registered redirect URI with `code` or an RFC 6749 `error`, `state` and `iss` (RFC 9207)"), (status = 400, description = "An error page: unknown client or redirect URI, or a malformed request (never redirected)", content_type = "text/html", body = String), (status = 503, description = "Busy", content_type = "text/html", body = String)))]
pub(crate) async fn authorize_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<AuthParams>, QueryRejection>,
) -> Response {
    match params {
        Ok(Query(params)) => authorize_with(&state, &headers, params).await,
        Err(_) => error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "The authorization request is malformed.",
        ),
    }
}

/// `POST /oauth2/authorize` (form-encoded, as OpenID Connect allows).
#[utoipa::path(post, path = "/oauth2/authorize", request_body(content = AuthParams, content_type = "application/x-www-form-urlencoded"), responses((status = 200, description = "The login or consent page", content_type = "text/html", body = String), (status = 303, description = "Back to the registered redirect URI with `code` or an RFC 6749 `error`, `state` and `iss` (RFC 9207)"), (status = 400, description = "An error page: unknown client or redirect URI, or a malformed request (never redirected)", content_type = "text/html", body = String), (status = 503, description = "Busy", content_type = "text/html", body = String)))]
pub(crate) async fn authorize_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<axum::Form<AuthParams>, FormRejection>,
) -> Response {
    match params {
        Ok(axum::Form(params)) => authorize_with(&state, &headers, params).await,
        Err(_) => error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "The authorization request is malformed.",
        ),
    }
}

/// Whether a form's anti-CSRF field matches its cookie (compared in constant time).
pub(crate) fn csrf_matches(headers: &HeaderMap, names: &CookieNames, sent: Option<&str>) -> bool {
    match (cookie(headers, names.form_csrf), sent) {
        (Some(c), Some(s)) => {
            !c.is_empty() && crate::sealing::secret_eq(c.as_bytes(), s.as_bytes())
        }
        _ => false,
    }
}

/// Whether the browser says it posts from elsewhere: `Sec-Fetch-Site: cross-site` or
/// `same-site`, or an `Origin` other than the issuer's. (The pages' `Referrer-Policy:
/// no-referrer` makes browsers send `Origin: null` for their own forms, which says nothing;
/// the anti-CSRF field is checked regardless.)
fn foreign_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if matches!(fetch_site, "cross-site" | "same-site") {
        return true;
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None | Some("null") => false,
        Some(_) => crate::session::check_origin(state, headers).is_err(),
    }
}

/// A posted form of the login pages (`what` names it): it must parse, its anti-CSRF field
/// (`parts` gives it and the authorization request) must match its cookie, the browser must not
/// say it comes from elsewhere, and the authorization request it carries must still hold. The
/// form and its checked request, or the answer that refuses the form.
async fn checked_form<T>(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<axum::Form<T>, FormRejection>,
    what: &str,
    parts: impl Fn(&T) -> (&str, &AuthParams),
) -> Result<(T, AuthRequest), Response> {
    let Ok(axum::Form(form)) = form else {
        return Err(error_page(
            state,
            StatusCode::BAD_REQUEST,
            &format!("The {what} form is malformed."),
        ));
    };
    let (csrf, params) = parts(&form);
    if !csrf_matches(headers, &cookie_names(state), Some(csrf)) || foreign_origin(state, headers) {
        tracing::warn!("form refused: anti-CSRF check failed");
        return Err(error_page(
            state,
            StatusCode::FORBIDDEN,
            ENGLISH.expired_form,
        ));
    }
    let request = sso::check_request(state, params)
        .await
        .map_err(|e| refusal(state, e))?;
    Ok((form, request))
}

/// `POST /oauth2/login`: the login form. The anti-CSRF field must match its cookie and the
/// browser must not say it comes from another origin; a wrong password shows the form again
/// with one message whatever was wrong; the login rate limits apply.
#[utoipa::path(post, path = "/oauth2/login", request_body(content = crate::openapi::LoginForm, content_type = "application/x-www-form-urlencoded"), responses((status = 200, description = "The login page again (the session cookie expired)", content_type = "text/html", body = String), (status = 303, description = "Logged in: on to the consent page or back to the client with a code"), (status = 400, description = "An error page: unknown client or redirect URI, or a malformed request (never redirected)", content_type = "text/html", body = String), (status = 401, description = "The login page with one message for any wrong user name or password", content_type = "text/html", body = String), (status = 403, description = "The anti-CSRF check failed", content_type = "text/html", body = String), (status = 429, description = "Too many attempts", content_type = "text/html", body = String), (status = 503, description = "Busy", content_type = "text/html", body = String)))]
pub(crate) async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    form: Result<axum::Form<LoginForm>, FormRejection>,
) -> Response {
    let checked = checked_form(&state, &headers, form, "login", |f: &LoginForm| {
        (&f.csrf, &f.request)
    });
    let (mut form, request) = match checked.await {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    let address = crate::limits::client_address(
        &state.config.trusted_proxies,
        &headers,
        peer.map(|p| p.0.0.ip()),
    );
    let checked = crate::domain::grants::check_password(
        &state,
        &request.client.id,
        &form.username,
        Zeroizing::new(std::mem::take(&mut form.password)),
        address,
    )
    .await;
    let user = match checked {
        Ok(user) => user,
        Err(e) => {
            let (status, message) = match e {
                DomainError::InvalidGrant(_) | DomainError::InvalidRequest(_) => {
                    (StatusCode::UNAUTHORIZED, ENGLISH.wrong_password)
                }
                DomainError::TooManyAttempts(_) => {
                    (StatusCode::TOO_MANY_REQUESTS, ENGLISH.too_many)
                }
                DomainError::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, ENGLISH.busy),
                other => return failure_page(&state, other),
            };
            return login_page(
                &state,
                &request,
                &form.request,
                status,
                &form.username,
                Some(message),
            );
        }
    };
    let (value, session) = match sso::start_session(&state, &user).await {
        Ok(s) => s,
        Err(e) => return failure_page(&state, e),
    };
    let names = cookie_names(&state);
    let max_age = i64::try_from(state.config.sso_session_lifetime.as_secs()).unwrap_or(0);
    let cookies = [
        cookie_header(names.sso, &value, true, names.secure, max_age, "Lax"),
        cookie_header(names.form_csrf, "", true, names.secure, 0, "Strict"),
    ];
    let mut set = Vec::new();
    for c in cookies {
        match c {
            Ok(v) => set.push((header::SET_COOKIE, v)),
            Err(e) => return e.into_response(),
        }
    }
    continue_with(&state, &request, &form.request, &session, set).await
}

/// The consent form's fields: the authorization request, carried through, and the answer.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ConsentForm {
    #[serde(flatten)]
    request: AuthParams,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
}

/// `POST /oauth2/consent`: the consent form. `allow` records the agreement and sends a code;
/// `deny` sends `access_denied`. The anti-CSRF field must match its cookie and the browser
/// must not say it comes from another origin; the browser's session must still be live.
#[utoipa::path(post, path = "/oauth2/consent", request_body(content = crate::openapi::ConsentForm, content_type = "application/x-www-form-urlencoded"), responses((status = 200, description = "The login page (no live session)", content_type = "text/html", body = String), (status = 303, description = "Back to the client with a code, or with `access_denied`"), (status = 400, description = "An error page: unknown client or redirect URI, or a malformed request (never redirected)", content_type = "text/html", body = String), (status = 403, description = "The anti-CSRF check failed", content_type = "text/html", body = String), (status = 503, description = "Busy", content_type = "text/html", body = String)))]
pub(crate) async fn consent(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<axum::Form<ConsentForm>, FormRejection>,
) -> Response {
    let checked = checked_form(&state, &headers, form, "consent", |f: &ConsentForm| {
        (&f.csrf, &f.request)
    });
    let (form, request) = match checked.await {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    let names = cookie_names(&state);
    let session = match sso::session(&state, cookie(&headers, names.sso).as_deref()).await {
        Ok(Some(s)) => s,
        Ok(None) => return login_page(&state, &request, &form.request, StatusCode::OK, "", None),
        Err(e) => return failure_page(&state, e),
    };
    let cleared = match cookie_header(names.form_csrf, "", true, names.secure, 0, "Strict") {
        Ok(c) => vec![(header::SET_COOKIE, c)],
        Err(e) => return e.into_response(),
    };
    if form.decision != "allow" {
        let mut params = vec![
            ("error", "access_denied"),
            ("error_description", "the user denied the request"),
        ];
        if let Some(s) = &request.state {
            params.push(("state", s));
        }
        return back_to_client(&state, &request.redirect_uri, &params, cleared);
    }
    if let Err(e) = sso::record_consent(&state, &request, &session).await {
        return failure_page(&state, e);
    }
    grant_code(&state, &request, &session, cleared).await
}

/// The bearer token of a request: the `Authorization` header, or (POST) the
/// `access_token` form field (RFC 6750 §2.2).
fn bearer(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v)
}

/// `GET/POST /oauth2/userinfo` (OpenID Connect Core §5.3): `sub` and the claims the access
/// token's scope selects; RFC 6750 errors.
#[utoipa::path(method(get, post), path = "/oauth2/userinfo", params(("Authorization" = String, Header, description = "Bearer and an access token of this issuer")), responses((status = 200, description = "`sub` and the claims the token's scope selects", body = Object), (status = 401, body = crate::wire::OAuthError, description = "RFC 6750: no, or a bad, token"), (status = 413, body = crate::wire::OAuthError), (status = 503, body = crate::wire::OAuthError)))]
pub(crate) async fn userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let token =
        bearer(&headers, &body).ok_or(ApiError::InvalidToken("a bearer token is required"))?;
    let claims = sso::userinfo(&state, &token)
        .await?
        .ok_or(ApiError::InvalidToken(
            "the access token is invalid, expired or revoked",
        ))?;
    let mut r = axum::Json(claims).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
