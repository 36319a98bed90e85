//! Rows as both backends return them, read by name, and turned into domain types here once:
//! the SQLite and PostgreSQL stores share every mapping.

use super::StoreError;
use super::types::{
    AuthCode, Client, CodeIssue, EntryKind, Family, FeedEntry, SsoSession, StoredKey, User,
};

/// The selection of a refresh token with its family, for [`TokenRow`] (`$1`: the token's hash).
pub(super) const TOKEN_WITH_FAMILY: &str = "SELECT f.*, t.expires_at AS token_exp, t.used_at AS token_used, t.next_hash AS successor \
     FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = $1";

/// The columns of a code stored at its first use, in the order [`bind_code`] binds them
/// (`used_at` is the 11th).
pub(super) const CODE_COLUMNS: &str = "hash, client_id, redirect_uri, code_challenge, nonce, scope, session_id, user_id, auth_time, expires_at, \
     used_at, family_id, access_jti, access_exp";

/// Binds the [`CODE_COLUMNS`] of a code used at `now` (the same for both backends).
pub(super) fn bind_code<'q, DB>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    hash: &'q [u8],
    code: &'q super::AuthCode,
    now: i64,
    issue: &'q CodeIssue,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    query
        .bind(hash)
        .bind(code.client_id.as_str())
        .bind(code.redirect_uri.as_str())
        .bind(code.code_challenge.as_str())
        .bind(code.nonce.as_deref())
        .bind(code.scope.as_str())
        .bind(code.session_id.as_str())
        .bind(code.user_id.as_str())
        .bind(code.auth_time)
        .bind(code.expires_at)
        .bind(now)
        .bind(issue.family_id.as_deref())
        .bind(issue.access_jti.as_str())
        .bind(issue.access_exp)
}

