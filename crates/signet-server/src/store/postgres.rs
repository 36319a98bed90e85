//! The PostgreSQL store, for several issuer instances sharing one database. Correct under
//! concurrency across processes:
//! - a refresh rotation is one transaction whose `UPDATE ... WHERE used_at IS NULL` takes the
//!   token's row lock, so of concurrent uses exactly one claims it; an instance commits the
//!   rotations that arrive together as one statement (see [`super::batch`]);
//! - every insert into the revocation feed first takes one transaction-scoped advisory lock,
//!   so entries commit in cursor order (a `BIGSERIAL` alone would let a lower number commit
//!   after a higher one, and a follower paging by cursor skip it);
//! - adding a first signing key takes another advisory lock, so of instances starting at once
//!   exactly one makes it.

use anyhow::Context;
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{FromRow, Row, query};

use super::batch::{self, Batch, Claim, Claimed, CommitAll};
use super::rows::{CODE_COLUMNS, CodeRow, FamilyRow, bind_code};
use super::{AuthCode, Change, CodeIssue, StoreResult};

/// The migrations embedded in the binary.
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Advisory lock held by every transaction that adds feed entries ("signet feed").
const FEED_LOCK: i64 = 0x5349_474e_4645_4544;
/// Advisory lock held while adding a signing key ("signet keys").
const KEYS_LOCK: i64 = 0x5349_474e_4b45_5953;

/// The PostgreSQL database.
#[derive(Debug, Clone)]
pub(crate) struct PgStore {
    pool: PgPool,
    /// The same pool: PostgreSQL needs no connection of its own for writes.
    write_pool: PgPool,
    /// Refresh-token claims waiting for the next group commit.
    claims: Batch<PgClaims>,
}

/// The group-commit statement: many claims as one `UPDATE ... FROM unnest(...)` that also
/// stores each winner's successor.
struct PgClaims {
    /// Connections of their own, on which the planner never scans a table whole when an index
    /// can answer, and plans the statement once. The statement is prepared once per connection
    /// and its plan kept: planned while the table was small (at first start, or in a
    /// benchmark), a sequential scan is the cheaper plan, and it would then read the whole
    /// table for every group commit until the next `ANALYZE`. Nor is it planned again for
    /// each commit's arrays, which PostgreSQL may choose to do: that planning takes 0.4 to
    /// 0.6 ms (EXPLAIN), about as long as executing a commit of five claims.
    pool: PgPool,
}

/// Group commits of one instance in flight at once.
const PARALLEL_CLAIMS: usize = 1;

/// How often a group commit that lost a deadlock to another instance's is tried again.
const DEADLOCK_RETRIES: usize = 3;

#[async_trait]
impl CommitAll for PgClaims {
    type Item = Claim;
    type Out = Claimed;

