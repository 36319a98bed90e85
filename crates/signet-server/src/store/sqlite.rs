//! The SQLite store: one file in the data directory, WAL mode, embedded migrations. SQLite
//! takes one writer at a time, so rotation's one winner and the feed's order follow from
//! that: writers of this process queue, in order, for one connection of their own (so none
//! sleeps in SQLite's busy loop, and that connection's page cache stays warm).
//! Every commit is durable (`synchronous = FULL`: the WAL is synced before a commit returns);
//! refresh rotations and code redemptions are committed in groups
//! (see [`super::batch`]) so that one sync serves many.

use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{FromRow, Row, query};

use super::batch::{self, Batch, Claim, Claimed, CommitAll, Keyed, Redemption};
use super::rows::{CODE_COLUMNS, CodeRow, FamilyRow, bind_code};
use super::{AuthCode, CodeIssue, StoreError, StoreResult};

/// The migrations embedded in the binary.
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The SQLite database.
#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    /// The readers' connections.
    pool: SqlitePool,
    /// The one connection that writes. SQLite takes one writer at a time and makes the others
    /// sleep and retry; this process's writers wait for this connection instead, in order
    /// (the pool is fair). And a connection drops its page cache (and its memory map of the
    /// file) whenever another connection has committed, so writes that all go through one
    /// connection keep its cache warm, and the readers pay for a change only when they read
    /// after one.
    write_pool: SqlitePool,
    /// Writes of the hot paths (refresh claims, code redemptions) waiting for the next group
    /// commit.
    writes: Batch<Writer>,
}

/// One write of a hot path, committed with the others waiting.
#[derive(Debug)]
enum Write {
    Claim(Claim),
    Redeem(Redemption),
}

/// What a [`Write`] answers.
enum Written {
    Claim(Claimed),
    Redeem(Option<CodeRow>),
}

impl Keyed for Write {
    fn key(&self) -> &[u8] {
        match self {
            Self::Claim(c) => c.key(),
            Self::Redeem(r) => r.key(),
        }
    }
}

/// The group commit of this process: the writes waiting, one statement for each kind among
/// them, in one transaction (so one sync of the WAL) on the process's writing connection.
struct Writer {
    pool: SqlitePool,
}

#[async_trait]
impl CommitAll for Writer {
    type Item = Write;
    type Out = Written;

    async fn commit_all(&self, writes: &[Write]) -> StoreResult<Vec<Written>> {
        let mut claims = Vec::new();
        let mut uses = Vec::new();
        for w in writes {
            match w {
                Write::Claim(c) => claims.push(c),
                Write::Redeem(r) => uses.push(r),
            }
        }
        let mut conn = self.pool.acquire().await?;
        // One kind is one statement, its own transaction; both share one.
        let (claimed, redeemed) = if !claims.is_empty() && !uses.is_empty() {
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let done = write_all(&mut tx, &claims, &uses).await?;
            tx.commit().await?;
            done
        } else {
            write_all(&mut conn, &claims, &uses).await?
        };
        let mut claimed = batch::in_order(&claims, claimed).into_iter();
        let mut redeemed = batch::in_order(&uses, redeemed).into_iter();
        Ok(writes
            .iter()
            .map(|w| match w {
                Write::Claim(_) => Written::Claim(claimed.next().flatten()),
                Write::Redeem(_) => Written::Redeem(redeemed.next().flatten()),
            })
            .collect())
    }
}

