//! The SQLite store: one file in the data directory, WAL mode, embedded migrations.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, query};

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
#[derive(Debug)]
pub(crate) struct Successor {
    pub(crate) hash: Vec<u8>,
    pub(crate) expires_at: i64,
    pub(crate) jti: String,
    pub(crate) access_exp: i64,
    /// The key that signs the access token issued beside it.
    pub(crate) kid: String,
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

/// The statement that adds a feed entry. A `jti` is denied once (the first entry stands); a key
/// or client entry replaces an older one for the same id.
fn entry_insert(
    id: &str,
    kind: EntryKind,
    exp: i64,
    now: i64,
) -> sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'_>> {
    let (sql, kind) = match kind {
        EntryKind::Jti => (
            "INSERT OR IGNORE INTO revoked_jti (jti, exp, revoked_at, kind) VALUES (?, ?, ?, ?)",
            "jti",
        ),
        EntryKind::Key => (
            "INSERT OR REPLACE INTO revoked_jti (jti, exp, revoked_at, kind) VALUES (?, ?, ?, ?)",
            "key",
        ),
        EntryKind::Client => (
            "INSERT OR REPLACE INTO revoked_jti (jti, exp, revoked_at, kind) VALUES (?, ?, ?, ?)",
            "client",
        ),
    };
    query(sql).bind(id).bind(exp).bind(now).bind(kind)
}

/// The migrations embedded in the binary.
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    /// SQLite takes one writer at a time and makes the others sleep and retry; writers of this
    /// process queue here instead, in order and without sleeping.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// A unique-key violation as a clear message; any other database error as it is.
fn already(e: sqlx::Error, message: impl FnOnce() -> String) -> anyhow::Error {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => anyhow::anyhow!(message()),
        other => other.into(),
    }
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

