//! `/openapi.json`: an OpenAPI 3 document of every endpoint, generated from the handlers'
//! annotations, the response types they serialize (`wire`), and the request shapes below
//! (the form parser reads fields by name; these describe them).

use axum::Json;
use axum::response::{IntoResponse, Response};
use utoipa::{OpenApi, ToSchema};

/// A form-encoded token request (RFC 6749). Which fields apply depends on `grant_type`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct TokenRequest {
    /// `client_credentials`, `password` or `refresh_token`.
    grant_type: String,
    /// The client (public clients, or `client_secret_post`).
    client_id: Option<String>,
    /// `client_secret_post`; otherwise use HTTP Basic.
    client_secret: Option<String>,
    /// Password grant.
    username: Option<String>,
    /// Password grant.
    password: Option<String>,
    /// Refresh grant.
    refresh_token: Option<String>,
    /// Space-separated scopes, a subset of the client's.
    scope: Option<String>,
    /// The audience the token is for (also accepted as `resource`, RFC 8707).
    audience: Option<String>,
}

/// A form-encoded revocation or introspection request.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct TokenParam {
    /// The token.
    token: String,
    /// The client (public clients, or `client_secret_post`).
    client_id: Option<String>,
    /// `client_secret_post`; otherwise use HTTP Basic.
    client_secret: Option<String>,
}

/// A browser login (JSON).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct SessionLogin {
    /// A public client allowed the password grant.
    client_id: String,
    /// User name.
    username: String,
    /// Password.
    password: String,
    /// Space-separated scopes.
    scope: Option<String>,
    /// Audience.
    audience: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Signet issuer",
        description = "OAuth 2.0 token, revocation and introspection endpoints, browser sessions, published keys and the revocation feed."
    ),
    paths(
        crate::oauth::token,
        crate::oauth::revoke,
        crate::oauth::introspect,
        crate::feed::revocations,
        crate::session::login,
        crate::session::refresh,
        crate::session::logout,
        crate::app::discovery,
        crate::app::jwks,
        crate::app::ready,
        openapi,
    ),
    components(schemas(
        TokenRequest,
        crate::wire::TokenResponse,
        crate::wire::OAuthError,
        TokenParam,
        SessionLogin,
        crate::wire::RevocationPage,
        crate::wire::Revocation
    ))
)]
struct ApiDoc;

/// The OpenAPI document of this issuer.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "This document")))]
pub(crate) async fn openapi() -> Response {
    Json(ApiDoc::openapi()).into_response()
}
