//! The JSON bodies the issuer answers with. Handlers serialize these types and `/openapi.json`
//! describes these same types, so the document cannot drift from the answers.

use serde::Serialize;
use utoipa::ToSchema;

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenResponse {
    /// An RFC 9068 JWT (`typ: at+jwt`).
    pub(crate) access_token: String,
    /// Always `Bearer`.
    pub(crate) token_type: &'static str,
    /// Seconds until the access token expires.
    pub(crate) expires_in: i64,
    /// The granted scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<String>,
    /// An opaque refresh token (password and refresh grants; in a cookie for browser sessions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_token: Option<String>,
    /// An OpenID Connect ID token (authorization-code grant with scope `openid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id_token: Option<String>,
}

/// An OAuth 2.0 error (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`, `invalid_target`, `access_denied`,
    /// `invalid_token`, `temporarily_unavailable` or `server_error`.
    pub(crate) error: &'static str,
    /// What went wrong, for a person.
    pub(crate) error_description: String,
}

/// One entry of the revocation feed: a denied access token (`jti`), a withdrawn signing key
/// (`kid` with `keys_changed`, on which verifiers fetch the keys again), or a deleted client
/// (`client_id` with `issued_before`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Revocation {
    /// The denied token's `jti`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) jti: Option<String>,
    /// The withdrawn key's `kid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) kid: Option<String>,
    /// Set on a key entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) keys_changed: Option<bool>,
    /// A deleted client: every token issued to it ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_id: Option<String>,
    /// ... at or before this time (its `iat`, Unix seconds) is denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) issued_before: Option<i64>,
    /// Until when it matters: the token's `exp` (the entry stays `retention_seconds` longer).
    pub(crate) exp: i64,
    /// When it was revoked (Unix seconds).
    pub(crate) revoked_at: i64,
}

/// One page of the revocation feed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RevocationPage {
    /// The entries after the cursor, oldest first.
    pub(crate) revocations: Vec<Revocation>,
    /// Pass as `after` to get what comes next.
    pub(crate) cursor: i64,
    /// How long an entry stays after its `exp`: the most leeway a verifier may allow.
    pub(crate) retention_seconds: u64,
}