impl Store {
    /// The SQLite file a database URL names: `sqlite://PATH` or `sqlite:PATH`. `None` means
    /// `signet.db` in the data directory.
    pub(crate) fn sqlite_path(url: Option<&str>, data_dir: &Path) -> Result<PathBuf> {
        let Some(url) = url else {
            return Ok(data_dir.join("signet.db"));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            anyhow::bail!(
                "PostgreSQL is not supported by this version of signet yet; use sqlite://PATH"
            );
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .filter(|p| !p.is_empty())
            .ok_or_else(|| anyhow::anyhow!("database URL {url:?}: use sqlite://PATH"))?;
        Ok(PathBuf::from(path))
    }

    /// Opens (creating if needed) the SQLite database at `path`; with `migrate`, runs the
    /// embedded migrations first, else refuses a database whose migrations have not all run.
    ///
    /// Two processes starting at once on a fresh database would race to create the file, to
    /// switch it to WAL (which SQLite answers with "database is locked" rather than waiting) and
    /// to create the tables: opening and migrating run under an exclusive lock on a file in the
    /// database's folder, released once the database is ready.
    pub async fn open(path: &Path, migrate: bool) -> Result<Self> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        crate::datadir::prepare(dir, path)?;
        let lock = Self::lock_for_opening(dir).await?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5))
            // Pages read through a memory map rather than a read call each.
            .pragma("mmap_size", "268435456");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open {}", path.display()))?;
        let store = Self {
            pool,
            writer: std::sync::Arc::default(),
        };
        if migrate {
            MIGRATIONS
                .run(&store.pool)
                .await
                .context("cannot migrate the database")?;
        } else {
            store.check_migrated().await?;
        }
        drop(lock);
        Ok(store)
    }

    /// Takes the exclusive lock on `dir/.migrate.lock` (0600), waiting for another process that
    /// holds it; the lock is released when the returned file is dropped.
    async fn lock_for_opening(dir: &Path) -> Result<std::fs::File> {
        let lock_path = dir.join(".migrate.lock");
        tokio::task::spawn_blocking(move || -> Result<std::fs::File> {
            let mut options = std::fs::OpenOptions::new();
            options.create(true).truncate(false).write(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let file = options
                .open(&lock_path)
                .with_context(|| format!("cannot open {}", lock_path.display()))?;
            file.lock()
                .with_context(|| format!("cannot lock {}", lock_path.display()))?;
            Ok(file)
        })
        .await?
    }

    /// Refuses a database on which some embedded migration has not run.
    async fn check_migrated(&self) -> Result<()> {
        let applied: Vec<i64> =
            match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
            {
                Ok(versions) => versions,
                // No migration table: nothing has run.
                Err(sqlx::Error::Database(_)) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
        if MIGRATIONS.iter().any(|m| !applied.contains(&m.version)) {
            anyhow::bail!("the database is not migrated: run `signet migrate` first");
        }
        Ok(())
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    // --- users

    pub(crate) async fn add_user(&self, user: &User, now: i64) -> Result<()> {
        query("INSERT INTO users (id, name, password_hash, roles, claims, disabled, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)")
            .bind(&user.id)
            .bind(&user.name)
            .bind(&user.password_hash)
            .bind(serde_json::to_string(&user.roles)?)
            .bind(serde_json::to_string(&user.claims)?)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| already(e, || format!("user {} already exists", user.name)))?;
        Ok(())
    }

    fn user_from(row: &sqlx::sqlite::SqliteRow) -> User {
        User {
            id: row.get("id"),
            name: row.get("name"),
            password_hash: row.get("password_hash"),
            roles: json_list(row.get::<&str, _>("roles")),
            claims: serde_json::from_str(row.get::<&str, _>("claims")).unwrap_or_default(),
            disabled: row.get::<i64, _>("disabled") != 0,
        }
    }

    /// The user with this login name.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        let row = query("SELECT * FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(Self::user_from))
    }

    pub(crate) async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        let row = query("SELECT * FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(Self::user_from))
    }

    /// All users, by name.
    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = query("SELECT * FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(Self::user_from).collect())
    }

    /// Disables (or deletes) a user and revokes all of their logins. False if there is none.
    pub(crate) async fn remove_user(&self, name: &str, delete: bool, now: i64) -> Result<bool> {
        let Some(user) = self.user_by_name(name).await? else {
            return Ok(false);
        };
        let families: Vec<String> =
            query("SELECT id FROM refresh_families WHERE user_id = ? AND revoked_at IS NULL")
                .bind(&user.id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.get("id"))
                .collect();
        for family in families {
            self.revoke_family(&family, now).await?;
        }
        let sql = if delete {
            "DELETE FROM users WHERE id = ?"
        } else {
            "UPDATE users SET disabled = 1 WHERE id = ?"
        };
        query(sql).bind(&user.id).execute(&self.pool).await?;
        Ok(true)
    }

    // --- clients

    pub(crate) async fn add_client(&self, client: &Client, now: i64) -> Result<()> {
        query("INSERT INTO clients (id, secret_hash, grants, scopes, audiences, introspect, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(&client.id)
            .bind(&client.secret_hash)
            .bind(serde_json::to_string(&client.grants)?)
            .bind(serde_json::to_string(&client.scopes)?)
            .bind(serde_json::to_string(&client.audiences)?)
            .bind(client.introspect)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| already(e, || format!("client {} already exists", client.id)))?;
        Ok(())
    }

    fn client_from(row: &sqlx::sqlite::SqliteRow) -> Client {
        Client {
            id: row.get("id"),
            secret_hash: row.get("secret_hash"),
            grants: json_list(row.get::<&str, _>("grants")),
            scopes: json_list(row.get::<&str, _>("scopes")),
            audiences: json_list(row.get::<&str, _>("audiences")),
            introspect: row.get::<i64, _>("introspect") != 0,
        }
    }

    /// The client with this id.
    pub async fn client(&self, id: &str) -> Result<Option<Client>> {
        let row = query("SELECT * FROM clients WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(Self::client_from))
    }

    /// All clients, by id.
    pub async fn clients(&self) -> Result<Vec<Client>> {
        let rows = query("SELECT * FROM clients ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(Self::client_from).collect())
    }

    /// Replaces a client's scopes. False if there is none.
    pub(crate) async fn set_client_scopes(&self, id: &str, scopes: &[String]) -> Result<bool> {
        Ok(query("UPDATE clients SET scopes = ? WHERE id = ?")
            .bind(serde_json::to_string(scopes)?)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
    }

    /// Denies every token issued to `client_id` at or before `now` (a client cutoff), in the
    /// feed until `until` (when the last such token has expired, plus the retention).
    pub(crate) async fn cut_off_client(&self, client_id: &str, now: i64, until: i64) -> Result<()> {
        self.add_entry(client_id, EntryKind::Client, until, now)
            .await
    }

    /// Adds a feed entry (see [`entry_insert`]).
    async fn add_entry(&self, id: &str, kind: EntryKind, exp: i64, now: i64) -> Result<()> {
        let _writing = self.writer.lock().await;
        entry_insert(id, kind, exp, now).execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes a client and revokes its logins. False if there is none.
    pub(crate) async fn delete_client(&self, id: &str, now: i64) -> Result<bool> {
        let families: Vec<String> =
            query("SELECT id FROM refresh_families WHERE client_id = ? AND revoked_at IS NULL")
                .bind(id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.get("id"))
                .collect();
        for family in families {
            self.revoke_family(&family, now).await?;
        }
        Ok(query("DELETE FROM clients WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
    }

    // --- signing keys

    /// Stores a signing key; with `only_first`, only if no stored key signs yet at its
    /// `active_from` (one statement, so of concurrent first keys exactly one is kept).
    pub(crate) async fn add_key(&self, key: &StoredKey, only_first: bool) -> Result<()> {
        let _writing = self.writer.lock().await;
        query("INSERT INTO signing_keys (kid, alg, sealed, public_jwk, created_at, active_from) SELECT ?, ?, ?, ?, ?, ? \
               WHERE NOT ? OR NOT EXISTS (SELECT 1 FROM signing_keys WHERE active_from <= ?)")
            .bind(&key.kid)
            .bind(&key.alg)
            .bind(&key.sealed)
            .bind(&key.public_jwk)
            .bind(key.created_at)
            .bind(key.active_from)
            .bind(only_first)
            .bind(key.active_from)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn keys(&self) -> Result<Vec<StoredKey>> {
        let rows = query("SELECT * FROM signing_keys ORDER BY active_from")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| StoredKey {
                kid: r.get("kid"),
                alg: r.get("alg"),
                sealed: r.get("sealed"),
                public_jwk: r.get("public_jwk"),
                created_at: r.get("created_at"),
                active_from: r.get("active_from"),
            })
            .collect())
    }

    pub(crate) async fn delete_key(&self, kid: &str) -> Result<()> {
        query("DELETE FROM signing_keys WHERE kid = ?")
            .bind(kid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // --- refresh tokens

    pub(crate) async fn start_family(&self, family: &Family, now: i64) -> Result<()> {
        let _writing = self.writer.lock().await;
        query("INSERT INTO refresh_families (id, user_id, client_id, scope, audience, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(&family.id)
            .bind(&family.user_id)
            .bind(&family.client_id)
            .bind(&family.scope)
            .bind(&family.audience)
            .bind(now)
            .bind(family.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn add_refresh(
        &self,
        hash: &[u8],
        family_id: &str,
        now: i64,
        expires_at: i64,
        access: (&str, i64, &str),
    ) -> Result<()> {
        let _writing = self.writer.lock().await;
        query("INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, access_jti, access_exp, access_kid) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(hash)
            .bind(family_id)
            .bind(now)
            .bind(expires_at)
            .bind(access.0)
            .bind(access.1)
            .bind(access.2)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    fn family_from(row: &sqlx::sqlite::SqliteRow) -> Family {
        Family {
            id: row.get("id"),
            user_id: row.get("user_id"),
            client_id: row.get("client_id"),
            scope: row.get("scope"),
            audience: row.get("audience"),
            expires_at: row.get("expires_at"),
            revoked: row.get::<Option<i64>, _>("revoked_at").is_some(),
        }
    }

    /// Uses a refresh token, in one statement: marks it used (of concurrent uses exactly one
    /// wins) and, for a live family, stores its successor with the `jti` of the access token
    /// about to be issued beside it.
    pub(crate) async fn use_refresh(
        &self,
        hash: &[u8],
        now: i64,
        next: &Successor,
    ) -> Result<RefreshUse> {
        let _writing = self.writer.lock().await;
        // The common case, a live token, is one statement: it claims the token, reads its
        // family, and (by the `refresh_tokens_rotate` trigger) stores the successor. A token that
        // was not claimed is looked at again to tell reuse from junk.
        let claimed = query(
            "UPDATE refresh_tokens SET used_at = ?, next_hash = ?, next_expires_at = ?, next_jti = ?, next_access_exp = ?, next_access_kid = ? \
             WHERE hash = ? AND used_at IS NULL AND expires_at > ? RETURNING \
             family_id AS id, \
             (SELECT user_id FROM refresh_families WHERE id = family_id) AS user_id, \
             (SELECT client_id FROM refresh_families WHERE id = family_id) AS client_id, \
             (SELECT scope FROM refresh_families WHERE id = family_id) AS scope, \
             (SELECT audience FROM refresh_families WHERE id = family_id) AS audience, \
             (SELECT expires_at FROM refresh_families WHERE id = family_id) AS expires_at, \
             (SELECT revoked_at FROM refresh_families WHERE id = family_id) AS revoked_at",
        )
        .bind(now)
        .bind(&next.hash)
        .bind(next.expires_at)
        .bind(&next.jti)
        .bind(next.access_exp)
        .bind(&next.kid)
        .bind(hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let outcome = match claimed {
            Some(row) => {
                let family = Self::family_from(&row);
                if family.revoked || family.expires_at <= now {
                    RefreshUse::Invalid
                } else {
                    RefreshUse::Rotated(family)
                }
            }
            None => {
                let row = query(
                    "SELECT f.*, t.used_at AS token_used FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = ?",
                )
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    Some(row) if row.get::<Option<i64>, _>("token_used").is_some() => {
                        let family = Self::family_from(&row);
                        if family.revoked {
                            RefreshUse::Invalid
                        } else {
                            RefreshUse::Reused {
                                family_id: family.id,
                                used_at: row.get::<Option<i64>, _>("token_used").unwrap_or(0),
                            }
                        }
                    }
                    _ => RefreshUse::Invalid,
                }
            }
        };
        Ok(outcome)
    }

    /// The family of a refresh token, if the token is live (for introspection and revocation).
    pub(crate) async fn refresh_family(
        &self,
        hash: &[u8],
        now: i64,
    ) -> Result<Option<(Family, i64)>> {
        let row = query(
            "SELECT f.*, t.expires_at AS token_exp, t.used_at AS token_used FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = ?",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|r| {
            let family = Self::family_from(&r);
            let exp: i64 = r.get("token_exp");
            let used: Option<i64> = r.get("token_used");
            (used.is_none() && !family.revoked && exp > now && family.expires_at > now)
                .then_some((family, exp.min(r.get("expires_at"))))
        }))
    }

    /// The family a refresh token belongs to, whatever the token's state.
    pub(crate) async fn family_of(&self, hash: &[u8]) -> Result<Option<Family>> {
        let row = query("SELECT f.* FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = ?")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(Self::family_from))
    }

    /// Rotates again a refresh token that was rotated at or after `since`, if its successor is
    /// still unused: the successor is discarded and `next` takes its place, so the family
    /// keeps exactly one live token. `None` when the grace does not apply (the successor was
    /// used, or the family is over), and then nothing changes.
    pub(crate) async fn regrace(
        &self,
        hash: &[u8],
        now: i64,
        since: i64,
        next: &Successor,
    ) -> Result<Option<Family>> {
        let _writing = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        let row = query(
            "SELECT f.*, t.next_hash AS successor FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
             WHERE t.hash = ? AND t.used_at >= ? AND f.revoked_at IS NULL AND f.expires_at > ?",
        )
        .bind(hash)
        .bind(since)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let family = Self::family_from(&row);
        let successor: Option<Vec<u8>> = row.get("successor");
        let discarded = query("DELETE FROM refresh_tokens WHERE hash = ? AND used_at IS NULL")
            .bind(successor)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if discarded != 1 {
            return Ok(None);
        }
        query("UPDATE refresh_tokens SET next_hash = ?, next_expires_at = ?, next_jti = ?, next_access_exp = ?, next_access_kid = ? WHERE hash = ?")
            .bind(&next.hash)
            .bind(next.expires_at)
            .bind(&next.jti)
            .bind(next.access_exp)
            .bind(&next.kid)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        query("INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, access_jti, access_exp, access_kid) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(&next.hash)
            .bind(&family.id)
            .bind(now)
            .bind(next.expires_at.min(family.expires_at))
            .bind(&next.jti)
            .bind(next.access_exp)
            .bind(&next.kid)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(family))
    }

    /// Revokes a family: its refresh tokens stop working and its live access tokens are denied.
    pub(crate) async fn revoke_family(&self, family_id: &str, now: i64) -> Result<()> {
        let _writing = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        query("UPDATE refresh_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(family_id)
            .execute(&mut *tx)
            .await?;
        query("INSERT OR IGNORE INTO revoked_jti (jti, exp, revoked_at) SELECT access_jti, access_exp, ? FROM refresh_tokens WHERE family_id = ? AND access_exp > ?")
            .bind(now)
            .bind(family_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    // --- access tokens

    /// Denies an access token's `jti` until `exp`.
    pub(crate) async fn revoke_jti(&self, jti: &str, exp: i64, now: i64) -> Result<()> {
        self.add_entry(jti, EntryKind::Jti, exp, now).await
    }

    /// Withdraws a signing key at once: it leaves the key table (and so the JWKS; every token
    /// it signed then fails verification), every login whose access tokens it signed is
    /// revoked, and a `key` entry tells verifiers to fetch the keys again. Returns
    /// how many logins were ended, or `None` if there is no such key.
    pub(crate) async fn revoke_key(
        &self,
        kid: &str,
        now: i64,
        entry_until: i64,
    ) -> Result<Option<u64>> {
        let _writing = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        let removed = query("DELETE FROM signing_keys WHERE kid = ?")
            .bind(kid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            return Ok(None);
        }
        query("INSERT OR IGNORE INTO revoked_jti (jti, exp, revoked_at) SELECT t.access_jti, t.access_exp, ? FROM refresh_tokens t \
               JOIN refresh_tokens k ON k.family_id = t.family_id WHERE k.access_kid = ? AND t.access_exp > ?")
            .bind(now)
            .bind(kid)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let ended = query("UPDATE refresh_families SET revoked_at = ? WHERE revoked_at IS NULL AND id IN (SELECT family_id FROM refresh_tokens WHERE access_kid = ?)")
            .bind(now)
            .bind(kid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        entry_insert(kid, EntryKind::Key, entry_until, now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(ended))
    }

    /// A cheap summary of the key table, to notice changes made by another process.
    pub(crate) async fn keys_version(&self) -> Result<String> {
        let row = query("SELECT COUNT(*) AS n, COALESCE(group_concat(kid || ':' || active_from), '') AS v FROM signing_keys")
            .fetch_one(&self.pool)
            .await?;
        Ok(format!(
            "{}/{}",
            row.get::<i64, _>("n"),
            row.get::<String, _>("v")
        ))
    }

    /// Whether an access token is denied: by its `jti`, or by a cutoff of its client covering
    /// its `iat`.
    pub(crate) async fn is_denied(&self, jti: &str, client_id: &str, iat: i64) -> Result<bool> {
        Ok(query(
            "SELECT 1 FROM revoked_jti WHERE (kind = 'jti' AND jti = ?) OR (kind = 'client' AND jti = ? AND revoked_at >= ?)",
        )
        .bind(jti)
        .bind(client_id)
        .bind(iat)
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    /// The newest feed entry's cursor (0 for an empty feed).
    pub(crate) async fn last_revocation(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM revoked_jti")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Feed entries after `cursor` whose `exp` is after `until`, oldest first, at most
    /// `limit`.
    pub(crate) async fn revocations_after(
        &self,
        cursor: i64,
        until: i64,
        limit: i64,
    ) -> Result<Vec<FeedEntry>> {
        let rows = query(
            "SELECT seq, jti, exp, revoked_at, kind FROM revoked_jti WHERE seq > ? AND exp > ? ORDER BY seq LIMIT ?",
        )
        .bind(cursor)
        .bind(until)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| FeedEntry {
                seq: r.get("seq"),
                id: r.get("jti"),
                exp: r.get("exp"),
                revoked_at: r.get("revoked_at"),
                kind: match r.get::<&str, _>("kind") {
                    "key" => EntryKind::Key,
                    "client" => EntryKind::Client,
                    _ => EntryKind::Jti,
                },
            })
            .collect())
    }

    /// Forgets what no longer matters: denials kept `keep` seconds past their tokens' expiry
    /// (the verifiers' leeway), dead refresh tokens.
    pub(crate) async fn prune(&self, now: i64, keep: i64) -> Result<()> {
        let _writing = self.writer.lock().await;
        query("DELETE FROM revoked_jti WHERE exp <= ?")
            .bind(now.saturating_sub(keep))
            .execute(&self.pool)
            .await?;
        query("DELETE FROM refresh_tokens WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        query("DELETE FROM refresh_families WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