    async fn commit_all(&self, claims: &[Claim]) -> StoreResult<Vec<Claimed>> {
        let column = |f: fn(&Claim) -> _| claims.iter().map(f).collect::<Vec<_>>();
        let (hashes, nexts): (Vec<&[u8]>, Vec<&[u8]>) = claims
            .iter()
            .map(|c| (c.hash.as_slice(), c.next.hash.as_slice()))
            .unzip();
        let nows: Vec<i64> = column(|c| c.now);
        let next_exps: Vec<i64> = column(|c| c.next.expires_at);
        let access_exps: Vec<i64> = column(|c| c.next.access_exp);
        let clients: Vec<&str> = claims.iter().map(|c| c.client_id.as_str()).collect();
        let (jtis, kids): (Vec<&str>, Vec<&str>) = claims
            .iter()
            .map(|c| (c.next.jti.as_str(), c.next.kid.as_str()))
            .unzip();
        let mut attempt = 0;
        loop {
            // Two instances whose batches share tokens can lock them in opposite orders; the
            // database then aborts one statement, which changed nothing and is run again.
            let result = query(
                "WITH input AS (SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bytea[], $4::bigint[], $5::text[], $6::bigint[], $7::text[], $8::text[]) \
                 AS i(hash, now, next_hash, next_exp, jti, access_exp, kid, client_id) ORDER BY hash), \
                 claimed AS (UPDATE refresh_tokens t SET used_at = i.now, next_hash = i.next_hash, next_expires_at = i.next_exp, \
                 next_jti = i.jti, next_access_exp = i.access_exp, next_access_kid = i.kid FROM input i \
                 WHERE t.hash = ANY($1) AND t.hash = i.hash AND t.used_at IS NULL AND t.expires_at > i.now \
                 AND (SELECT f.client_id = i.client_id AND f.revoked_at IS NULL AND f.expires_at > i.now FROM refresh_families f WHERE f.id = t.family_id) \
                 RETURNING t.hash AS claimed_hash, t.family_id, i.now AS claimed_at, i.next_hash, i.next_exp, i.jti, i.access_exp, i.kid), \
                 live AS (SELECT c.*, f.* FROM claimed c, LATERAL (SELECT * FROM refresh_families f WHERE f.id = c.family_id) f), \
                 successor AS (INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, access_jti, access_exp, access_kid) \
                 SELECT next_hash, id, claimed_at, LEAST(next_exp, expires_at), jti, access_exp, kid FROM live) \
                 SELECT * FROM live",
            )
            .bind(&hashes)
            .bind(&nows)
            .bind(&nexts)
            .bind(&next_exps)
            .bind(&jtis)
            .bind(&access_exps)
            .bind(&kids)
            .bind(&clients)
            .fetch_all(&self.pool)
            .await;
            match result {
                Ok(rows) => {
                    let claimed = rows
                        .iter()
                        .map(|row| Ok((row.try_get("claimed_hash")?, FamilyRow::from_row(row)?)))
                        .collect::<StoreResult<Vec<_>>>()?;
                    return Ok(batch::in_order(claims, claimed));
                }
                Err(sqlx::Error::Database(e))
                    if e.code().as_deref() == Some("40P01") && attempt < DEADLOCK_RETRIES =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// The channel of feed changes (LISTEN/NOTIFY).
const FEED_CHANNEL: &str = "signet_feed";
/// The channel of key, client and user changes.
const CONFIG_CHANNEL: &str = "signet_config";

/// Tells every listening instance of a change; inside a transaction, at its commit.
async fn notify<'c>(conn: impl sqlx::PgExecutor<'c>, change: Change) -> StoreResult<()> {
    let channel = match change {
        Change::Feed => FEED_CHANNEL,
        Change::Config => CONFIG_CHANNEL,
    };
    query("SELECT pg_notify($1, '')")
        .bind(channel)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes the feed's advisory lock for the rest of the transaction on `tx`, and tells the
/// listening instances to read the feed once it commits.
async fn lock_feed(tx: &mut PgConnection) -> StoreResult<()> {
    query("SELECT pg_advisory_xact_lock($1)")
        .bind(FEED_LOCK)
        .execute(&mut *tx)
        .await?;
    notify(&mut *tx, Change::Feed).await
}

impl PgStore {
    /// Connects to the database at `url`; with `migrate`, runs the embedded migrations (sqlx
    /// holds an advisory lock while it does, so several instances may start at once), else
    /// refuses a database whose migrations have not all run.
    pub(crate) async fn open(url: &str, migrate: bool) -> anyhow::Result<Self> {
        let options: PgConnectOptions = url.parse().context("bad PostgreSQL URL")?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(options.clone())
            .await
            .context("cannot connect to PostgreSQL")?;
        if migrate {
            MIGRATIONS
                .run(&pool)
                .await
                .context("cannot migrate the database")?;
        } else {
            refuse_unmigrated(&pool).await?;
        }
        let claims_pool = PgPoolOptions::new()
            .max_connections(u32::try_from(PARALLEL_CLAIMS).unwrap_or(1))
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_lazy_with(options.options([
                ("enable_seqscan", "off"),
                ("plan_cache_mode", "force_generic_plan"),
            ]));
        Ok(Self {
            claims: Batch::start(PgClaims { pool: claims_pool }, PARALLEL_CLAIMS),
            write_pool: pool.clone(),
            pool,
        })
    }
}

/// Notifies the listening instances that keys, clients or users changed; inside a
/// transaction, at its commit.
async fn config_changed<'c>(conn: impl sqlx::PgExecutor<'c>) -> StoreResult<()> {
    notify(conn, Change::Config).await
}

/// Takes the keys' advisory lock for the rest of the transaction on `tx`: of instances that
/// add a first key at once, one adds it and the others see it.
async fn lock_keys(tx: &mut PgConnection) -> StoreResult<()> {
    query("SELECT pg_advisory_xact_lock($1)")
        .bind(KEYS_LOCK)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The hooks of [`super::sql::sql_store!`].
impl PgStore {
    /// Claims a live refresh token in the next group commit, one statement and so its own
    /// transaction: the row lock makes concurrent uses wait; when they go on, `used_at` is set
    /// and they claim nothing.
    async fn claim_refresh(&self, claim: Claim) -> StoreResult<Claimed> {
        self.claims.write(claim).await
    }

    /// One statement: a live code of a live SSO session not stored yet is stored, used, and its
    /// client recorded in the session. Of concurrent uses one inserts the row; the others wait
    /// for it to commit and insert nothing. (Not grouped as on SQLite: concurrent statements
    /// let the database sync their commits together, which measured faster here than one group
    /// commit at a time.)
    async fn redeem_unused(
        &self,
        hash: &[u8],
        code: &AuthCode,
        now: i64,
        issue: &CodeIssue,
    ) -> StoreResult<Option<CodeRow>> {
        let sql = format!(
            "WITH code AS (INSERT INTO auth_codes ({CODE_COLUMNS}) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 \
             WHERE $10 > $11 AND EXISTS (SELECT 1 FROM sso_sessions s WHERE s.id = $7 AND s.ended_at IS NULL AND s.expires_at > $11) \
             ON CONFLICT (hash) DO NOTHING RETURNING *), \
             client AS (INSERT INTO sso_session_clients (session_id, client_id) SELECT session_id, client_id FROM code ON CONFLICT DO NOTHING) \
             SELECT * FROM code"
        );
        let row = bind_code(query(&sql), hash, code, now, issue)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(CodeRow::from_row).transpose()?)
    }

    /// Hears the other instances' changes through LISTEN.
    async fn listen(&self, on_change: super::OnChange) -> StoreResult<bool> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen_all([FEED_CHANNEL, CONFIG_CHANNEL]).await?;
        tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) if n.channel() == FEED_CHANNEL => on_change(Change::Feed),
                    Ok(Some(_)) => on_change(Change::Config),
                    // The connection was lost (and is made again on the next call): what was
                    // said meanwhile is unknown, so everything counts as changed.
                    Ok(None) => {
                        tracing::warn!("PostgreSQL notifications interrupted; reconnecting");
                        on_change(Change::Feed);
                        on_change(Change::Config);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "PostgreSQL notifications failed; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(true)
    }
}

super::sql::sql_store!(
    PgStore,
    PgConnection,
    lock_user = " FOR UPDATE",
    lock_token = " FOR UPDATE OF t"
);
