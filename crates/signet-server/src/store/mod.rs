//! The issuer's state behind traits in domain terms, with two backends: SQLite (one file, the
//! default) and PostgreSQL (several instances sharing one database). Nothing of SQL crosses
//! these traits: they take and return the domain types of [`types`] and fail with a
//! [`StoreError`]. Every method that changes more than one row does so in one transaction.
//! The contract each method states is checked against both backends by the same
//! conformance tests (`tests/server/store.rs` drives them through the issuer; the unit tests in
//! this module drive them directly).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

mod batch;
mod postgres;
mod rows;
mod sql;
mod sqlite;
pub(crate) mod ssf;
mod types;

pub(crate) use types::{
    AuthCode, ClientChange, CodeIssue, CodeUse, EndedSession, EntryKind, Family, FeedEntry,
    IssuedAccess, KeyAddition, RefreshUse, SsoSession, StoredKey, Successor, TokenIds, UserChange,
};
pub use types::{Client, OidcRegistration, Profile, User};

/// Why the store could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// What was to be added exists already (a user name, a client id).
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached or is overloaded; the request may be retried.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Anything else (a broken row, a failed statement).
    #[error("database error: {0}")]
    Other(String),
}

impl StoreError {
    /// A unique-key violation as [`StoreError::Conflict`] with `message`; else as it is.
    pub(crate) fn conflict(e: sqlx::Error, message: impl FnOnce() -> String) -> Self {
        match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => Self::Conflict(message()),
            other => other.into(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(e.to_string()),
            other => Self::Other(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::Other(e.to_string())
    }
}

/// Result of a store method.
pub(crate) type StoreResult<T> = Result<T, StoreError>;

/// Users and their logins.
#[async_trait]
pub(crate) trait UserStore {
    /// Adds a user; [`StoreError::Conflict`] if the name is taken.
    async fn add_user(&self, user: &User, now: i64) -> StoreResult<()>;
    /// The user with this login name.
    async fn user_by_name(&self, name: &str) -> StoreResult<Option<User>>;
    /// The user with this id (`sub`).
    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>>;
    /// All users, by name.
    async fn users(&self) -> StoreResult<Vec<User>>;
    /// Replaces a user's profile claims. False if there is no such user.
    async fn set_profile(&self, name: &str, profile: &Profile) -> StoreResult<bool>;
    /// Changes a user as `change` says, revokes every login of theirs, and publishes a subject
    /// cutoff (every token of theirs issued at or before `now`, kept in the feed until
    /// `until`), in one transaction. Returns the user's id; `None` if there is no such user
    /// (and then nothing changes).
    async fn cut_off_user(
        &self,
        name: &str,
        change: &UserChange,
        now: i64,
        until: i64,
    ) -> StoreResult<Option<String>>;
}

/// Clients.
#[async_trait]
pub(crate) trait ClientStore {
    /// Adds a client; [`StoreError::Conflict`] if the id is taken.
    async fn add_client(&self, client: &Client, now: i64) -> StoreResult<()>;
    /// The client with this id.
    async fn client(&self, id: &str) -> StoreResult<Option<Client>>;
    /// All clients, by id.
    async fn clients(&self) -> StoreResult<Vec<Client>>;
    /// Replaces a client's scopes. False if there is no such client.
    async fn set_client_scopes(&self, id: &str, scopes: &[String]) -> StoreResult<bool>;
    /// Deletes a client or replaces a confidential client's secret, as `change` says, revokes
    /// its logins, and publishes a client cutoff (every token issued to it at or before `now`,
    /// kept in the feed until `cutoff_until`), in one transaction. False if there is no such
    /// client (for a new secret: no such confidential client), and then nothing changes.
    async fn cut_off_client(
        &self,
        id: &str,
        change: &ClientChange,
        now: i64,
        cutoff_until: i64,
    ) -> StoreResult<bool>;
}

/// Signing keys (sealed private parts, public JWKs).
#[async_trait]
pub(crate) trait KeyStore {
    /// Stores a signing key when `when` allows, atomically: of instances adding a first key,
    /// or making the same scheduled rotation, at once, exactly one key is kept. Returns
    /// whether this one was.
    async fn add_key(&self, key: &StoredKey, when: KeyAddition) -> StoreResult<bool>;
    /// Every stored key, by `active_from`.
    async fn keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// Removes a key (retired past its last token).
    async fn delete_key(&self, kid: &str) -> StoreResult<()>;
    /// Withdraws a key at once, in one transaction: it leaves the key table, every login whose
    /// access tokens it signed is revoked (their recorded access tokens denied), and a `key`
    /// feed entry, kept until `entry_until`, tells verifiers. Returns how many logins ended,
    /// or `None` if there is no such key.
    async fn revoke_key(&self, kid: &str, now: i64, entry_until: i64) -> StoreResult<Option<u64>>;
    /// A cheap summary of the key table that changes whenever a key is added or removed, by
    /// any process sharing the store.
    async fn keys_version(&self) -> StoreResult<String>;
}

/// Refresh-token families (one login each) and their tokens, stored as hashes.
#[async_trait]
pub(crate) trait RefreshStore {
    /// Starts a login with its first refresh token, in one transaction.
    async fn start_family(
        &self,
        family: &Family,
        first: &[u8],
        token_expires_at: i64,
        access: IssuedAccess<'_>,
        now: i64,
    ) -> StoreResult<()>;
    /// Uses a refresh token of a login of `client_id`. **Exactly one winner**: of any number of
    /// concurrent uses of one token, from any number of processes sharing the store, exactly
    /// one returns [`RefreshUse::Rotated`]; in the same transaction the token is marked used and
    /// `next` stored as the family's one live token. Every other use returns
    /// [`RefreshUse::Reused`] (with when it was used) or [`RefreshUse::Invalid`] (unknown,
    /// expired, family over or revoked, or a login of another client), and changes nothing.
    async fn use_refresh(
        &self,
        hash: &[u8],
        client_id: &str,
        now: i64,
        next: &Successor,
    ) -> StoreResult<RefreshUse>;
    /// The family of a live refresh token and the token's expiry (for introspection).
    async fn refresh_family(&self, hash: &[u8], now: i64) -> StoreResult<Option<(Family, i64)>>;
    /// The family a refresh token belongs to, whatever the token's state.
    async fn family_of(&self, hash: &[u8]) -> StoreResult<Option<Family>>;
    /// The grace rule, in one transaction: a token rotated at or after `since` whose successor
    /// is still unused is rotated again: the successor is discarded and `next` takes its place,
    /// so the family keeps exactly one live token. `None` (nothing changed) when the successor
    /// was used or the family is over.
    async fn regrace(
        &self,
        hash: &[u8],
        now: i64,
        since: i64,
        next: &Successor,
    ) -> StoreResult<Option<Family>>;
    /// Revokes a family, in one transaction: its refresh tokens stop working and its live
    /// access tokens are denied in the feed.
    async fn revoke_family(&self, family_id: &str, now: i64) -> StoreResult<()>;
}

/// The revocation feed. **Gap-free**: entries become visible in cursor order, so a follower
/// reading after its cursor never skips one that commits later with a lower cursor.
#[async_trait]
pub(crate) trait RevocationStore {
    /// Denies an access token's `jti` until `exp` (the first denial stands).
    async fn revoke_jti(&self, jti: &str, exp: i64, now: i64) -> StoreResult<()>;
    /// Whether an access token is denied: by its `jti`, by its session, or by a cutoff of its
    /// client or its subject at or after its `iat`.
    async fn is_denied(&self, token: &TokenIds<'_>) -> StoreResult<bool>;
    /// The newest entry's cursor (0 for an empty feed).
    async fn last_revocation(&self) -> StoreResult<i64>;
    /// Entries after `cursor` whose `exp` is after `until`, oldest first, at most `limit`.
    async fn revocations_after(
        &self,
        cursor: i64,
        until: i64,
        limit: i64,
    ) -> StoreResult<Vec<FeedEntry>>;
}

/// A change made by a process sharing the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Entries were added to the revocation feed.
    Feed,
    /// Signing keys, clients or users changed.
    Config,
}

/// Called with each change another process (or this one) makes.
pub(crate) type OnChange = Arc<dyn Fn(Change) + Send + Sync>;

/// Single sign-on: browser sessions at the issuer and the authorization codes issued in them.
#[async_trait]
pub(crate) trait SsoStore {
    /// Starts an SSO session whose cookie value hashes to `cookie_hash`.
    async fn start_session(
        &self,
        session: &SsoSession,
        cookie_hash: &[u8],
        now: i64,
    ) -> StoreResult<()>;
    /// The live (not ended, not expired) session whose cookie value hashes to `cookie_hash`.
    async fn session_by_cookie(
        &self,
        cookie_hash: &[u8],
        now: i64,
    ) -> StoreResult<Option<SsoSession>>;
    /// The scope `user_id` agreed to give `client_id`, if they did.
    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>>;
    /// Records that `user_id` agrees to give `client_id` `scope` (replacing what they agreed
    /// to before).
    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<()>;
    /// Ends a live SSO session, in one transaction: the session ends, every login (refresh
    /// family) begun in it is revoked, and the access tokens issued in it are denied in the
    /// feed, one by one and by a session entry kept until `until`. Returns the session's user
    /// and the clients it logged into with their back-channel logout URIs, or `None` if there
    /// is no such live session.
    async fn end_session(
        &self,
        session_id: &str,
        now: i64,
        until: i64,
    ) -> StoreResult<Option<EndedSession>>;
    /// Presents the code whose value hashes to `hash` and holds `code` (sealed in it: the store
    /// first hears of a code when it is used). **Single use**: of any number of uses of one
    /// code, exactly one (the first, while the code and its SSO session are live) returns
    /// [`CodeUse::Redeemed`], and in one transaction stores the code with `issue` as what it
    /// issues and records that the session logged into the code's client; every later one
    /// returns [`CodeUse::Replayed`] with what the first recorded.
    async fn redeem_code(
        &self,
        hash: &[u8],
        code: &AuthCode,
        now: i64,
        issue: &CodeIssue,
    ) -> StoreResult<CodeUse>;
}

/// Everything the issuer keeps.
#[async_trait]
pub(crate) trait Store:
    UserStore
    + ClientStore
    + KeyStore
    + RefreshStore
    + RevocationStore
    + SsoStore
    + ssf::SsfStore
    + std::fmt::Debug
    + Send
    + Sync
{
    /// Calls `on_change` for every change any process sharing the store makes, from a task
    /// on the current runtime, and returns `true`; a backend that cannot push changes returns
    /// `false`, and the caller's polling (once a second) is all there is.
    async fn watch(&self, on_change: OnChange) -> StoreResult<bool>;
    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Forgets what no longer matters: feed entries `keep` seconds past their `exp` (the
    /// verifiers' leeway), dead refresh tokens and families, SSO sessions that ended or expired,
    /// and codes ten minutes past their expiry (until then a replay is still recognised).
    async fn prune(&self, now: i64, keep: i64) -> StoreResult<()>;
}

/// The store, shared by every handler.
pub(crate) type SharedStore = Arc<dyn Store>;

/// Where the state lives, from a database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database (the URL as given).
    Postgres(String),
}

impl Location {
    /// `sqlite://PATH`, `sqlite:PATH` or `postgres://...`; `None` is `signet.db` in the data
    /// directory.
    pub(crate) fn of(url: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        let Some(url) = url else {
            return Ok(Self::Sqlite(data_dir.join("signet.db")));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!("database URL {url:?}: use sqlite://PATH or postgres://...")
            })?;
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

/// Opens the store at `location`; with `migrate`, runs its embedded migrations first (under a
/// lock, so that several processes may start at once), else refuses a database whose
/// migrations have not all run.
pub(crate) async fn open(location: &Location, migrate: bool) -> anyhow::Result<SharedStore> {
    Ok(match location {
        Location::Sqlite(path) => Arc::new(sqlite::SqliteStore::open(path, migrate).await?),
        Location::Postgres(url) => Arc::new(postgres::PgStore::open(url, migrate).await?),
    })
}

/// Refuses a database on which some of `migrator`'s migrations have not run.
pub(crate) fn check_migrated(
    migrator: &sqlx::migrate::Migrator,
    applied: &[i64],
) -> anyhow::Result<()> {
    if migrator.iter().any(|m| !applied.contains(&m.version)) {
        anyhow::bail!("the database is not migrated: run `signet migrate` first");
    }
    Ok(())
}

/// An ended session's user and clients, from the clients' `(id, oidc)` rows.
fn ended(user_id: String, clients: Vec<(String, String)>) -> StoreResult<EndedSession> {
    let clients = clients
        .into_iter()
        .map(|(id, oidc)| {
            let oidc: OidcRegistration = serde_json::from_str(&oidc)?;
            Ok((id, oidc.backchannel_logout_uri))
        })
        .collect::<StoreResult<_>>()?;
    Ok(EndedSession { user_id, clients })
}

/// How long past its expiry a code is kept, so that a late replay still revokes what it gave.
const CODE_MEMORY: i64 = 600;

/// What presenting a code found, from the row the claim returned (`claimed`) or, when nothing
/// was claimed, the row as it stands (`found`).
fn code_use(claimed: Option<rows::CodeRow>, found: Option<rows::CodeRow>) -> StoreResult<CodeUse> {
    if let Some(row) = claimed {
        return Ok(CodeUse::Redeemed(row.into()));
    }
    Ok(match found {
        Some(row) if row.used_at.is_some() => CodeUse::Replayed(row.issue()?),
        _ => CodeUse::Invalid,
    })
}

/// What a token of `client_id` that could not be claimed means: reuse if it was used before and
/// its family stands, else nothing.
fn not_claimed(row: Option<rows::TokenRow>, client_id: &str) -> RefreshUse {
    match row {
        Some(row)
            if row.token_used.is_some()
                && row.family.revoked_at.is_none()
                && row.family.client_id == client_id =>
        {
            RefreshUse::Reused {
                used_at: row.token_used.unwrap_or(0),
                family_id: Family::from(row.family).id,
            }
        }
        _ => RefreshUse::Invalid,
    }
}

/// A token's family and the token's expiry (the earlier of the token's and the family's), if
/// the token is live.
fn live(row: Option<rows::TokenRow>, now: i64) -> Option<(Family, i64)> {
    let row = row?;
    let (exp, used) = (row.token_exp, row.token_used);
    let family = Family::from(row.family);
    (used.is_none() && !family.revoked && exp > now && family.expires_at > now)
        .then(|| (exp.min(family.expires_at), family))
        .map(|(exp, family)| (family, exp))
}

#[cfg(test)]
mod conformance;
