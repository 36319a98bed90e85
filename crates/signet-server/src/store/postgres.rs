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
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::{FromRow, Row, query, query_as, query_scalar};

use super::batch::{self, Batch, Claim, Claimed, CommitAll};
use super::rows::{
    CODE_COLUMNS, ClientRow, CodeRow, FamilyRow, FeedRow, KeyRow, SessionRow, TokenRow, UserRow,
    bind_code,
};
use super::{
    AuthCode, Change, Client, ClientChange, ClientStore, CodeIssue, CodeUse, EndedSession,
    EntryKind, Family, FeedEntry, IssuedAccess, KeyAddition, KeyStore, Profile, RefreshStore,
    RefreshUse, RevocationStore, SsoSession, SsoStore, Store, StoreError, StoreResult, StoredKey,
    Successor, TokenIds, User, UserChange, UserStore,
};

/// The migrations embedded in the binary.
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Advisory lock held by every transaction that adds feed entries ("signet feed").
const FEED_LOCK: i64 = 0x5349_474e_4645_4544;
/// Advisory lock held while adding a signing key ("signet keys").
const KEYS_LOCK: i64 = 0x5349_474e_4b45_5953;

/// The selection of a token with its family, for [`TokenRow`].
const TOKEN_WITH_FAMILY: &str = "SELECT f.*, t.expires_at AS token_exp, t.used_at AS token_used, t.next_hash AS successor \
     FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = $1";

/// The PostgreSQL database.
#[derive(Debug, Clone)]
pub(crate) struct PgStore {
    pool: PgPool,
    /// Refresh-token claims waiting for the next group commit.
    claims: Batch<PgClaims>,
}

