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
    /// Every token issued to a deleted client at or before `revoked_at`.
    Client,
}

impl EntryKind {
    /// The name stored in the `kind` column.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Jti => "jti",
            Self::Key => "key",
            Self::Client => "client",
        }
    }

    /// The kind a stored name means; unknown names are read as `jti`.
    pub(crate) fn of(name: &str) -> Self {
        match name {
            "key" => Self::Key,
            "client" => Self::Client,
            _ => Self::Jti,
        }
    }
}
