//! `/oauth2/logout`, the end-session endpoint (OpenID Connect RP-Initiated Logout 1.0). With
//! a valid `id_token_hint` the session it names ends at once; without one the browser is asked
//! to confirm (a form with an anti-CSRF field). The browser goes back only to a
//! `post_logout_redirect_uri` registered for the client, else it sees a signed-out page. The
//! rules are in [`crate::domain::logout`].

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use crate::app::AppState;
use crate::domain::logout::{self, Hint};
use crate::domain::sso;
use crate::login::{csrf_matches, error_page, failure_page};
use crate::pages::{self, ENGLISH};
use crate::sealing::random_token;
use crate::session::{CookieNames, cookie, cookie_header, cookie_names};

/// The parameters of a logout request (OpenID Connect RP-Initiated Logout 1.0), or of its
/// confirmation.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub(crate) struct LogoutParams {
    /// An ID token this issuer signed; the session it names ends without a question.
    id_token_hint: Option<String>,
    /// One of the client's registered post-logout redirect URIs, exactly.
    post_logout_redirect_uri: Option<String>,
    /// Returned unchanged with the redirect.
    state: Option<String>,
    /// The client, when there is no hint.
    client_id: Option<String>,
    /// `yes` from the confirmation form.
    confirm: Option<String>,
    /// The confirmation form's anti-CSRF field.
    csrf: Option<String>,
}

/// `GET /oauth2/logout`.
#[utoipa::path(get, path = "/oauth2/logout", params(LogoutParams), responses((status = 200, description = "The confirmation page, or the signed-out page", content_type = "text/html", body = String), (status = 303, description = "Logged out: back to the registered post-logout redirect URI, with `state`"), (status = 400, description = "An error page: unregistered post-logout redirect URI or a malformed request", content_type = "text/html", body = String), (status = 403, description = "The confirmation's anti-CSRF check failed", content_type = "text/html", body = String), (status = 503, description = "Busy", content_type = "text/html", body = String)))]
pub(crate) async fn logout_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<LogoutParams>, QueryRejection>,
) -> Response {
    match params {
        Ok(Query(params)) => end_session(&state, &headers, params, false).await,
        Err(_) => error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "The logout request is malformed.",
        ),
    }
}

/// `POST /oauth2/logout` (a relying party's form post, or the confirmation).
#[utoipa::path(post, path = "/oauth2/logout", request_body(content = LogoutParams, content_type = "application/x-www-form-urlencoded"), responses((status = 200, description = "The confirmation page, or the signed-out page", content_type = "text/html", body = String), (status = 303, description = "Logged out: back to the registered post-logout redirect URI, with `state`"), (status = 400, description = "An error page: unregistered post-logout redirect URI or a malformed request", content_type = "text/html", body = String), (status = 403, description = "The confirmation's anti-CSRF check failed", content_type = "text/html", body = String), (status = 503, description = "Busy", content_type = "text/html", body = String)))]
pub(crate) async fn logout_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<axum::Form<LogoutParams>, FormRejection>,
) -> Response {
    match params {
        Ok(axum::Form(params)) => end_session(&state, &headers, params, true).await,
        Err(_) => error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "The logout request is malformed.",
        ),
    }
}

async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
    params: LogoutParams,
    posted: bool,
) -> Response {
    let names = cookie_names(state);
    let hint = match &params.id_token_hint {
        Some(h) => match logout::check_hint(state, h).await {
            Some(hint) => Some(hint),
            None => {
                return error_page(
                    state,
                    StatusCode::BAD_REQUEST,
                    "The ID token hint is not valid.",
                );
            }
        },
        None => None,
    };
    // Where the browser may go afterwards: only a URI registered for the client.
    let client_id = hint
        .as_ref()
        .map(|h| h.client_id.clone())
        .or_else(|| params.client_id.clone());
    let back = match &params.post_logout_redirect_uri {
        None => None,
        Some(uri) => {
            let client = match &client_id {
                Some(id) => match state.clients.get(id, || state.store.client(id)).await {
                    Ok(c) => c,
                    Err(e) => return failure_page(state, e.into()),
                },
                None => None,
            };
            match client {
                Some(c) if logout::may_return_to(&c, uri) => Some(uri.clone()),
                _ => {
                    return error_page(
                        state,
                        StatusCode::BAD_REQUEST,
                        "The post-logout redirect URI is not registered for this client.",
                    );
                }
            }
        }
    };
    let confirmed = posted
        && params.confirm.as_deref() == Some("yes")
        && csrf_matches(headers, &names, params.csrf.as_deref());
    let session_id = match (&hint, confirmed) {
        (Some(Hint { sid, .. }), _) => Some(sid.clone()),
        (None, true) => match sso::session(state, cookie(headers, names.sso).as_deref()).await {
            Ok(s) => s.map(|s| s.id),
            Err(e) => return failure_page(state, e),
        },
        (None, false) => return confirmation(state, &params, &names),
    };
    if let Some(id) = session_id
        && let Err(e) = logout::end_session(state, &id).await
    {
        return failure_page(state, e);
    }
    let mut cookies = Vec::new();
    for c in [
        cookie_header(names.sso, "", true, names.secure, 0, "Lax"),
        cookie_header(names.form_csrf, "", true, names.secure, 0, "Strict"),
    ] {
        match c {
            Ok(v) => cookies.push((header::SET_COOKIE, v)),
            Err(e) => return axum::response::IntoResponse::into_response(e),
        }
    }
    match back {
        Some(uri) => {
            let Ok(mut url) = url::Url::parse(&uri) else {
                return error_page(
                    state,
                    StatusCode::BAD_REQUEST,
                    "The redirect URI is not valid.",
                );
            };
            if let Some(s) = params.state.as_deref().filter(|s| !s.is_empty()) {
                url.query_pairs_mut().append_pair("state", s);
            }
            pages::redirect(url.as_str(), cookies)
        }
        None => pages::page(
            StatusCode::OK,
            pages::signed_out(&ENGLISH, &state.config.product_name),
            cookies,
        ),
    }
}

/// The confirmation page, with a fresh anti-CSRF cookie.
fn confirmation(state: &AppState, params: &LogoutParams, names: &CookieNames) -> Response {
    let Ok(csrf) = random_token(16) else {
        return error_page(state, StatusCode::INTERNAL_SERVER_ERROR, ENGLISH.busy);
    };
    let Ok(cookie) = cookie_header(names.form_csrf, &csrf, true, names.secure, 3600, "Strict")
    else {
        return error_page(state, StatusCode::INTERNAL_SERVER_ERROR, ENGLISH.busy);
    };
    let mut fields = Vec::new();
    for (name, value) in [
        ("post_logout_redirect_uri", &params.post_logout_redirect_uri),
        ("state", &params.state),
        ("client_id", &params.client_id),
    ] {
        if let Some(v) = value {
            fields.push((name, v.as_str()));
        }
    }
    pages::page(
        StatusCode::OK,
        pages::confirm_logout(&ENGLISH, &state.config.product_name, &fields, &csrf),
        vec![(header::SET_COOKIE, cookie)],
    )
}
