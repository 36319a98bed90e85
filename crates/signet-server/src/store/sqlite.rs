//! The SQLite store: one file in the data directory, WAL mode, embedded migrations. SQLite
//! takes one writer at a time, so rotation's one winner and the feed's order follow from
//! that: writers of this process queue on a mutex instead of sleeping in SQLite's busy loop.
//! Every commit is durable (`synchronous = FULL`: the WAL is synced before a commit returns);
//! refresh rotations, new authorization codes and code redemptions are committed in groups
//! (see [`super::batch`]) so that one sync serves many.

use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{FromRow, Row, query, query_as, query_scalar};

use super::batch::{self, Batch, Claim, Claimed, CommitAll, Keyed, NewCode, Redemption};
use super::rows::{
    CODE_COLUMNS, ClientRow, CodeRow, FamilyRow, FeedRow, KeyRow, SessionRow, TokenRow, UserRow,
    bind_code,
};
use super::{
    AuthCode, Client, ClientChange, ClientStore, CodeIssue, CodeUse, EndedSession, EntryKind,
    Family, FeedEntry, IssuedAccess, KeyAddition, KeyStore, Profile, RefreshStore, RefreshUse,
    RevocationStore, SsoSession, SsoStore, Store, StoreError, StoreResult, StoredKey, Successor,
    TokenIds, User, UserChange, UserStore,
};

/// The migrations embedded in the binary.
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The statement that adds a feed entry. A `jti` is denied once (the first entry stands); an
/// entry of another kind replaces an older one of its kind and id (and so takes a new cursor).
fn entry_insert(
    id: &str,
    kind: EntryKind,
    exp: i64,
    now: i64,
) -> sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'_>> {
    let sql = match kind {
        EntryKind::Jti => {
            "INSERT OR IGNORE INTO revoked_jti (jti, exp, revoked_at, kind) VALUES (?, ?, ?, ?)"
        }
        EntryKind::Key | EntryKind::Client | EntryKind::Subject | EntryKind::Session => {
            "INSERT OR REPLACE INTO revoked_jti (jti, exp, revoked_at, kind) VALUES (?, ?, ?, ?)"
        }
    };
    query(sql).bind(id).bind(exp).bind(now).bind(kind.name())
}

/// Denies the live access tokens of one family (`WHERE family_id = ?`).
const DENY_FAMILY_ACCESS: &str = "INSERT OR IGNORE INTO revoked_jti (jti, exp, revoked_at) SELECT access_jti, access_exp, ? FROM refresh_tokens WHERE family_id = ? AND access_exp > ?";

/// The SQLite database.
#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    /// SQLite takes one writer at a time and makes the others sleep and retry; writers of this
    /// process queue here instead, in order and without sleeping.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Writes of the hot paths (refresh claims, new codes, code redemptions) waiting for the
    /// next group commit.
    writes: Batch<Writer>,
}

/// One write of a hot path, committed with the others waiting.
#[derive(Debug)]
enum Write {
    Claim(Claim),
    Code(NewCode),
    Redeem(Redemption),
}

/// What a [`Write`] answers.
enum Written {
    Claim(Claimed),
    Code,
    Redeem(Option<CodeRow>),
}

impl Keyed for Write {
    fn key(&self) -> &[u8] {
        match self {
            Self::Claim(c) => c.key(),
            Self::Code(c) => c.key(),
            Self::Redeem(r) => r.key(),
        }
    }
}

/// The group commit of this process: the writes waiting, one statement for each kind among
/// them, in one transaction (so one sync of the WAL) under the process's writer lock.
struct Writer {
    pool: SqlitePool,
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

#[async_trait]
impl CommitAll for Writer {
    type Item = Write;
    type Out = Written;

