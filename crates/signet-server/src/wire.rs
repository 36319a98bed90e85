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

/// One entry of the revocation feed. Exactly one of these names what it denies:
/// - `jti`: one access token;
/// - `kid` with `keys_changed`: every token the withdrawn signing key signed (verifiers fetch
///   the keys again);
/// - `client_id` with `issued_before`: every token issued to the client at or before that time
///   (deleted, or its secret rotated);
/// - `sub` with `issued_before`: every token of that subject issued at or before that time
///   (user disabled, password changed, logged out everywhere);
/// - `sid`: every token carrying that SSO session id (the session ended).
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
    /// A client cutoff: every token issued to this client ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_id: Option<String>,
    /// A subject cutoff: every token whose `sub` is this ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sub: Option<String>,
    /// ... whose `iat` (Unix seconds) is at or before this is denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) issued_before: Option<i64>,
    /// A session entry: every token whose `sid` is this is denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sid: Option<String>,
    /// Until when it matters (Unix seconds): the denied token's `exp`, or for the other kinds
    /// the last `exp` a token it covers can have. The entry stays `retention_seconds` longer.
    pub(crate) exp: i64,
    /// When it was revoked, in Unix **milliseconds** (for verifiers' lag measurements).
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

/// What an administration call did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AdminDone {
    /// What was done, for a person.
    pub(crate) action: &'static str,
    /// The user's id (`sub`), the client id, the session's `sid` or the key's `kid`.
    pub(crate) target: String,
    /// A rotated client secret, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_secret: Option<String>,
    /// The new key of a rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) kid: Option<String>,
    /// How many logins a key revocation ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) logins_ended: Option<u64>,
}
