//! Why a request was refused, and the one place where that becomes an HTTP response:
//! 401 with an RFC 6750 `WWW-Authenticate` challenge, or 403 `insufficient_scope`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A refused request. The description never quotes the token.
///
/// # Examples
///
/// ```
/// use axum::response::IntoResponse;
/// let answer = signet_guard::Refusal::InsufficientScope("orders:write".into()).into_response();
/// assert_eq!(answer.status(), 403);
/// assert!(answer.headers()["www-authenticate"].to_str()?.contains("insufficient_scope"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// No bearer token (or cookie) in the request.
    #[error("no access token")]
    Missing,
    /// The token failed verification.
    #[error("{0}")]
    Invalid(signet::Error),
    /// The token was revoked at the issuer.
    #[error("token revoked")]
    Revoked,
    /// The token lacks a required scope.
    #[error("insufficient scope: {0} is required")]
    InsufficientScope(String),
    /// The token lacks a required role.
    #[error("the role {0} is required")]
    MissingRole(String),
    /// The issuer's keys could not be refreshed for longer than allowed.
    #[error("keys unknown: the issuer has been unreachable too long")]
    KeysStale,
    /// The revocation feed has been silent too long and the policy is to refuse.
    #[error("revocations unknown: the issuer's feed is unreachable")]
    RevocationsStale,
}

impl Refusal {
    /// A short reason for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Invalid(signet::Error::Expired { .. }) => "expired",
            Self::Invalid(signet::Error::WrongAudience) => "wrong_audience",
            Self::Invalid(signet::Error::WrongIssuer) => "wrong_issuer",
            Self::Invalid(signet::Error::WrongType) => "wrong_type",
            Self::Invalid(signet::Error::UnknownKey) => "unknown_key",
            Self::Invalid(signet::Error::InvalidSignature) => "invalid_signature",
            Self::Invalid(_) => "invalid",
            Self::Revoked => "revoked",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::MissingRole(_) => "missing_role",
            Self::RevocationsStale => "revocations_stale",
            Self::KeysStale => "keys_stale",
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, challenge) = match &self {
            Self::Missing => (StatusCode::UNAUTHORIZED, "Bearer".to_owned()),
            Self::Invalid(_) | Self::Revoked => (
                StatusCode::UNAUTHORIZED,
                format!(
                    "Bearer error=\"invalid_token\", error_description=\"{}\"",
                    self.to_string().replace('"', "'")
                ),
            ),
            Self::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""),
            ),
            Self::MissingRole(_) => (
                StatusCode::FORBIDDEN,
                "Bearer error=\"insufficient_scope\"".to_owned(),
            ),
            Self::RevocationsStale | Self::KeysStale => {
                (StatusCode::SERVICE_UNAVAILABLE, "Bearer".to_owned())
            }
        };
        let code = match status {
            StatusCode::FORBIDDEN => "insufficient_scope",
            StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
            StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
            _ if matches!(self, Self::Missing) => "invalid_request",
            _ => "invalid_token",
        };
        let body = serde_json::json!({"error": code, "error_description": self.to_string()});
        let mut response = (status, axum::Json(body)).into_response();
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        response
    }
}
