//! What the stores hold, in domain terms: no SQL types cross this line.

/// A user as the store holds it.
#[derive(Debug, Clone)]
pub struct User {
    /// Stable id, used as `sub`.
    pub id: String,
    /// Login name.
    pub name: String,
    /// The argon2id PHC string.
    pub(crate) password_hash: String,
    /// Roles, copied into access tokens.
    pub roles: Vec<String>,
    /// Extra claims, copied into access tokens.
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// Disabled users cannot log in or refresh.
    pub disabled: bool,
    /// The profile claims ID tokens and userinfo give by scope.
    pub profile: Profile,
}

/// A user's OpenID Connect profile claims.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Profile {
    /// `email` (scope `email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `email_verified` (scope `email`).
    pub email_verified: bool,
    /// `name` (scope `profile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// A client as the store holds it.
#[derive(Debug, Clone)]
pub struct Client {
    /// Client id.
    pub id: String,
    /// Keyed hash of the secret; `None` for a public client.
    pub(crate) secret_hash: Option<Vec<u8>>,
    /// Grant types allowed.
    pub grants: Vec<String>,
    /// Scopes allowed.
    pub scopes: Vec<String>,
    /// Audiences allowed; the first is the default.
    pub audiences: Vec<String>,
    /// A resource server: may introspect tokens meant for its audiences.
    pub introspect: bool,
    /// What it registered for browser logins (OpenID Connect).
    pub oidc: OidcRegistration,
    /// Its roles; `admin` may call the administration API.
    pub roles: Vec<String>,
}

impl Client {
    /// Whether the client may call the administration API.
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == "admin")
    }
}

/// What a client registered for logins through the authorization endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct OidcRegistration {
    /// Where authorization responses may go: exact matches only.
    pub redirect_uris: Vec<String>,
    /// Where the end-session endpoint may send the browser after logout.
    pub post_logout_redirect_uris: Vec<String>,
    /// Where back-channel logout tokens are posted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// A client of the issuer's own operator: no consent page.
    pub first_party: bool,
    /// The name shown to users on the consent page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Client {
    /// Whether the client has no secret.
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }
}

/// A stored signing key.
#[derive(Debug, Clone)]
pub(crate) struct StoredKey {
    pub(crate) kid: String,
    pub(crate) alg: String,
    pub(crate) sealed: Vec<u8>,
    pub(crate) public_jwk: String,
    pub(crate) created_at: i64,
    pub(crate) active_from: i64,
}

/// When a new signing key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyAddition {
    /// Always (an operator's rotation).
    Always,
    /// Only if no stored key signs yet at its `active_from` (the first key).
    First,
    /// Only if no stored key is waiting to sign after its `created_at` (a scheduled rotation).
    Rotation,
}

impl KeyAddition {
    /// The name the stores' statements compare.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::First => "first",
            Self::Rotation => "rotation",
        }
    }
}

/// A refresh-token family (one login).
#[derive(Debug, Clone)]
pub(crate) struct Family {
    pub(crate) id: String,
    pub(crate) user_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) audience: String,
    pub(crate) expires_at: i64,
    pub(crate) revoked: bool,
    /// The SSO session the login began in, if it began at the login page.
    pub(crate) session_id: Option<String>,
}

/// A browser's login at the issuer (single sign-on).
#[derive(Debug, Clone)]
pub(crate) struct SsoSession {
    /// The public id, the `sid` of ID tokens.
    pub(crate) id: String,
    pub(crate) user_id: String,
    /// When the user last entered their password.
    pub(crate) auth_time: i64,
    pub(crate) expires_at: i64,
}

/// What an SSO session that just ended covered.
#[derive(Debug, Clone)]
pub(crate) struct EndedSession {
    pub(crate) user_id: String,
    /// The clients it logged into, with their back-channel logout URIs where registered.
    pub(crate) clients: Vec<(String, Option<String>)>,
}

/// An authorization code, as issued: what its exchange must match and what it grants. The code
/// the client gets is this, sealed (see [`crate::domain::keys::KeyManager::seal_code`]); the
/// store keeps it only from its first use.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct AuthCode {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    /// The PKCE S256 challenge.
    pub(crate) code_challenge: String,
    pub(crate) nonce: Option<String>,
    pub(crate) scope: String,
    pub(crate) session_id: String,
    pub(crate) user_id: String,
    pub(crate) auth_time: i64,
    pub(crate) expires_at: i64,
}