    async fn commit_all(&self, writes: &[Write]) -> StoreResult<Vec<Written>> {
        let mut claims = Vec::new();
        let mut codes = Vec::new();
        let mut uses = Vec::new();
        for w in writes {
            match w {
                Write::Claim(c) => claims.push(c),
                Write::Code(c) => codes.push(c),
                Write::Redeem(r) => uses.push(r),
            }
        }
        let kinds = [claims.is_empty(), codes.is_empty(), uses.is_empty()]
            .iter()
            .filter(|empty| !**empty)
            .count();
        let _writing = self.writer.lock().await;
        let mut conn = self.pool.acquire().await?;
        // One kind is one statement, its own transaction; several share one.
        let (claimed, redeemed) = if kinds > 1 {
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let done = write_all(&mut tx, &claims, &codes, &uses).await?;
            tx.commit().await?;
            done
        } else {
            write_all(&mut conn, &claims, &codes, &uses).await?
        };
        let mut claimed = batch::in_order(&claims, claimed).into_iter();
        let mut redeemed = batch::in_order(&uses, redeemed).into_iter();
        Ok(writes
            .iter()
            .map(|w| match w {
                Write::Claim(_) => Written::Claim(claimed.next().flatten()),
                Write::Code(_) => Written::Code,
                Write::Redeem(_) => Written::Redeem(redeemed.next().flatten()),
            })
            .collect())
    }
}

/// The statements of one group commit, on `conn`: the claimed tokens and the redeemed codes.
async fn write_all(
    conn: &mut SqliteConnection,
    claims: &[&Claim],
    codes: &[&NewCode],
    uses: &[&Redemption],
) -> StoreResult<(Vec<(Vec<u8>, FamilyRow)>, Vec<(Vec<u8>, CodeRow)>)> {
    let claimed = if claims.is_empty() {
        Vec::new()
    } else {
        claim_all(conn, claims).await?
    };
    if !codes.is_empty() {
        insert_codes(conn, codes).await?;
    }
    let redeemed = if uses.is_empty() {
        Vec::new()
    } else {
        redeem_all(conn, uses).await?
    };
    Ok((claimed, redeemed))
}

/// `n` rows of `width` parameters for a `VALUES` list.
fn value_rows(n: usize, width: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(", "));
    vec![row; n].join(", ")
}

/// Many claims as one `UPDATE ... FROM (VALUES ...)`, whose trigger stores each winner's
/// successor: the hash and family of each token claimed.
async fn claim_all(
    conn: &mut SqliteConnection,
    claims: &[&Claim],
) -> StoreResult<Vec<(Vec<u8>, FamilyRow)>> {
    let sql = format!(
        "UPDATE refresh_tokens SET used_at = c.column2, next_hash = c.column3, next_expires_at = c.column4, \
         next_jti = c.column5, next_access_exp = c.column6, next_access_kid = c.column7 \
         FROM (VALUES {}) AS c \
         WHERE refresh_tokens.hash = c.column1 AND refresh_tokens.used_at IS NULL AND refresh_tokens.expires_at > c.column2 \
         AND EXISTS (SELECT 1 FROM refresh_families f WHERE f.id = refresh_tokens.family_id AND f.client_id = c.column8 \
         AND f.revoked_at IS NULL AND f.expires_at > c.column2) \
         RETURNING hash AS claimed_hash, family_id AS id, \
         (SELECT user_id FROM refresh_families WHERE id = family_id) AS user_id, \
         (SELECT client_id FROM refresh_families WHERE id = family_id) AS client_id, \
         (SELECT scope FROM refresh_families WHERE id = family_id) AS scope, \
         (SELECT audience FROM refresh_families WHERE id = family_id) AS audience, \
         (SELECT expires_at FROM refresh_families WHERE id = family_id) AS expires_at, \
         (SELECT revoked_at FROM refresh_families WHERE id = family_id) AS revoked_at, \
         (SELECT session_id FROM refresh_families WHERE id = family_id) AS session_id",
        value_rows(claims.len(), 8)
    );
    let mut statement = query(&sql);
    for c in claims {
        statement = statement
            .bind(&c.hash)
            .bind(c.now)
            .bind(&c.next.hash)
            .bind(c.next.expires_at)
            .bind(&c.next.jti)
            .bind(c.next.access_exp)
            .bind(&c.next.kid)
            .bind(&c.client_id);
    }
    let rows = statement.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("claimed_hash")?, FamilyRow::from_row(row)?)))
        .collect()
}