/// A JSON column, read strictly: a row that does not parse is a broken row, never "no roles"
/// or "no claims".
fn json<T: serde::de::DeserializeOwned>(
    table: &str,
    column: &str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Other(format!("a {table} row has a corrupt {column} column: {e}")))
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: String,
    name: String,
    password_hash: String,
    roles: String,
    claims: String,
    disabled: bool,
    profile: String,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(Self {
            roles: json("users", "roles", &r.roles)?,
            claims: json("users", "claims", &r.claims)?,
            profile: json("users", "profile", &r.profile)?,
            id: r.id,
            name: r.name,
            password_hash: r.password_hash,
            disabled: r.disabled,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ClientRow {
    id: String,
    secret_hash: Option<Vec<u8>>,
    grants: String,
    scopes: String,
    audiences: String,
    introspect: bool,
    oidc: String,
    roles: String,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;

    fn try_from(r: ClientRow) -> Result<Self, StoreError> {
        Ok(Self {
            grants: json("clients", "grants", &r.grants)?,
            scopes: json("clients", "scopes", &r.scopes)?,
            audiences: json("clients", "audiences", &r.audiences)?,
            oidc: json("clients", "oidc", &r.oidc)?,
            roles: json("clients", "roles", &r.roles)?,
            id: r.id,
            secret_hash: r.secret_hash,
            introspect: r.introspect,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct KeyRow {
    kid: String,
    alg: String,
    sealed: Vec<u8>,
    public_jwk: String,
    created_at: i64,
    active_from: i64,
}

impl From<KeyRow> for StoredKey {
    fn from(r: KeyRow) -> Self {
        Self {
            kid: r.kid,
            alg: r.alg,
            sealed: r.sealed,
            public_jwk: r.public_jwk,
            created_at: r.created_at,
            active_from: r.active_from,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct FamilyRow {
    id: String,
    user_id: Option<String>,
    pub(super) client_id: String,
    scope: String,
    audience: String,
    expires_at: i64,
    pub(super) revoked_at: Option<i64>,
    session_id: Option<String>,
}

impl From<FamilyRow> for Family {
    fn from(r: FamilyRow) -> Self {
        Self {
            id: r.id,
            user_id: r.user_id,
            client_id: r.client_id,
            scope: r.scope,
            audience: r.audience,
            expires_at: r.expires_at,
            revoked: r.revoked_at.is_some(),
            session_id: r.session_id,
        }
    }
}

/// A family with the state of one of its refresh tokens.
#[derive(sqlx::FromRow)]
pub(super) struct TokenRow {
    #[sqlx(flatten)]
    pub(super) family: FamilyRow,
    pub(super) token_exp: i64,
    pub(super) token_used: Option<i64>,
    pub(super) successor: Option<Vec<u8>>,
}

#[derive(sqlx::FromRow)]
pub(super) struct FeedRow {
    seq: i64,
    jti: String,
    exp: i64,
    revoked_at: i64,
    revoked_ms: i64,
    kind: String,
}

impl From<FeedRow> for FeedEntry {
    fn from(r: FeedRow) -> Self {
        Self {
            seq: r.seq,
            id: r.jti,
            exp: r.exp,
            revoked_at: r.revoked_at,
            revoked_ms: r.revoked_ms,
            kind: EntryKind::of(&r.kind),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SessionRow {
    id: String,
    user_id: String,
    auth_time: i64,
    expires_at: i64,
}

impl From<SessionRow> for SsoSession {
    fn from(r: SessionRow) -> Self {
        Self {
            id: r.id,
            user_id: r.user_id,
            auth_time: r.auth_time,
            expires_at: r.expires_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct CodeRow {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: Option<String>,
    scope: String,
    session_id: String,
    user_id: String,
    auth_time: i64,
    expires_at: i64,
    pub(super) used_at: Option<i64>,
    family_id: Option<String>,
    access_jti: Option<String>,
    access_exp: Option<i64>,
}

impl CodeRow {
    /// What the code's first use recorded (a used code without the access token it gave is a
    /// broken row).
    pub(super) fn issue(self) -> Result<CodeIssue, StoreError> {
        match (self.access_jti, self.access_exp) {
            (Some(access_jti), Some(access_exp)) => Ok(CodeIssue {
                family_id: self.family_id,
                access_jti,
                access_exp,
            }),
            _ => Err(StoreError::Other(
                "a used authorization code row lacks the access token it issued".into(),
            )),
        }
    }
}

impl From<CodeRow> for AuthCode {
    fn from(r: CodeRow) -> Self {
        Self {
            client_id: r.client_id,
            redirect_uri: r.redirect_uri,
            code_challenge: r.code_challenge,
            nonce: r.nonce,
            scope: r.scope,
            session_id: r.session_id,
            user_id: r.user_id,
            auth_time: r.auth_time,
            expires_at: r.expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_roles_column_is_an_error_not_a_user_without_roles() {
        let row = |roles: &str| UserRow {
            id: "u1".into(),
            name: "alice".into(),
            password_hash: "$argon2id$x".into(),
            roles: roles.into(),
            claims: "{}".into(),
            disabled: false,
            profile: "{}".into(),
        };
        assert_eq!(User::try_from(row("[\"admin\"]")).unwrap().roles, ["admin"]);
        let err = User::try_from(row("[\"adm")).unwrap_err();
        assert!(err.to_string().contains("corrupt roles column"), "{err}");
    }

    #[test]
    fn a_used_code_row_without_its_access_token_is_an_error_not_a_revocation_of_nothing() {
        let row = |access_jti: Option<&str>| CodeRow {
            client_id: "web".into(),
            redirect_uri: "https://app.example/cb".into(),
            code_challenge: "c".into(),
            nonce: None,
            scope: "openid".into(),
            session_id: "s1".into(),
            user_id: "u1".into(),
            auth_time: 1,
            expires_at: 61,
            used_at: Some(2),
            family_id: None,
            access_jti: access_jti.map(str::to_owned),
            access_exp: Some(600),
        };
        assert_eq!(row(Some("j1")).issue().unwrap().access_jti, "j1");
        let err = row(None).issue().unwrap_err();
        assert!(err.to_string().contains("lacks the access token"), "{err}");
    }
}