/// The group-commit statement: many claims as one `UPDATE ... FROM unnest(...)` that also
/// stores each winner's successor.
struct PgClaims {
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

/// Adds a feed entry inside a transaction that holds the feed lock. A `jti` is denied once
/// (the first entry stands); an entry of another kind replaces an older one of its kind and
/// id, with a new cursor.
async fn add_entry(
    tx: &mut PgConnection,
    id: &str,
    kind: EntryKind,
    exp: i64,
    now: i64,
) -> StoreResult<()> {
    if kind != EntryKind::Jti {
        query("DELETE FROM revoked_jti WHERE kind = $2 AND jti = $1")
            .bind(id)
            .bind(kind.name())
            .execute(&mut *tx)
            .await?;
    }
    query("INSERT INTO revoked_jti (jti, exp, revoked_at, kind) VALUES ($1, $2, $3, $4) ON CONFLICT (kind, jti) DO NOTHING")
        .bind(id)
        .bind(exp)
        .bind(now)
        .bind(kind.name())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Revokes a family and denies its live access tokens, inside a transaction holding the feed
/// lock.
async fn revoke_family_in(tx: &mut PgConnection, family_id: &str, now: i64) -> StoreResult<()> {
    query("UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(family_id)
        .execute(&mut *tx)
        .await?;
    query("INSERT INTO revoked_jti (jti, exp, revoked_at) SELECT access_jti, access_exp, $1 FROM refresh_tokens \
           WHERE family_id = $2 AND access_exp > $1 ORDER BY created_at ON CONFLICT (kind, jti) DO NOTHING")
        .bind(now)
        .bind(family_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Revokes the live families whose `column` (`user_id` or `client_id`) is `id`.
async fn revoke_families_of(
    tx: &mut PgConnection,
    column: &str,
    id: &str,
    now: i64,
) -> StoreResult<()> {
    let families: Vec<String> = query_scalar(&format!(
        "SELECT id FROM refresh_families WHERE {column} = $1 AND revoked_at IS NULL"
    ))
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    for family in families {
        revoke_family_in(tx, &family, now).await?;
    }
    Ok(())
}

impl PgStore {
    /// Connects to the database at `url`; with `migrate`, runs the embedded migrations (sqlx
    /// holds an advisory lock while it does, so several instances may start at once), else
    /// refuses a database whose migrations have not all run.
    pub(crate) async fn open(url: &str, migrate: bool) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await
            .context("cannot connect to PostgreSQL")?;
        if migrate {
            MIGRATIONS
                .run(&pool)
                .await
                .context("cannot migrate the database")?;
        } else {
            let applied: Vec<i64> =
                query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                    .fetch_all(&pool)
                    .await
                    .unwrap_or_default();
            super::check_migrated(&MIGRATIONS, &applied)?;
        }
        Ok(Self {
            claims: Batch::start(PgClaims { pool: pool.clone() }, PARALLEL_CLAIMS),
            pool,
        })
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn add_user(&self, user: &User, now: i64) -> StoreResult<()> {
        query("INSERT INTO users (id, name, password_hash, roles, claims, created_at, profile) VALUES ($1, $2, $3, $4, $5, $6, $7)")
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
        notify(&self.pool, Change::Config).await
    }

    async fn set_profile(&self, name: &str, profile: &Profile) -> StoreResult<bool> {
        let changed = query("UPDATE users SET profile = $1 WHERE name = $2")
            .bind(serde_json::to_string(profile)?)
            .bind(name)
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1;
        if changed {
            notify(&self.pool, Change::Config).await?;
        }
        Ok(changed)
    }

    async fn user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = query_as("SELECT * FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(User::try_from).transpose()
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = query_as("SELECT * FROM users WHERE id = $1")
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
        let mut tx = self.pool.begin().await?;
        let Some(id) = query_scalar::<_, String>("SELECT id FROM users WHERE name = $1 FOR UPDATE")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        lock_feed(&mut tx).await?;
        revoke_families_of(&mut tx, "user_id", &id, now).await?;
        let changed = match change {
            UserChange::Delete => Some(query("DELETE FROM users WHERE id = $1")),
            UserChange::Disable => Some(query("UPDATE users SET disabled = TRUE WHERE id = $1")),
            UserChange::Password(hash) => {
                Some(query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(hash))
            }
            UserChange::LogOut => None,
        };
        if let Some(changed) = changed {
            changed.bind(&id).execute(&mut *tx).await?;
        }
        add_entry(&mut tx, &id, EntryKind::Subject, until, now).await?;
        notify(&mut *tx, Change::Config).await?;
        tx.commit().await?;
        Ok(Some(id))
    }
}

#[async_trait]
impl ClientStore for PgStore {
    async fn add_client(&self, client: &Client, now: i64) -> StoreResult<()> {
        query("INSERT INTO clients (id, secret_hash, grants, scopes, audiences, introspect, created_at, oidc, roles) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
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
        notify(&self.pool, Change::Config).await
    }

    async fn client(&self, id: &str) -> StoreResult<Option<Client>> {
        let row: Option<ClientRow> = query_as("SELECT * FROM clients WHERE id = $1")
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
        let changed = query("UPDATE clients SET scopes = $1 WHERE id = $2")
            .bind(serde_json::to_string(scopes)?)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1;
        notify(&self.pool, Change::Config).await?;
        Ok(changed)
    }

    async fn cut_off_client(
        &self,
        id: &str,
        change: &ClientChange,
        now: i64,
        cutoff_until: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let changed = match change {
            ClientChange::Delete => query("DELETE FROM clients WHERE id = $1").bind(id),
            ClientChange::Secret(hash) => query(
                "UPDATE clients SET secret_hash = $1 WHERE id = $2 AND secret_hash IS NOT NULL",
            )
            .bind(hash)
            .bind(id),
        };
        if changed.execute(&mut *tx).await?.rows_affected() != 1 {
            return Ok(false);
        }
        lock_feed(&mut tx).await?;
        revoke_families_of(&mut tx, "client_id", id, now).await?;
        add_entry(&mut tx, id, EntryKind::Client, cutoff_until, now).await?;
        notify(&mut *tx, Change::Config).await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[async_trait]
impl KeyStore for PgStore {
    async fn add_key(&self, key: &StoredKey, when: KeyAddition) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        query("SELECT pg_advisory_xact_lock($1)")
            .bind(KEYS_LOCK)
            .execute(&mut *tx)
            .await?;
        let added = query("INSERT INTO signing_keys (kid, alg, sealed, public_jwk, created_at, active_from) SELECT $1, $2, $3, $4, $5, $6 \
               WHERE $7 = 'always' \
               OR ($7 = 'first' AND NOT EXISTS (SELECT 1 FROM signing_keys WHERE active_from <= $6)) \
               OR ($7 = 'rotation' AND NOT EXISTS (SELECT 1 FROM signing_keys WHERE active_from > $5))")
            .bind(&key.kid)
            .bind(&key.alg)
            .bind(&key.sealed)
            .bind(&key.public_jwk)
            .bind(key.created_at)
            .bind(key.active_from)
            .bind(when.name())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        notify(&mut *tx, Change::Config).await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn keys(&self) -> StoreResult<Vec<StoredKey>> {
        let rows: Vec<KeyRow> = query_as("SELECT * FROM signing_keys ORDER BY active_from, kid")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(StoredKey::from).collect())
    }

    async fn delete_key(&self, kid: &str) -> StoreResult<()> {
        query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .execute(&self.pool)
            .await?;
        notify(&self.pool, Change::Config).await
    }

    async fn revoke_key(&self, kid: &str, now: i64, entry_until: i64) -> StoreResult<Option<u64>> {
        let mut tx = self.pool.begin().await?;
        let removed = query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            return Ok(None);
        }
        lock_feed(&mut tx).await?;
        query("INSERT INTO revoked_jti (jti, exp, revoked_at) SELECT DISTINCT t.access_jti, t.access_exp, $1::BIGINT FROM refresh_tokens t \
               JOIN refresh_tokens k ON k.family_id = t.family_id WHERE k.access_kid = $2 AND t.access_exp > $1 ON CONFLICT (kind, jti) DO NOTHING")
            .bind(now)
            .bind(kid)
            .execute(&mut *tx)
            .await?;
        let ended = query("UPDATE refresh_families SET revoked_at = $1 WHERE revoked_at IS NULL AND id IN (SELECT family_id FROM refresh_tokens WHERE access_kid = $2)")
            .bind(now)
            .bind(kid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        add_entry(&mut tx, kid, EntryKind::Key, entry_until, now).await?;
        notify(&mut *tx, Change::Config).await?;
        tx.commit().await?;
        Ok(Some(ended))
    }

    async fn keys_version(&self) -> StoreResult<String> {
        Ok(query_scalar(
            "SELECT COUNT(*)::TEXT || '/' || COALESCE(string_agg(kid || ':' || active_from, ',' ORDER BY active_from, kid), '') FROM signing_keys",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}

#[async_trait]
impl RefreshStore for PgStore {
    async fn start_family(
        &self,
        family: &Family,
        first: &[u8],
        token_expires_at: i64,
        access: IssuedAccess<'_>,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        query("INSERT INTO refresh_families (id, user_id, client_id, scope, audience, created_at, expires_at, session_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
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
        query("INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, access_jti, access_exp, access_kid) VALUES ($1, $2, $3, $4, $5, $6, $7)")
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
        // Claimed in the next group commit, one statement and so its own transaction: the row
        // lock makes concurrent uses wait; when they go on, `used_at` is set and they claim
        // nothing. A token that was not claimed is looked at again to tell reuse from junk.
        let claim = Claim::new(hash, client_id, now, next);
        if let Some(family) = self.claims.write(claim).await? {
            return Ok(RefreshUse::Rotated(Family::from(family)));
        }
        let row: Option<TokenRow> = query_as(TOKEN_WITH_FAMILY)
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(super::not_claimed(row, client_id))
    }

    async fn refresh_family(&self, hash: &[u8], now: i64) -> StoreResult<Option<(Family, i64)>> {
        let row: Option<TokenRow> = query_as(TOKEN_WITH_FAMILY)
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(super::live(row, now))
    }

    async fn family_of(&self, hash: &[u8]) -> StoreResult<Option<Family>> {
        let row: Option<FamilyRow> = query_as("SELECT f.* FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = $1")
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
        let mut tx = self.pool.begin().await?;
        // Locks the rotated token: two grace retries at once take turns.
        let row: Option<TokenRow> = query_as(
            "SELECT f.*, t.expires_at AS token_exp, t.used_at AS token_used, t.next_hash AS successor \
             FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
             WHERE t.hash = $1 AND t.used_at >= $2 AND f.revoked_at IS NULL AND f.expires_at > $3 FOR UPDATE OF t",
        )
        .bind(hash)
        .bind(since)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let discarded = query("DELETE FROM refresh_tokens WHERE hash = $1 AND used_at IS NULL")
            .bind(&row.successor)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if discarded != 1 {
            return Ok(None);
        }
        let family = Family::from(row.family);
        query("UPDATE refresh_tokens SET next_hash = $1, next_expires_at = $2, next_jti = $3, next_access_exp = $4, next_access_kid = $5 WHERE hash = $6")
            .bind(&next.hash)
            .bind(next.expires_at)
            .bind(&next.jti)
            .bind(next.access_exp)
            .bind(&next.kid)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        query("INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, access_jti, access_exp, access_kid) VALUES ($1, $2, $3, $4, $5, $6, $7)")
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
        let mut tx = self.pool.begin().await?;
        lock_feed(&mut tx).await?;
        revoke_family_in(&mut tx, family_id, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl RevocationStore for PgStore {
    async fn revoke_jti(&self, jti: &str, exp: i64, now: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        lock_feed(&mut tx).await?;
        add_entry(&mut tx, jti, EntryKind::Jti, exp, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn is_denied(&self, token: &TokenIds<'_>) -> StoreResult<bool> {
        Ok(query(
            "SELECT 1 FROM revoked_jti WHERE (kind = 'jti' AND jti = $1) OR (kind = 'session' AND jti = $2) \
             OR (kind = 'client' AND jti = $3 AND revoked_at >= $5) OR (kind = 'subject' AND jti = $4 AND revoked_at >= $5)",
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
            query_scalar("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM revoked_jti")
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
            "SELECT seq, jti, exp, revoked_at, revoked_ms, kind FROM revoked_jti WHERE seq > $1 AND exp > $2 ORDER BY seq LIMIT $3",
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
impl SsoStore for PgStore {
    async fn start_session(
        &self,
        session: &SsoSession,
        cookie_hash: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        query("INSERT INTO sso_sessions (id, cookie_hash, user_id, auth_time, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
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
            "SELECT * FROM sso_sessions WHERE cookie_hash = $1 AND ended_at IS NULL AND expires_at > $2",
        )
        .bind(cookie_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(SsoSession::from))
    }

    async fn add_code(&self, hash: &[u8], code: &AuthCode) -> StoreResult<()> {
        // One statement: the code, and its client recorded in the SSO session. (Not grouped as
        // on SQLite: concurrent statements let the database sync their commits together, which
        // measured faster here than one group commit at a time.)
        let sql = format!(
            "WITH code AS (INSERT INTO auth_codes ({CODE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING session_id, client_id) \
             INSERT INTO sso_session_clients (session_id, client_id) SELECT session_id, client_id FROM code ON CONFLICT DO NOTHING"
        );
        bind_code(query(&sql), hash, code)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        Ok(
            query_scalar("SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2")
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
        query("INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at")
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
        let mut tx = self.pool.begin().await?;
        lock_feed(&mut tx).await?;
        let Some(user_id): Option<String> = query_scalar("UPDATE sso_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL AND expires_at > $1 RETURNING user_id")
            .bind(now)
            .bind(session_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let families: Vec<String> = query_scalar(
            "SELECT id FROM refresh_families WHERE session_id = $1 AND revoked_at IS NULL",
        )
        .bind(session_id)
        .fetch_all(&mut *tx)
        .await?;
        for family in families {
            revoke_family_in(&mut tx, &family, now).await?;
        }
        query("INSERT INTO revoked_jti (jti, exp, revoked_at) SELECT access_jti, access_exp, $1 FROM auth_codes WHERE session_id = $2 AND access_jti IS NOT NULL AND access_exp > $1 ON CONFLICT (kind, jti) DO NOTHING")
            .bind(now)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        add_entry(&mut tx, session_id, EntryKind::Session, until, now).await?;
        let clients: Vec<(String, String)> = query_as("SELECT c.id, c.oidc FROM sso_session_clients s JOIN clients c ON c.id = s.client_id WHERE s.session_id = $1 ORDER BY c.id")
            .bind(session_id)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        super::ended(user_id, clients).map(Some)
    }

    async fn redeem_code(&self, hash: &[u8], now: i64, issue: &CodeIssue) -> StoreResult<CodeUse> {
        // The row lock lets one of concurrent uses mark the code; the others then find it used.
        let claimed: Option<CodeRow> = query_as(
            "UPDATE auth_codes SET used_at = $1, family_id = $2, access_jti = $3, access_exp = $4 \
             WHERE hash = $5 AND used_at IS NULL AND expires_at > $1 \
             AND EXISTS (SELECT 1 FROM sso_sessions s WHERE s.id = auth_codes.session_id \
             AND s.ended_at IS NULL AND s.expires_at > $1) RETURNING *",
        )
        .bind(now)
        .bind(&issue.family_id)
        .bind(&issue.access_jti)
        .bind(issue.access_exp)
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        let found = if claimed.is_some() {
            None
        } else {
            query_as("SELECT * FROM auth_codes WHERE hash = $1")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?
        };
        Ok(super::code_use(claimed, found))
    }
}

#[async_trait]
impl Store for PgStore {
    async fn watch(&self, on_change: super::OnChange) -> StoreResult<bool> {
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

    async fn ping(&self) -> StoreResult<()> {
        query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn prune(&self, now: i64, keep: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        query("DELETE FROM revoked_jti WHERE exp <= $1")
            .bind(now.saturating_sub(keep))
            .execute(&mut *tx)
            .await?;
        query("DELETE FROM refresh_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        query("DELETE FROM refresh_families WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        query("DELETE FROM sso_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        query("DELETE FROM auth_codes WHERE expires_at <= $1")
            .bind(now.saturating_sub(super::CODE_MEMORY))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

super::ssf::ssf_store!(PgStore);
