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
    /// Authorization-code grant: the code from the redirect.
    code: Option<String>,
    /// Authorization-code grant: the redirect URI the code was sent to.
    redirect_uri: Option<String>,
    /// Authorization-code grant: the PKCE verifier (RFC 7636).
    code_verifier: Option<String>,
}

/// The login form: the carried authorization request, the anti-CSRF field and the credentials.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct LoginForm {
    /// The anti-CSRF field, matching its cookie.
    csrf: String,
    /// User name.
    username: String,
    /// Password.
    password: String,
    /// The authorization request, as on `/oauth2/authorize`.
    client_id: Option<String>,
    /// As on `/oauth2/authorize`.
    redirect_uri: Option<String>,
    /// As on `/oauth2/authorize`.
    code_challenge: Option<String>,
}

/// The consent form: the carried authorization request, the anti-CSRF field and the decision.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ConsentForm {
    /// The anti-CSRF field, matching its cookie.
    csrf: String,
    /// `allow` or `deny`.
    decision: String,
    /// The authorization request, as on `/oauth2/authorize`.
    client_id: Option<String>,
    /// As on `/oauth2/authorize`.
    redirect_uri: Option<String>,
    /// As on `/oauth2/authorize`.
    code_challenge: Option<String>,
}

/// A code exchange by a single-page app on the issuer's origin (JSON).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct SessionCode {
    /// A public client allowed the authorization-code grant.
    client_id: String,
    /// The code from the redirect.
    code: String,
    /// The redirect URI the code was sent to.
    redirect_uri: String,
    /// The PKCE verifier.
    code_verifier: String,
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
        description = "OAuth 2.0 token, revocation and introspection endpoints, the OpenID Connect authorization, userinfo and logout endpoints with their pages, browser sessions, published keys and the revocation feed."
    ),
    paths(
        crate::oauth::token,
        crate::oauth::revoke,
        crate::oauth::introspect,
        crate::feed::revocations,
        crate::session::login,
        crate::session::code,
        crate::session::refresh,
        crate::session::logout,
        crate::login::authorize_get,
        crate::login::authorize_post,
        crate::login::login,
        crate::login::consent,
        crate::login::userinfo,
        crate::logout::logout_get,
        crate::logout::logout_post,
        crate::admin_api::disable_user,
        crate::admin_api::revoke_user,
        crate::admin_api::delete_user,
        crate::admin_api::set_password,
        crate::admin_api::delete_client,
        crate::admin_api::rotate_secret,
        crate::admin_api::revoke_session,
        crate::admin_api::revoke_key,
        crate::admin_api::rotate_key,
        crate::ssf::configuration,
        crate::ssf::create,
        crate::ssf::read,
        crate::ssf::update,
        crate::ssf::replace,
        crate::ssf::delete,
        crate::ssf::status,
        crate::ssf::set_status,
        crate::ssf::add_subject,
        crate::ssf::remove_subject,
        crate::ssf::verify,
        crate::ssf::poll,
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
        SessionCode,
        crate::domain::sso::AuthParams,
        LoginForm,
        ConsentForm,
        crate::logout::LogoutParams,
        crate::wire::RevocationPage,
        crate::wire::Revocation,
        crate::wire::AdminDone,
        crate::admin_api::NewPassword,
        crate::admin_api::KeyRevocation,
        crate::admin_api::KeyRotation,
        crate::domain::ssf::StreamConfig,
        crate::domain::ssf::Delivery
    )),
    modifiers(&ClientBasic)
)]
struct ApiDoc;

/// The administration API's authentication: a client's id and secret in HTTP Basic.
struct ClientBasic;

impl utoipa::Modify for ClientBasic {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "client_basic",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
            );
    }
}

/// The OpenAPI document of this issuer.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "This document")))]
pub(crate) async fn openapi() -> Response {
    Json(ApiDoc::openapi()).into_response()
}