/// What the first use of a code issues, recorded as it is claimed.
#[derive(Debug, Clone)]
pub(crate) struct CodeIssue {
    /// The login (refresh family) it starts, if the client gets refresh tokens.
    pub(crate) family_id: Option<String>,
    pub(crate) access_jti: String,
    pub(crate) access_exp: i64,
}

/// What presenting a code found.
#[derive(Debug)]
pub(crate) enum CodeUse {
    /// First use of a live code: now used.
    Redeemed(AuthCode),
    /// A second use: what the first use issued, to be revoked.
    Replayed(CodeIssue),
    /// Unknown or expired.
    Invalid,
}

/// What a rotation stores when it wins: the next refresh token and the access token's id.
#[derive(Debug, Clone)]
pub(crate) struct Successor {
    pub(crate) hash: Vec<u8>,
    pub(crate) expires_at: i64,
    pub(crate) jti: String,
    pub(crate) access_exp: i64,
    /// The key that signs the access token issued beside it.
    pub(crate) kid: String,
}

/// The access token issued beside a refresh token: its `jti`, `exp` and signing key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IssuedAccess<'a> {
    pub(crate) jti: &'a str,
    pub(crate) exp: i64,
    pub(crate) kid: &'a str,
}

/// What using a refresh token found.
#[derive(Debug)]
pub(crate) enum RefreshUse {
    /// The token was live and is now used; its family is returned.
    Rotated(Family),
    /// The token had been used before (at `used_at`): reuse, unless within the grace period.
    Reused { family_id: String, used_at: i64 },
    /// Unknown, expired, or its family is revoked or over.
    Invalid,
}

/// One entry of the revocation feed.
#[derive(Debug)]
pub(crate) struct FeedEntry {
    pub(crate) seq: i64,
    /// The denied `jti`, the withdrawn `kid`, or the deleted client's id.
    pub(crate) id: String,
    pub(crate) exp: i64,
    pub(crate) revoked_at: i64,
    /// When the entry was written, in Unix milliseconds (the database's clock).
    pub(crate) revoked_ms: i64,
    /// What the entry denies.
    pub(crate) kind: EntryKind,
}

/// What a feed entry denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// One access token, by `jti`.
    Jti,
    /// Everything a withdrawn signing key signed; verifiers fetch the keys again.
    Key,
    /// Every token issued to a client at or before `revoked_at` (deleted, or its secret
    /// rotated).
    Client,
    /// Every token of a user (`sub`) issued at or before `revoked_at` (disabled, password
    /// changed, logged out everywhere).
    Subject,
    /// Every token carrying one SSO session's `sid` (the session ended).
    Session,
}

impl EntryKind {
    /// The name stored in the `kind` column.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Jti => "jti",
            Self::Key => "key",
            Self::Client => "client",
            Self::Subject => "subject",
            Self::Session => "session",
        }
    }

    /// The kind a stored name means; unknown names are read as `jti`.
    pub(crate) fn of(name: &str) -> Self {
        match name {
            "key" => Self::Key,
            "client" => Self::Client,
            "subject" => Self::Subject,
            "session" => Self::Session,
            _ => Self::Jti,
        }
    }
}

/// What happens to a user whose tokens are all revoked at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserChange {
    /// Disabled: their logins are refused from now on.
    Disable,
    /// Deleted.
    Delete,
    /// Given a new password (its PHC hash).
    Password(String),
    /// Nothing else: "log out everywhere".
    LogOut,
}

/// What happens to a client whose tokens are all revoked at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientChange {
    /// Deleted.
    Delete,
    /// Given a new secret (its keyed hash): the old one leaked.
    Secret(Vec<u8>),
}

/// What an access token's revocation entries are looked up by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenIds<'a> {
    pub(crate) jti: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) sub: &'a str,
    pub(crate) sid: Option<&'a str>,
    /// Its `iat`, Unix seconds.
    pub(crate) iat: i64,
}