/// Many codes as one `INSERT`, whose trigger records each code's client in its SSO session.
async fn insert_codes(conn: &mut SqliteConnection, codes: &[&NewCode]) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO auth_codes ({CODE_COLUMNS}) VALUES {}",
        value_rows(codes.len(), 10)
    );
    let mut statement = query(&sql);
    for NewCode { hash, code } in codes {
        statement = bind_code(statement, hash, code);
    }
    statement.execute(&mut *conn).await?;
    Ok(())
}

/// Many redemptions as one `UPDATE ... FROM (VALUES ...)`: a live, unused code of a live SSO
/// session is marked used with what its use issues. The hash and row of each code redeemed.
async fn redeem_all(
    conn: &mut SqliteConnection,
    uses: &[&Redemption],
) -> StoreResult<Vec<(Vec<u8>, CodeRow)>> {
    let sql = format!(
        "UPDATE auth_codes SET used_at = c.column2, family_id = c.column3, access_jti = c.column4, access_exp = c.column5 \
         FROM (VALUES {}) AS c \
         WHERE auth_codes.hash = c.column1 AND auth_codes.used_at IS NULL AND auth_codes.expires_at > c.column2 \
         AND EXISTS (SELECT 1 FROM sso_sessions s WHERE s.id = auth_codes.session_id \
         AND s.ended_at IS NULL AND s.expires_at > c.column2) RETURNING *",
        value_rows(uses.len(), 5)
    );
    let mut statement = query(&sql);
    for u in uses {
        statement = statement
            .bind(&u.hash)
            .bind(u.now)
            .bind(&u.issue.family_id)
            .bind(&u.issue.access_jti)
            .bind(u.issue.access_exp);
    }
    let rows = statement.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("hash")?, CodeRow::from_row(row)?)))
        .collect()
}

/// A write's answer of an unexpected kind (a bug, answered as a failure of the store).
fn wrong_answer() -> StoreError {
    StoreError::Unavailable("the group commit answered a write of another kind".into())
}

