//! The one place where errors become HTTP responses: OAuth 2.0 error JSON (RFC 6749 §5.2).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error answered to a client.
///
/// # Examples
///
/// ```
/// use axum::response::IntoResponse;
/// let answer = signet_server::ApiError::InvalidGrant("the refresh token is invalid").into_response();
/// assert_eq!(answer.status(), 400); // {"error":"invalid_grant","error_description":...}
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed (RFC 6749 `invalid_request`).
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// Client authentication failed. `basic` adds the `WWW-Authenticate` challenge.
    #[error("client authentication failed")]
    InvalidClient {
        /// Whether the client tried HTTP Basic authentication.
        basic: bool,
    },
    /// The grant (password, refresh token) is invalid, expired or revoked.
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// The client may not use this grant type.
    #[error("the client may not use this grant type")]
    UnauthorizedClient,
    /// The grant type is not supported.
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    /// A requested scope is not allowed for the client.
    #[error("a requested scope is not allowed for this client")]
    InvalidScope,
    /// The requested audience is not allowed for the client (RFC 8707 `invalid_target`).
    #[error("the requested audience is not allowed for this client")]
    InvalidTarget,
    /// The body has the wrong content type.
    #[error("the body must be application/x-www-form-urlencoded")]
    UnsupportedMediaType,
    /// The body is larger than allowed.
    #[error("the request body is too large")]
    TooLarge,
    /// A browser request failed its Origin or CSRF check.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Too many login attempts; retry after this many seconds.
    #[error("too many login attempts; try again later")]
    TooManyAttempts(u64),
    /// A bearer access token is missing, invalid, expired or revoked (RFC 6750).
    #[error("{0}")]
    InvalidToken(&'static str),
    /// `/metrics` was asked for without its bearer token.
    #[error("the metrics token is required")]
    MetricsToken,
    /// The server is at a limit (password hashes, event streams); retry after this many seconds.
    #[error("{0}")]
    Busy(&'static str),
    /// A client has too many event streams open.
    #[error("too many revocation streams open for this client")]
    TooManyStreams,
    /// What the request names does not exist (an administration call).
    #[error("{0}")]
    NotFound(String),
    /// The request is well-formed but refused as asked (an administration call).
    #[error("{0}")]
    Refused(String),
    /// Something failed inside the server; the details go to the log only.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub(crate) fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::InvalidClient { .. } => (StatusCode::UNAUTHORIZED, "invalid_client"),
            Self::InvalidGrant(_) => (StatusCode::BAD_REQUEST, "invalid_grant"),
            Self::UnauthorizedClient => (StatusCode::BAD_REQUEST, "unauthorized_client"),
            Self::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            Self::InvalidScope => (StatusCode::BAD_REQUEST, "invalid_scope"),
            Self::InvalidTarget => (StatusCode::BAD_REQUEST, "invalid_target"),
            Self::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request"),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "access_denied"),
            Self::TooManyAttempts(_) => (StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable"),
            Self::MetricsToken | Self::InvalidToken(_) => {
                (StatusCode::UNAUTHORIZED, "invalid_token")
            }
            Self::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            Self::TooManyStreams => (StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Refused(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Unavailable(_) => {
                tracing::error!(error = %e, "database unavailable");
                Self::Busy("the database is unavailable; try again shortly")
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl From<crate::domain::DomainError> for ApiError {
    fn from(e: crate::domain::DomainError) -> Self {
        use crate::domain::DomainError as D;
        match e {
            D::InvalidRequest(m) => Self::InvalidRequest(m),
            D::InvalidGrant(m) => Self::InvalidGrant(m),
            D::UnauthorizedClient => Self::UnauthorizedClient,
            D::InvalidScope => Self::InvalidScope,
            D::InvalidTarget => Self::InvalidTarget,
            D::TooManyAttempts(secs) => Self::TooManyAttempts(secs),
            D::Busy(m) => Self::Busy(m),
            D::Store(e) => e.into(),
            D::Internal(e) => Self::Internal(e),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        if let Self::Internal(e) = &self {
            tracing::error!(error = %format!("{e:#}"), "request failed");
        }
        let body = crate::wire::OAuthError {
            error: code,
            error_description: self.to_string(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        let retry_after = match &self {
            Self::TooManyAttempts(secs) => Some((*secs).max(1)),
            Self::Busy(_) | Self::TooManyStreams => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        if matches!(self, Self::MetricsToken) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if matches!(self, Self::InvalidToken(_)) {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        if matches!(self, Self::InvalidClient { basic: true }) {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"signet\""),
            );
        }
        response
    }
}
