//! The administration API (`POST /admin/...`): the actions of `signet user`, `signet client`
//! and `signet key` that revoke whatever a user, a client, a session or a key covers, for
//! tooling that cannot run the CLI beside the database. Callers authenticate as a confidential
//! client with the `admin` role (HTTP Basic); every answer is JSON, every refusal an RFC
//! 6749-shaped error.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;

use crate::admin::{Admin, AdminError};
use crate::app::AppState;
use crate::error::ApiError;
use crate::form::{Form, authenticate, json_body};
use crate::wire::AdminDone;

/// The body of `/admin/users/{name}/password` (no `Debug`: it holds the password).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPassword {
    /// The new password (8 characters or more).
    #[schema(value_type = String)]
    password: zeroize::Zeroizing<String>,
}

/// The optional body of `/admin/keys/{kid}/revoke`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct KeyRevocation {
    /// Allowed for the key signing now; a new key then signs at once.
    force: bool,
}

/// The optional body of `/admin/keys/rotate`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct KeyRotation {
    /// Make the new key sign at once (a compromised key) instead of after the lead time.
    now: bool,
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound { .. } => Self::NotFound(e.to_string()),
            AdminError::Refused(m) => Self::Refused(m),
            AdminError::Failed(e) => Self::Internal(e),
        }
    }
}

/// Checks the caller is an `admin` client and returns the administration handle.
async fn admin(state: &AppState, headers: &HeaderMap) -> Result<Admin, ApiError> {
    let client = authenticate(state, headers, &Form::empty(), false).await?;
    if !client.is_admin() {
        return Err(ApiError::Forbidden(
            "the client does not have the admin role",
        ));
    }
    Ok(Admin::of_issuer(
        state,
        std::sync::Arc::clone(&state.master),
    ))
}

fn id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(id)| id).map_err(|_| {
        ApiError::InvalidRequest("the path must name one user, client, session or key")
    })
}

/// After a change made here: this instance forgets its cached users and clients at once
/// (others within their cache's second or on the store's change notice), and its revocation
/// streams push the new entries.
fn changed(state: &AppState, action: &'static str, target: String) -> Json<AdminDone> {
    state.users.clear();
    state.clients.clear();
    state.fanout.wake();
    tracing::info!(action, "administration");
    Json(AdminDone {
        action,
        target,
        client_secret: None,
        kid: None,
        logins_ended: None,
    })
}

macro_rules! user_action {
    ($name:ident, $path:literal, $action:literal, $method:ident, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, params(("name" = String, Path, description = "Login name")), security(("client_basic" = [])), responses((status = 200, body = AdminDone), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
        pub(crate) async fn $name(
            State(state): State<AppState>,
            headers: HeaderMap,
            path: Result<Path<String>, PathRejection>,
        ) -> Result<Json<AdminDone>, ApiError> {
            let name = id(path)?;
            let sub = admin(&state, &headers).await?.$method(&name).await?;
            Ok(changed(&state, $action, sub))
        }
    };
}

user_action!(
    disable_user,
    "/admin/users/{name}/disable",
    "user disabled",
    disable_user,
    "Disables a user: their logins end and every token of theirs is revoked (a subject cutoff)."
);
user_action!(
    revoke_user,
    "/admin/users/{name}/revoke",
    "user logged out everywhere",
    log_out_user,
    "Logs a user out everywhere: their logins end and every token of theirs is revoked."
);
user_action!(
    delete_user,
    "/admin/users/{name}/delete",
    "user deleted",
    delete_user,
    "Deletes a user: their logins end and every token of theirs is revoked."
);

/// Sets a user's password: their logins end and every token of theirs is revoked.
#[utoipa::path(post, path = "/admin/users/{name}/password", params(("name" = String, Path, description = "Login name")), request_body(content = NewPassword, content_type = "application/json"), security(("client_basic" = [])), responses((status = 200, body = AdminDone), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn set_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<AdminDone>, ApiError> {
    let name = id(path)?;
    let admin = admin(&state, &headers).await?;
    let Some(NewPassword { password }) = json_body::<Option<NewPassword>>(raw)? else {
        return Err(ApiError::InvalidRequest(
            "the body must carry the new password",
        ));
    };
    let sub = admin.set_password(&name, password).await?;
    Ok(changed(&state, "password set", sub))
}

/// Deletes a client: its logins end and every token issued to it is revoked (a client cutoff).
#[utoipa::path(post, path = "/admin/clients/{id}/delete", params(("id" = String, Path, description = "Client id")), security(("client_basic" = [])), responses((status = 200, body = AdminDone), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn delete_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<AdminDone>, ApiError> {
    let client = id(path)?;
    admin(&state, &headers)
        .await?
        .delete_client(&client)
        .await?;
    Ok(changed(&state, "client deleted", client))
}

/// Gives a confidential client a new secret (in the answer, once): its logins end and every
/// token issued to it is revoked (a client cutoff).
#[utoipa::path(post, path = "/admin/clients/{id}/rotate-secret", params(("id" = String, Path, description = "Client id")), security(("client_basic" = [])), responses((status = 200, body = AdminDone), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<AdminDone>, ApiError> {
    let client = id(path)?;
    let secret = admin(&state, &headers)
        .await?
        .rotate_client_secret(&client)
        .await?;
    let Json(mut done) = changed(&state, "client secret rotated", client);
    done.client_secret = Some(secret.as_str().to_owned());
    Ok(Json(done))
}

/// Ends an SSO session by its `sid`: its logins end, every token carrying its `sid` is revoked
/// (a session entry), and its clients get back-channel logout tokens.
#[utoipa::path(post, path = "/admin/sessions/{sid}/revoke", params(("sid" = String, Path, description = "The session's sid")), security(("client_basic" = [])), responses((status = 200, body = AdminDone), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn revoke_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<AdminDone>, ApiError> {
    let sid = id(path)?;
    admin(&state, &headers).await?;
    if !crate::domain::logout::end_session(&state, &sid).await? {
        return Err(ApiError::NotFound(format!("no live session {sid}")));
    }
    Ok(changed(&state, "session ended", sid))
}

/// Withdraws a signing key (a compromised key): it leaves the JWKS, the logins it signed for
/// end, and verifiers refuse its tokens at once. The key signing now needs `force`.
#[utoipa::path(post, path = "/admin/keys/{kid}/revoke", params(("kid" = String, Path, description = "The key's kid")), request_body(content = Option<KeyRevocation>, content_type = "application/json"), security(("client_basic" = [])), responses((status = 200, body = AdminDone), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn revoke_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<AdminDone>, ApiError> {
    let kid = id(path)?;
    let admin = admin(&state, &headers).await?;
    let KeyRevocation { force } = json_body(raw)?;
    let ended = admin.revoke_key(&kid, force).await?;
    let Json(mut done) = changed(&state, "key revoked", kid);
    done.logins_ended = Some(ended);
    Ok(Json(done))
}

/// Starts a key rotation: the new key is published now and signs after the lead time, or at
/// once with `now`.
#[utoipa::path(post, path = "/admin/keys/rotate", request_body(content = Option<KeyRotation>, content_type = "application/json"), security(("client_basic" = [])), responses((status = 200, body = AdminDone), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError)))]
pub(crate) async fn rotate_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<AdminDone>, ApiError> {
    let admin = admin(&state, &headers).await?;
    let KeyRotation { now } = json_body(raw)?;
    let kid = if now {
        admin.rotate_key_now().await?
    } else {
        admin.rotate_key().await?
    };
    let Json(mut done) = changed(&state, "key rotated", kid.clone());
    done.kid = Some(kid);
    Ok(Json(done))
}