impl SqliteStore {
    /// Opens (creating if needed) the SQLite database at `path`; with `migrate`, runs the
    /// embedded migrations first, else refuses a database whose migrations have not all run.
    ///
    /// Two processes starting at once on a fresh database would race to create the file, to
    /// switch it to WAL (which SQLite answers with "database is locked" rather than waiting) and
    /// to create the tables: opening and migrating run under an exclusive lock on a file in the
    /// database's folder, released once the database is ready.
    pub(crate) async fn open(path: &Path, migrate: bool) -> anyhow::Result<Self> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        crate::datadir::prepare(dir, path)?;
        let lock = Self::lock_for_opening(dir).await?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5))
            // Pages read through a memory map rather than a read call each.
            .pragma("mmap_size", "268435456");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open {}", path.display()))?;
        let writer = std::sync::Arc::default();
        let store = Self {
            writes: Batch::start(
                Writer {
                    pool: pool.clone(),
                    writer: std::sync::Arc::clone(&writer),
                },
                1,
            ),
            pool,
            writer,
        };
        if migrate {
            MIGRATIONS
                .run(&store.pool)
                .await
                .context("cannot migrate the database")?;
        } else {
            let applied: Vec<i64> =
                query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                    .fetch_all(&store.pool)
                    .await
                    // No migration table: nothing has run.
                    .unwrap_or_default();
            super::check_migrated(&MIGRATIONS, &applied)?;
        }
        drop(lock);
        Ok(store)
    }

    /// Takes the exclusive lock on `dir/.migrate.lock` (0600), waiting for another process that
    /// holds it; the lock is released when the returned file is dropped.
    async fn lock_for_opening(dir: &Path) -> anyhow::Result<std::fs::File> {
        let lock_path = dir.join(".migrate.lock");
        tokio::task::spawn_blocking(move || -> anyhow::Result<std::fs::File> {
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

    /// Revokes the live families of one user or client (`column` names which), inside `tx`.
    async fn revoke_families_of(
        tx: &mut sqlx::SqliteConnection,
        column: &str,
        id: &str,
        now: i64,
    ) -> StoreResult<()> {
        let families: Vec<String> = query_scalar(&format!(
            "SELECT id FROM refresh_families WHERE {column} = ? AND revoked_at IS NULL"
        ))
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        for family in families {
            Self::revoke_family_in(tx, &family, now).await?;
        }
        Ok(())
    }

    async fn revoke_family_in(
        tx: &mut sqlx::SqliteConnection,
        family_id: &str,
        now: i64,
    ) -> StoreResult<()> {
        query("UPDATE refresh_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(family_id)
            .execute(&mut *tx)
            .await?;
        query(DENY_FAMILY_ACCESS)
            .bind(now)
            .bind(family_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn add_user(&self, user: &User, now: i64) -> StoreResult<()> {
        let _writing = self.writer.lock().await;
        query("INSERT INTO users (id, name, password_hash, roles, claims, created_at, profile) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(&user.id)
            .bind(&user.name)
            .bind(&user.password_hash)
            .bind(serde_json::to_string(&user.roles)?)
            .bind(serde_json::to_string(&user.claims)?)
            .bind(now)
            .bind(serde_json::to_string(&user.profile)?)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::conflict(e, || format!("user {} already exists", user.name)))?;
        Ok(())
    }

    async fn set_profile(&self, name: &str, profile: &Profile) -> StoreResult<bool> {
        let _writing = self.writer.lock().await;
        let changed = query("UPDATE users SET profile = ? WHERE name = ?")
            .bind(serde_json::to_string(profile)?)
            .bind(name)
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1;
        Ok(changed)
    }

    async fn user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = query_as("SELECT * FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(User::try_from).transpose()
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = query_as("SELECT * FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(User::try_from).transpose()
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = query_as("SELECT * FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn cut_off_user(
        &self,
        name: &str,
        change: &UserChange,
        now: i64,
        until: i64,
    ) -> StoreResult<Option<String>> {
        let _writing = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        let Some(id) = query_scalar::<_, String>("SELECT id FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        Self::revoke_families_of(&mut tx, "user_id", &id, now).await?;
        let changed = match change {
            UserChange::Delete => Some(query("DELETE FROM users WHERE id = ?")),
            UserChange::Disable => Some(query("UPDATE users SET disabled = 1 WHERE id = ?")),
            UserChange::Password(hash) => {
                Some(query("UPDATE users SET password_hash = ? WHERE id = ?").bind(hash))
            }
            UserChange::LogOut => None,
        };
        if let Some(changed) = changed {
            changed.bind(&id).execute(&mut *tx).await?;
        }
        entry_insert(&id, EntryKind::Subject, until, now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(id))
    }
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn add_client(&self, client: &Client, now: i64) -> StoreResult<()> {
        let _writing = self.writer.lock().await;
        query("INSERT INTO clients (id, secret_hash, grants, scopes, audiences, introspect, created_at, oidc, roles) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(&client.id)
            .bind(&client.secret_hash)
            .bind(serde_json::to_string(&client.grants)?)
            .bind(serde_json::to_string(&client.scopes)?)
            .bind(serde_json::to_string(&client.audiences)?)
            .bind(client.introspect)
            .bind(now)
            .bind(serde_json::to_string(&client.oidc)?)
            .bind(serde_json::to_string(&client.roles)?)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::conflict(e, || format!("client {} already exists", client.id)))?;
        Ok(())
    }

    async fn client(&self, id: &str) -> StoreResult<Option<Client>> {
        let row: Option<ClientRow> = query_as("SELECT * FROM clients WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Client::try_from).transpose()
    }

    async fn clients(&self) -> StoreResult<Vec<Client>> {
        let rows: Vec<ClientRow> = query_as("SELECT * FROM clients ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(Client::try_from).collect()
    }

    async fn set_client_scopes(&self, id: &str, scopes: &[String]) -> StoreResult<bool> {
        let _writing = self.writer.lock().await;
        Ok(query("UPDATE clients SET scopes = ? WHERE id = ?")
            .bind(serde_json::to_string(scopes)?)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
    }

    async fn cut_off_client(
        &self,
        id: &str,
        change: &ClientChange,
        now: i64,
        cutoff_until: i64,
    ) -> StoreResult<bool> {
        let _writing = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        let changed = match change {
            ClientChange::Delete => query("DELETE FROM clients WHERE id = ?").bind(id),
            ClientChange::Secret(hash) => {
                query("UPDATE clients SET secret_hash = ? WHERE id = ? AND secret_hash IS NOT NULL")
                    .bind(hash)
                    .bind(id)
            }
        };
        if changed.execute(&mut *tx).await?.rows_affected() != 1 {
            return Ok(false);
        }
        Self::revoke_families_of(&mut tx, "client_id", id, now).await?;
        entry_insert(id, EntryKind::Client, cutoff_until, now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn add_key(&self, key: &StoredKey, when: KeyAddition) -> StoreResult<bool> {
        let _writing = self.writer.lock().await;
        // One statement: of concurrent first keys, or rotations, exactly one is kept.
        Ok(query("INSERT INTO signing_keys (kid, alg, sealed, public_jwk, created_at, active_from) SELECT ?1, ?2, ?3, ?4, ?5, ?6 \
               WHERE ?7 = 'always' \
               OR (?7 = 'first' AND NOT EXISTS (SELECT 1 FROM signing_keys WHERE active_from <= ?6)) \
               OR (?7 = 'rotation' AND NOT EXISTS (SELECT 1 FROM signing_keys WHERE active_from > ?5))")
            .bind(&key.kid)
            .bind(&key.alg)
            .bind(&key.sealed)
            .bind(&key.public_jwk)
            .bind(key.created_at)
            .bind(key.active_from)
            .bind(when.name())
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
    }

    async fn keys(&self) -> StoreResult<Vec<StoredKey>> {
        let rows: Vec<KeyRow> = query_as("SELECT * FROM signing_keys ORDER BY active_from")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(StoredKey::from).collect())
    }

    async fn delete_key(&self, kid: &str) -> StoreResult<()> {
        let _writing = self.writer.lock().await;
        query("DELETE FROM signing_keys WHERE kid = ?")
            .bind(kid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn revoke_key(&self, kid: &str, now: i64, entry_until: i64) -> StoreResult<Option<u64>> {
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

    async fn keys_version(&self) -> StoreResult<String> {
        Ok(query_scalar(
            "SELECT COUNT(*) || '/' || COALESCE(group_concat(kid || ':' || active_from), '') FROM signing_keys",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}

#[async_trait]
impl RefreshStore for SqliteStore {
    async fn start_family(
        &self,
        family: &Family,
        first: &[u8],
        token_expires_at: i64,
        access: IssuedAccess<'_>,
        now: i64,
    ) -> StoreResult<()> {
        let _writing = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        query("INSERT INTO refresh_families (id, user_id, client_id, scope, audience, created_at, expires_at, session_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(&family.id)
            .bind(&family.user_id)
            .bind(&family.client_id)
            .bind(&family.scope)
            .bind(&family.audience)
            .bind(now)
            .bind(family.expires_at)
            .bind(&family.session_id)
            .execute(&mut *tx)
            .await?;
        query("INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, access_jti, access_exp, access_kid) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(first)
            .bind(&family.id)
            .bind(now)
            .bind(token_expires_at)
            .bind(access.jti)
            .bind(access.exp)
            .bind(access.kid)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn use_refresh(
        &self,
        hash: &[u8],
        client_id: &str,
        now: i64,
        next: &Successor,
    ) -> StoreResult<RefreshUse> {
        // The common case, a live token, is claimed in the next group commit; a token that was
        // not claimed is looked at again to tell reuse from junk.
        let claim = Claim::new(hash, client_id, now, next);
        match self.writes.write(Write::Claim(claim)).await? {
            Written::Claim(Some(family)) => return Ok(RefreshUse::Rotated(Family::from(family))),
            Written::Claim(None) => {}
            _ => return Err(wrong_answer()),
        }
        let row: Option<TokenRow> = query_as(
            "SELECT f.*, t.expires_at AS token_exp, t.used_at AS token_used, t.next_hash AS successor \
             FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = ?",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(super::not_claimed(row, client_id))
    }

    async fn refresh_family(&self, hash: &[u8], now: i64) -> StoreResult<Option<(Family, i64)>> {
        let row: Option<TokenRow> = query_as(
            "SELECT f.*, t.expires_at AS token_exp, t.used_at AS token_used, t.next_hash AS successor \
             FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = ?",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(super::live(row, now))
    }

    async fn family_of(&self, hash: &[u8]) -> StoreResult<Option<Family>> {
        let row: Option<FamilyRow> = query_as("SELECT f.* FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = ?")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(Family::from))
    }

    async fn regrace(
        &self,
        hash: &[u8],
        now: i64,
        since: i64,
        next: &Successor,
    ) -> StoreResult<Option<Family>> {
        let _writing = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        let row: Option<TokenRow> = query_as(
            "SELECT f.*, t.expires_at AS token_exp, t.used_at AS token_used, t.next_hash AS successor \
             FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
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
        let discarded = query("DELETE FROM refresh_tokens WHERE hash = ? AND used_at IS NULL")
            .bind(&row.successor)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if discarded != 1 {
            return Ok(None);
        }
        let family = Family::from(row.family);
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

    async fn revoke_family(&self, family_id: &str, now: i64) -> StoreResult<()> {
        let _writing = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        Self::revoke_family_in(&mut tx, family_id, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl RevocationStore for SqliteStore {
    async fn revoke_jti(&self, jti: &str, exp: i64, now: i64) -> StoreResult<()> {
        let _writing = self.writer.lock().await;
        entry_insert(jti, EntryKind::Jti, exp, now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn is_denied(&self, token: &TokenIds<'_>) -> StoreResult<bool> {
        Ok(query(
            "SELECT 1 FROM revoked_jti WHERE (kind = 'jti' AND jti = ?1) OR (kind = 'session' AND jti = ?2) \
             OR (kind = 'client' AND jti = ?3 AND revoked_at >= ?5) OR (kind = 'subject' AND jti = ?4 AND revoked_at >= ?5)",
        )
        .bind(token.jti)
        .bind(token.sid)
        .bind(token.client_id)
        .bind(token.sub)
        .bind(token.iat)
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    async fn last_revocation(&self) -> StoreResult<i64> {
        Ok(
            query_scalar("SELECT COALESCE(MAX(seq), 0) FROM revoked_jti")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn revocations_after(
        &self,
        cursor: i64,
        until: i64,
        limit: i64,
    ) -> StoreResult<Vec<FeedEntry>> {
        let rows: Vec<FeedRow> = query_as(
            "SELECT seq, jti, exp, revoked_at, revoked_ms, kind FROM revoked_jti WHERE seq > ? AND exp > ? ORDER BY seq LIMIT ?",
        )
        .bind(cursor)
        .bind(until)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(FeedEntry::from).collect())
    }
}

#[async_trait]
impl SsoStore for SqliteStore {
    async fn start_session(
        &self,
        session: &SsoSession,
        cookie_hash: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        let _writing = self.writer.lock().await;
        query("INSERT INTO sso_sessions (id, cookie_hash, user_id, auth_time, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&session.id)
            .bind(cookie_hash)
            .bind(&session.user_id)
            .bind(session.auth_time)
            .bind(now)
            .bind(session.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session_by_cookie(
        &self,
        cookie_hash: &[u8],
        now: i64,
    ) -> StoreResult<Option<SsoSession>> {
        let row: Option<SessionRow> = query_as(
            "SELECT * FROM sso_sessions WHERE cookie_hash = ? AND ended_at IS NULL AND expires_at > ?",
        )
        .bind(cookie_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(SsoSession::from))
    }

    async fn add_code(&self, hash: &[u8], code: &AuthCode) -> StoreResult<()> {
        let code = NewCode {
            hash: hash.to_vec(),
            code: code.clone(),
        };
        match self.writes.write(Write::Code(code)).await? {
            Written::Code => Ok(()),
            _ => Err(wrong_answer()),
        }
    }

    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        Ok(
            query_scalar("SELECT scope FROM consents WHERE user_id = ? AND client_id = ?")
                .bind(user_id)
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<()> {
        let _writing = self.writer.lock().await;
        query("INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at")
            .bind(user_id)
            .bind(client_id)
            .bind(scope)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn end_session(
        &self,
        session_id: &str,
        now: i64,
        until: i64,
    ) -> StoreResult<Option<EndedSession>> {
        let _writing = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        let Some(user_id): Option<String> = query_scalar("UPDATE sso_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL AND expires_at > ? RETURNING user_id")
            .bind(now)
            .bind(session_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let families: Vec<String> = query_scalar(
            "SELECT id FROM refresh_families WHERE session_id = ? AND revoked_at IS NULL",
        )
        .bind(session_id)
        .fetch_all(&mut *tx)
        .await?;
        for family in families {
            Self::revoke_family_in(&mut tx, &family, now).await?;
        }
        query("INSERT OR IGNORE INTO revoked_jti (jti, exp, revoked_at) SELECT access_jti, access_exp, ? FROM auth_codes WHERE session_id = ? AND access_jti IS NOT NULL AND access_exp > ?")
            .bind(now)
            .bind(session_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        entry_insert(session_id, EntryKind::Session, until, now)
            .execute(&mut *tx)
            .await?;
        let clients: Vec<(String, String)> = query_as("SELECT c.id, c.oidc FROM sso_session_clients s JOIN clients c ON c.id = s.client_id WHERE s.session_id = ? ORDER BY c.id")
            .bind(session_id)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        super::ended(user_id, clients).map(Some)
    }

    async fn redeem_code(&self, hash: &[u8], now: i64, issue: &CodeIssue) -> StoreResult<CodeUse> {
        let presented = Redemption {
            hash: hash.to_vec(),
            now,
            issue: issue.clone(),
        };
        let Written::Redeem(claimed) = self.writes.write(Write::Redeem(presented)).await? else {
            return Err(wrong_answer());
        };
        let found = if claimed.is_some() {
            None
        } else {
            query_as("SELECT * FROM auth_codes WHERE hash = ?")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?
        };
        Ok(super::code_use(claimed, found))
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn watch(&self, _on_change: super::OnChange) -> StoreResult<bool> {
        // Other processes on one SQLite file are seen by polling: a cheap read each second.
        Ok(false)
    }

    async fn ping(&self) -> StoreResult<()> {
        query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn prune(&self, now: i64, keep: i64) -> StoreResult<()> {
        let _writing = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        query("DELETE FROM revoked_jti WHERE exp <= ?")
            .bind(now.saturating_sub(keep))
            .execute(&mut *tx)
            .await?;
        query("DELETE FROM refresh_tokens WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        query("DELETE FROM refresh_families WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        query("DELETE FROM sso_sessions WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        query("DELETE FROM auth_codes WHERE expires_at <= ?")
            .bind(now.saturating_sub(super::CODE_MEMORY))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

super::ssf::ssf_store!(SqliteStore);