/// The statements of one group commit, on `conn`: the claimed tokens and the redeemed codes.
async fn write_all(
    conn: &mut SqliteConnection,
    claims: &[&Claim],
    uses: &[&Redemption],
) -> StoreResult<(Vec<(Vec<u8>, FamilyRow)>, Vec<(Vec<u8>, CodeRow)>)> {
    let claimed = if claims.is_empty() {
        Vec::new()
    } else {
        claim_all(conn, claims).await?
    };
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

/// Many redemptions as one `INSERT ... SELECT FROM (VALUES ...)`: each live code of a live
/// SSO session not stored yet is stored, used, with what its use issues, and a trigger records
/// its client in the session. The hash and row of each code redeemed.
async fn redeem_all(
    conn: &mut SqliteConnection,
    uses: &[&Redemption],
) -> StoreResult<Vec<(Vec<u8>, CodeRow)>> {
    let sql = format!(
        "INSERT INTO auth_codes ({CODE_COLUMNS}) SELECT * FROM (VALUES {}) AS c \
         WHERE c.column10 > c.column11 AND EXISTS (SELECT 1 FROM sso_sessions s WHERE s.id = c.column7 \
         AND s.ended_at IS NULL AND s.expires_at > c.column11) \
         ON CONFLICT (hash) DO NOTHING RETURNING *",
        value_rows(uses.len(), 14)
    );
    let mut statement = query(&sql);
    for u in uses {
        statement = bind_code(statement, &u.hash, &u.code, u.now, &u.issue);
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
            .connect_with(options.clone())
            .await
            .with_context(|| format!("cannot open {}", path.display()))?;
        let write_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open {}", path.display()))?;
        let store = Self {
            writes: Batch::start(
                Writer {
                    pool: write_pool.clone(),
                },
                1,
            ),
            pool,
            write_pool,
        };
        if migrate {
            MIGRATIONS
                .run(&store.pool)
                .await
                .context("cannot migrate the database")?;
        } else {
            refuse_unmigrated(&store.pool).await?;
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
}

/// Other processes' changes of keys, clients and users are seen by polling the data
/// version, so there is no one to tell.
async fn config_changed<'c>(_conn: impl sqlx::SqliteExecutor<'c>) -> StoreResult<()> {
    Ok(())
}

/// One writer at a time (the process's writing connection, and SQLite's own) already commits feed
/// entries in cursor order.
async fn lock_feed(_tx: &mut SqliteConnection) -> StoreResult<()> {
    Ok(())
}

/// One writer at a time already makes of concurrent first keys one.
async fn lock_keys(_tx: &mut SqliteConnection) -> StoreResult<()> {
    Ok(())
}

/// The hooks of [`super::sql::sql_store!`].
impl SqliteStore {
    /// Claims a live refresh token in the next group commit.
    async fn claim_refresh(&self, claim: Claim) -> StoreResult<Claimed> {
        match self.writes.write(Write::Claim(claim)).await? {
            Written::Claim(claimed) => Ok(claimed),
            _ => Err(wrong_answer()),
        }
    }

    /// Stores a live code of a live SSO session, used, unless it is stored already, in the
    /// next group commit.
    async fn redeem_unused(
        &self,
        hash: &[u8],
        code: &AuthCode,
        now: i64,
        issue: &CodeIssue,
    ) -> StoreResult<Option<CodeRow>> {
        let presented = Redemption {
            hash: hash.to_vec(),
            code: code.clone(),
            now,
            issue: issue.clone(),
        };
        match self.writes.write(Write::Redeem(presented)).await? {
            Written::Redeem(claimed) => Ok(claimed),
            _ => Err(wrong_answer()),
        }
    }

    /// Other processes on one SQLite file are seen by polling: a cheap read each second.
    async fn listen(&self, _on_change: super::OnChange) -> StoreResult<bool> {
        Ok(false)
    }
}

super::sql::sql_store!(
    SqliteStore,
    SqliteConnection,
    lock_user = "",
    lock_token = ""
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::super::{RefreshStore, RefreshUse, Successor};
    use super::*;

    const NOW: i64 = 1_800_000_000;

    /// Migration 0007 rebuilds the refresh-token table: a login stored before it keeps
    /// rotating after it, and its used token still counts as reuse.
    #[tokio::test]
    async fn a_login_stored_before_the_refresh_table_was_rebuilt_rotates_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signet.db");
        crate::datadir::prepare(dir.path(), &path).unwrap();
        // The database as the releases before 0007 left it: the first six migrations.
        let earlier = dir.path().join("earlier");
        std::fs::create_dir(&earlier).unwrap();
        let all = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        for entry in std::fs::read_dir(&all).unwrap() {
            let name = entry.unwrap().file_name();
            if name.to_string_lossy().as_ref() < "0007" {
                std::fs::copy(all.join(&name), earlier.join(&name)).unwrap();
            }
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .create_if_missing(true);
        let old = SqlitePool::connect_with(options).await.unwrap();
        sqlx::migrate::Migrator::new(earlier.as_path())
            .await
            .unwrap()
            .run(&old)
            .await
            .unwrap();
        query("INSERT INTO refresh_families (id, user_id, client_id, scope, audience, created_at, expires_at) VALUES ('f1', 'u1', 'web', 'read', 'api', $1, $2)")
            .bind(NOW - 60)
            .bind(NOW + 86_400)
            .execute(&old)
            .await
            .unwrap();
        for (hash, used) in [(&b"used"[..], Some(NOW - 30)), (b"live", None)] {
            query("INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, used_at, access_jti, access_exp, access_kid) VALUES ($1, 'f1', $2, $3, $4, $5, $6, 'k1')")
                .bind(hash)
                .bind(NOW - 60)
                .bind(NOW + 3600)
                .bind(used)
                .bind(format!("jti-{}", String::from_utf8_lossy(hash)))
                .bind(NOW + 600)
                .execute(&old)
                .await
                .unwrap();
        }
        old.close().await;

        let store = SqliteStore::open(&path, true).await.unwrap();
        let next = Successor {
            hash: b"next".to_vec(),
            expires_at: NOW + 3600,
            jti: "jti-next".into(),
            access_exp: NOW + 600,
            kid: "k1".into(),
        };
        let rotated = store.use_refresh(b"live", "web", NOW, &next).await.unwrap();
        assert!(
            matches!(&rotated, RefreshUse::Rotated(f) if f.id == "f1" && f.user_id.as_deref() == Some("u1")),
            "{rotated:?}"
        );
        let again = store.use_refresh(b"used", "web", NOW, &next).await.unwrap();
        assert!(
            matches!(again, RefreshUse::Reused { ref family_id, .. } if family_id == "f1"),
            "{again:?}"
        );
        let successor = store.family_of(b"next").await.unwrap();
        assert_eq!(successor.map(|f| f.id).as_deref(), Some("f1"));
    }
}
