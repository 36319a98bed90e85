//! The statements both backends share. SQLite and PostgreSQL read the same SQL here: `$N`
//! parameters (which sqlx binds by number on SQLite too), `ON CONFLICT` upserts, `CAST` instead of `::`, and
//! `string_agg` (SQLite 3.44 and later, which the bundled library is). What differs is said by
//! the backend through a few hooks that [`sql_store!`] calls at the invocation site:
//!
//! - `self.write_pool`: where writes go (SQLite: one connection of its own, so this process's
//!   writers queue there in order; PostgreSQL: the one pool, with row locks);
//! - `lock_feed(tx)`: what a transaction that adds feed entries does first (PostgreSQL takes
//!   the feed's advisory lock so entries commit in cursor order, and tells the listening
//!   instances; SQLite has one writer anyway);
//! - `lock_keys(tx)`: the same for adding a signing key;
//! - `config_changed(conn)`: tells other instances that keys, clients or users changed
//!   (PostgreSQL's NOTIFY; SQLite's readers poll its data version);
//! - `self.claim_refresh(claim)` and `self.redeem_unused(hash, code, now, issue)`: the hot
//!   writes, which each backend commits its own way (SQLite in group commits, PostgreSQL in
//!   one statement each or in batches);
//! - `self.listen(on_change)`: how the backend hears of other instances' changes.
//!
//! The macro also takes the row-lock clauses, which SQLite (one writer) has no need of.

/// Implements every store trait but the SSF one for `$store`, over the connection type `$conn`.
/// `$lock_user` and `$lock_token` end the selections that lock a user row and a rotated refresh
/// token (`" FOR UPDATE"`, `" FOR UPDATE OF t"` on PostgreSQL; empty on SQLite).
macro_rules! sql_store {
    ($store:ty, $conn:ty, lock_user = $lock_user:literal, lock_token = $lock_token:literal) => {
        /// Refuses a database on which some of the embedded `MIGRATIONS` have not run (one
        /// without the migrations table has run none).
        async fn refuse_unmigrated(
            pool: &sqlx::Pool<<$conn as sqlx::Connection>::Database>,
        ) -> anyhow::Result<()> {
            let applied: Vec<i64> =
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                    .fetch_all(pool)
                    .await
                    .unwrap_or_default();
            super::check_migrated(&MIGRATIONS, &applied)
        }

        /// Adds a feed entry inside a transaction that has taken the feed lock. A `jti` is
        /// denied once (the first entry stands); an entry of another kind replaces an older one
        /// of its kind and id, with a new cursor.
        async fn add_entry(
            tx: &mut $conn,
            id: &str,
            kind: super::EntryKind,
            exp: i64,
            now: i64,
        ) -> super::StoreResult<()> {
            if kind != super::EntryKind::Jti {
                sqlx::query("DELETE FROM revoked_jti WHERE jti = $1 AND kind = $2")
                    .bind(id)
                    .bind(kind.name())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("INSERT INTO revoked_jti (jti, exp, revoked_at, kind) VALUES ($1, $2, $3, $4) ON CONFLICT (kind, jti) DO NOTHING")
                .bind(id)
                .bind(exp)
                .bind(now)
                .bind(kind.name())
                .execute(&mut *tx)
                .await?;
            Ok(())
        }

        /// Revokes a family and denies its live access tokens, inside a transaction that has
        /// taken the feed lock.
        async fn revoke_family_in(
            tx: &mut $conn,
            family_id: &str,
            now: i64,
        ) -> super::StoreResult<()> {
            sqlx::query("UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(family_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO revoked_jti (jti, exp, revoked_at) SELECT access_jti, access_exp, $1 FROM refresh_tokens \
                   WHERE family_id = $2 AND access_exp > $1 ORDER BY created_at ON CONFLICT (kind, jti) DO NOTHING")
                .bind(now)
                .bind(family_id)
                .execute(&mut *tx)
                .await?;
            Ok(())
        }

        /// Revokes the live families whose `column` (`user_id`, `client_id` or `session_id`)
        /// is `id`, inside a transaction that has taken the feed lock.
        async fn revoke_families_of(
            tx: &mut $conn,
            column: &str,
            id: &str,
            now: i64,
        ) -> super::StoreResult<()> {
            let families: Vec<String> = sqlx::query_scalar(&format!(
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

        /// Reads of rows that become domain values (users, clients), the same for every table.
        impl $store {
            /// The row `sql` selects by its one parameter `arg`, as a `T`.
            async fn one<R, T>(&self, sql: &'static str, arg: &str) -> super::StoreResult<Option<T>>
            where
                R: for<'r> sqlx::FromRow<'r, <<$conn as sqlx::Connection>::Database as sqlx::Database>::Row>
                    + Send
                    + Unpin,
                T: TryFrom<R, Error = super::StoreError>,
            {
                let row: Option<R> = sqlx::query_as(sql)
                    .bind(arg)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(T::try_from).transpose()
            }

            /// Runs `sql`, an update of one row's column to `value` (`$1`) by its key `key`
            /// (`$2`), and tells other instances if it changed; whether it did.
            async fn update_one(
                &self,
                sql: &'static str,
                value: String,
                key: &str,
            ) -> super::StoreResult<bool> {
                let changed = sqlx::query(sql)
                    .bind(value)
                    .bind(key)
                    .execute(&self.write_pool)
                    .await?
                    .rows_affected()
                    == 1;
                if changed {
                    config_changed(&self.write_pool).await?;
                }
                Ok(changed)
            }

            /// Every row `sql` selects, each as a `T`.
            async fn all<R, T>(&self, sql: &'static str) -> super::StoreResult<Vec<T>>
            where
                R: for<'r> sqlx::FromRow<'r, <<$conn as sqlx::Connection>::Database as sqlx::Database>::Row>
                    + Send
                    + Unpin,
                T: TryFrom<R, Error = super::StoreError>,
            {
                let rows: Vec<R> = sqlx::query_as(sql).fetch_all(&self.pool).await?;
                rows.into_iter().map(T::try_from).collect()
            }
        }

        #[async_trait::async_trait]
        impl super::UserStore for $store {
            async fn add_user(&self, user: &super::User, now: i64) -> super::StoreResult<()> {
                sqlx::query("INSERT INTO users (id, name, password_hash, roles, claims, created_at, profile) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(&user.id)
                    .bind(&user.name)
                    .bind(&user.password_hash)
                    .bind(serde_json::to_string(&user.roles)?)
                    .bind(serde_json::to_string(&user.claims)?)
                    .bind(now)
                    .bind(serde_json::to_string(&user.profile)?)
                    .execute(&self.write_pool)
                    .await
                    .map_err(|e| {
                        super::StoreError::conflict(e, || format!("user {} already exists", user.name))
                    })?;
                config_changed(&self.write_pool).await
            }

            async fn set_profile(
                &self,
                name: &str,
                profile: &super::Profile,
            ) -> super::StoreResult<bool> {
                self.update_one(
                    "UPDATE users SET profile = $1 WHERE name = $2",
                    serde_json::to_string(profile)?,
                    name,
                )
                .await
            }

            async fn user_by_name(&self, name: &str) -> super::StoreResult<Option<super::User>> {
                self.one::<super::rows::UserRow, _>("SELECT * FROM users WHERE name = $1", name).await
            }

            async fn user_by_id(&self, id: &str) -> super::StoreResult<Option<super::User>> {
                self.one::<super::rows::UserRow, _>("SELECT * FROM users WHERE id = $1", id).await
            }

            async fn users(&self) -> super::StoreResult<Vec<super::User>> {
                self.all::<super::rows::UserRow, _>("SELECT * FROM users ORDER BY name").await
            }

            async fn cut_off_user(
                &self,
                name: &str,
                change: &super::UserChange,
                now: i64,
                until: i64,
            ) -> super::StoreResult<Option<String>> {
                let mut tx = self.write_pool.begin().await?;
                let Some(id) = sqlx::query_scalar::<_, String>(concat!(
                    "SELECT id FROM users WHERE name = $1",
                    $lock_user
                ))
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
                else {
                    return Ok(None);
                };
                lock_feed(&mut tx).await?;
                revoke_families_of(&mut tx, "user_id", &id, now).await?;
                let changed = match change {
                    super::UserChange::Delete => Some(sqlx::query("DELETE FROM users WHERE id = $1")),
                    super::UserChange::Disable => {
                        Some(sqlx::query("UPDATE users SET disabled = TRUE WHERE id = $1"))
                    }
                    super::UserChange::Password(hash) => Some(
                        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(hash),
                    ),
                    super::UserChange::LogOut => None,
                };
                if let Some(changed) = changed {
                    changed.bind(&id).execute(&mut *tx).await?;
                }
                add_entry(&mut tx, &id, super::EntryKind::Subject, until, now).await?;
                config_changed(&mut *tx).await?;
                tx.commit().await?;
                Ok(Some(id))
            }
        }

        #[async_trait::async_trait]
        impl super::ClientStore for $store {
            async fn add_client(&self, client: &super::Client, now: i64) -> super::StoreResult<()> {
                sqlx::query("INSERT INTO clients (id, secret_hash, grants, scopes, audiences, introspect, created_at, oidc, roles) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(&client.id)
                    .bind(&client.secret_hash)
                    .bind(serde_json::to_string(&client.grants)?)
                    .bind(serde_json::to_string(&client.scopes)?)
                    .bind(serde_json::to_string(&client.audiences)?)
                    .bind(client.introspect)
                    .bind(now)
                    .bind(serde_json::to_string(&client.oidc)?)
                    .bind(serde_json::to_string(&client.roles)?)
                    .execute(&self.write_pool)
                    .await
                    .map_err(|e| {
                        super::StoreError::conflict(e, || format!("client {} already exists", client.id))
                    })?;
                config_changed(&self.write_pool).await
            }

            async fn client(&self, id: &str) -> super::StoreResult<Option<super::Client>> {
                self.one::<super::rows::ClientRow, _>("SELECT * FROM clients WHERE id = $1", id).await
            }

            async fn clients(&self) -> super::StoreResult<Vec<super::Client>> {
                self.all::<super::rows::ClientRow, _>("SELECT * FROM clients ORDER BY id").await
            }

            async fn set_client_scopes(
                &self,
                id: &str,
                scopes: &[String],
            ) -> super::StoreResult<bool> {
                self.update_one(
                    "UPDATE clients SET scopes = $1 WHERE id = $2",
                    serde_json::to_string(scopes)?,
                    id,
                )
                .await
            }

            async fn cut_off_client(
                &self,
                id: &str,
                change: &super::ClientChange,
                now: i64,
                cutoff_until: i64,
            ) -> super::StoreResult<bool> {
                let mut tx = self.write_pool.begin().await?;
                let changed = match change {
                    super::ClientChange::Delete => {
                        sqlx::query("DELETE FROM clients WHERE id = $1").bind(id)
                    }
                    super::ClientChange::Secret(hash) => sqlx::query(
                        "UPDATE clients SET secret_hash = $2 WHERE id = $1 AND secret_hash IS NOT NULL",
                    )
                    .bind(id)
                    .bind(hash),
                };
                if changed.execute(&mut *tx).await?.rows_affected() != 1 {
                    return Ok(false);
                }
                lock_feed(&mut tx).await?;
                revoke_families_of(&mut tx, "client_id", id, now).await?;
                add_entry(&mut tx, id, super::EntryKind::Client, cutoff_until, now).await?;
                config_changed(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }
        }

        #[async_trait::async_trait]
        impl super::KeyStore for $store {
            async fn add_key(
                &self,
                key: &super::StoredKey,
                when: super::KeyAddition,
            ) -> super::StoreResult<bool> {
                let mut tx = self.write_pool.begin().await?;
                lock_keys(&mut tx).await?;
                // One statement: of concurrent first keys, or rotations, exactly one is kept.
                let added = sqlx::query("INSERT INTO signing_keys (kid, alg, sealed, public_jwk, created_at, active_from) SELECT $1, $2, $3, $4, $5, $6 \
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
                config_changed(&mut *tx).await?;
                tx.commit().await?;
                Ok(added)
            }

            async fn keys(&self) -> super::StoreResult<Vec<super::StoredKey>> {
                let rows: Vec<super::rows::KeyRow> =
                    sqlx::query_as("SELECT * FROM signing_keys ORDER BY active_from, kid")
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows.into_iter().map(super::StoredKey::from).collect())
            }

            async fn delete_key(&self, kid: &str) -> super::StoreResult<()> {
                sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
                    .bind(kid)
                    .execute(&self.write_pool)
                    .await?;
                config_changed(&self.write_pool).await
            }

            async fn revoke_key(
                &self,
                kid: &str,
                now: i64,
                entry_until: i64,
            ) -> super::StoreResult<Option<u64>> {
                let mut tx = self.write_pool.begin().await?;
                let removed = sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
                    .bind(kid)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if removed == 0 {
                    return Ok(None);
                }
                lock_feed(&mut tx).await?;
                sqlx::query("INSERT INTO revoked_jti (jti, exp, revoked_at) SELECT DISTINCT t.access_jti, t.access_exp, CAST($1 AS BIGINT) FROM refresh_tokens t \
                       JOIN refresh_tokens k ON k.family_id = t.family_id WHERE k.access_kid = $2 AND t.access_exp > $1 ON CONFLICT (kind, jti) DO NOTHING")
                    .bind(now)
                    .bind(kid)
                    .execute(&mut *tx)
                    .await?;
                let ended = sqlx::query("UPDATE refresh_families SET revoked_at = $1 WHERE revoked_at IS NULL AND id IN (SELECT family_id FROM refresh_tokens WHERE access_kid = $2)")
                    .bind(now)
                    .bind(kid)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                add_entry(&mut tx, kid, super::EntryKind::Key, entry_until, now).await?;
                config_changed(&mut *tx).await?;
                tx.commit().await?;
                Ok(Some(ended))
            }

            async fn keys_version(&self) -> super::StoreResult<String> {
                Ok(sqlx::query_scalar(
                    "SELECT CAST(COUNT(*) AS TEXT) || '/' || COALESCE(string_agg(kid || ':' || active_from, ',' ORDER BY active_from, kid), '') FROM signing_keys",
                )
                .fetch_one(&self.pool)
                .await?)
            }
        }

        #[async_trait::async_trait]
        impl super::RefreshStore for $store {
            async fn start_family(
                &self,
                family: &super::Family,
                first: &[u8],
                token_expires_at: i64,
                access: super::IssuedAccess<'_>,
                now: i64,
            ) -> super::StoreResult<()> {
                let mut tx = self.write_pool.begin().await?;
                sqlx::query("INSERT INTO refresh_families (id, user_id, client_id, scope, audience, created_at, expires_at, session_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
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
                sqlx::query("INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, access_jti, access_exp, access_kid) VALUES ($1, $2, $3, $4, $5, $6, $7)")
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
                next: &super::Successor,
            ) -> super::StoreResult<super::RefreshUse> {
                // The common case, a live token, is claimed by the backend's hot write; a token
                // that was not claimed is looked at again to tell reuse from junk.
                let claim = super::batch::Claim::new(hash, client_id, now, next);
                if let Some(family) = self.claim_refresh(claim).await? {
                    return Ok(super::RefreshUse::Rotated(super::Family::from(family)));
                }
                let row: Option<super::rows::TokenRow> =
                    sqlx::query_as(super::rows::TOKEN_WITH_FAMILY)
                        .bind(hash)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(super::not_claimed(row, client_id))
            }

            async fn refresh_family(
                &self,
                hash: &[u8],
                now: i64,
            ) -> super::StoreResult<Option<(super::Family, i64)>> {
                let row: Option<super::rows::TokenRow> =
                    sqlx::query_as(super::rows::TOKEN_WITH_FAMILY)
                        .bind(hash)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(super::live(row, now))
            }

            async fn family_of(&self, hash: &[u8]) -> super::StoreResult<Option<super::Family>> {
                let row: Option<super::rows::FamilyRow> = sqlx::query_as("SELECT f.* FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = $1")
                    .bind(hash)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(super::Family::from))
            }

            async fn regrace(
                &self,
                hash: &[u8],
                now: i64,
                since: i64,
                next: &super::Successor,
            ) -> super::StoreResult<Option<super::Family>> {
                let mut tx = self.write_pool.begin().await?;
                // Locks the rotated token: two grace retries at once take turns.
                let row: Option<super::rows::TokenRow> = sqlx::query_as(concat!(
                    "SELECT f.*, t.expires_at AS token_exp, t.used_at AS token_used, t.next_hash AS successor \
                     FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
                     WHERE t.hash = $1 AND t.used_at >= $2 AND f.revoked_at IS NULL AND f.expires_at > $3",
                    $lock_token
                ))
                .bind(hash)
                .bind(since)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let discarded =
                    sqlx::query("DELETE FROM refresh_tokens WHERE hash = $1 AND used_at IS NULL")
                        .bind(&row.successor)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                if discarded != 1 {
                    return Ok(None);
                }
                let family = super::Family::from(row.family);
                sqlx::query("UPDATE refresh_tokens SET next_hash = $1, next_expires_at = $2, next_jti = $3, next_access_exp = $4, next_access_kid = $5 WHERE hash = $6")
                    .bind(&next.hash)
                    .bind(next.expires_at)
                    .bind(&next.jti)
                    .bind(next.access_exp)
                    .bind(&next.kid)
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at, access_jti, access_exp, access_kid) VALUES ($1, $2, $3, $4, $5, $6, $7)")
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

            async fn revoke_family(&self, family_id: &str, now: i64) -> super::StoreResult<()> {
                let mut tx = self.write_pool.begin().await?;
                lock_feed(&mut tx).await?;
                revoke_family_in(&mut tx, family_id, now).await?;
                tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl super::RevocationStore for $store {
            async fn revoke_jti(&self, jti: &str, exp: i64, now: i64) -> super::StoreResult<()> {
                let mut tx = self.write_pool.begin().await?;
                lock_feed(&mut tx).await?;
                add_entry(&mut tx, jti, super::EntryKind::Jti, exp, now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn is_denied(&self, token: &super::TokenIds<'_>) -> super::StoreResult<bool> {
                Ok(sqlx::query(
                    "SELECT 1 FROM revoked_jti WHERE (kind = 'jti' AND jti = $1) OR (kind = 'session' AND jti = $2) \
                     OR (kind = 'client' AND jti = $3 AND revoked_at >= $4) OR (kind = 'subject' AND jti = $5 AND revoked_at >= $4)",
                )
                .bind(token.jti)
                .bind(token.sid)
                .bind(token.client_id)
                .bind(token.iat)
                .bind(token.sub)
                .fetch_optional(&self.pool)
                .await?
                .is_some())
            }

            async fn last_revocation(&self) -> super::StoreResult<i64> {
                Ok(
                    sqlx::query_scalar("SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM revoked_jti")
                        .fetch_one(&self.pool)
                        .await?,
                )
            }

            async fn revocations_after(
                &self,
                cursor: i64,
                until: i64,
                limit: i64,
            ) -> super::StoreResult<Vec<super::FeedEntry>> {
                let rows: Vec<super::rows::FeedRow> = sqlx::query_as(
                    "SELECT seq, jti, exp, revoked_at, revoked_ms, kind FROM revoked_jti WHERE seq > $1 AND exp > $2 ORDER BY seq LIMIT $3",
                )
                .bind(cursor)
                .bind(until)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(super::FeedEntry::from).collect())
            }
        }

        #[async_trait::async_trait]
        impl super::SsoStore for $store {
            async fn start_session(
                &self,
                session: &super::SsoSession,
                cookie_hash: &[u8],
                now: i64,
            ) -> super::StoreResult<()> {
                sqlx::query("INSERT INTO sso_sessions (id, cookie_hash, user_id, auth_time, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&session.id)
                    .bind(cookie_hash)
                    .bind(&session.user_id)
                    .bind(session.auth_time)
                    .bind(now)
                    .bind(session.expires_at)
                    .execute(&self.write_pool)
                    .await?;
                Ok(())
            }

            async fn session_by_cookie(
                &self,
                cookie_hash: &[u8],
                now: i64,
            ) -> super::StoreResult<Option<super::SsoSession>> {
                let row: Option<super::rows::SessionRow> = sqlx::query_as(
                    "SELECT * FROM sso_sessions WHERE cookie_hash = $1 AND ended_at IS NULL AND expires_at > $2",
                )
                .bind(cookie_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(super::SsoSession::from))
            }

            async fn consent(
                &self,
                user_id: &str,
                client_id: &str,
            ) -> super::StoreResult<Option<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2",
                )
                .bind(user_id)
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn grant_consent(
                &self,
                user_id: &str,
                client_id: &str,
                scope: &str,
                now: i64,
            ) -> super::StoreResult<()> {
                sqlx::query("INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at")
                    .bind(user_id)
                    .bind(client_id)
                    .bind(scope)
                    .bind(now)
                    .execute(&self.write_pool)
                    .await?;
                Ok(())
            }

            async fn end_session(
                &self,
                session_id: &str,
                now: i64,
                until: i64,
            ) -> super::StoreResult<Option<super::EndedSession>> {
                let mut tx = self.write_pool.begin().await?;
                lock_feed(&mut tx).await?;
                let Some(user_id): Option<String> = sqlx::query_scalar("UPDATE sso_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL AND expires_at > $1 RETURNING user_id")
                    .bind(now)
                    .bind(session_id)
                    .fetch_optional(&mut *tx)
                    .await?
                else {
                    return Ok(None);
                };
                revoke_families_of(&mut tx, "session_id", session_id, now).await?;
                sqlx::query("INSERT INTO revoked_jti (jti, exp, revoked_at) SELECT access_jti, access_exp, $1 FROM auth_codes WHERE session_id = $2 AND access_jti IS NOT NULL AND access_exp > $1 ON CONFLICT (kind, jti) DO NOTHING")
                    .bind(now)
                    .bind(session_id)
                    .execute(&mut *tx)
                    .await?;
                add_entry(&mut tx, session_id, super::EntryKind::Session, until, now).await?;
                let clients: Vec<(String, String)> = sqlx::query_as("SELECT c.id, c.oidc FROM sso_session_clients s JOIN clients c ON c.id = s.client_id WHERE s.session_id = $1 ORDER BY c.id")
                    .bind(session_id)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                super::ended(user_id, clients).map(Some)
            }

            async fn redeem_code(
                &self,
                hash: &[u8],
                code: &super::AuthCode,
                now: i64,
                issue: &super::CodeIssue,
            ) -> super::StoreResult<super::CodeUse> {
                let claimed = self.redeem_unused(hash, code, now, issue).await?;
                let found = if claimed.is_some() {
                    None
                } else {
                    sqlx::query_as("SELECT * FROM auth_codes WHERE hash = $1")
                        .bind(hash)
                        .fetch_optional(&self.pool)
                        .await?
                };
                super::code_use(claimed, found)
            }
        }

        #[async_trait::async_trait]
        impl super::Store for $store {
            async fn watch(&self, on_change: super::OnChange) -> super::StoreResult<bool> {
                self.listen(on_change).await
            }

            async fn ping(&self) -> super::StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn prune(&self, now: i64, keep: i64) -> super::StoreResult<()> {
                let mut tx = self.write_pool.begin().await?;
                sqlx::query("DELETE FROM revoked_jti WHERE exp <= $1")
                    .bind(now.saturating_sub(keep))
                    .execute(&mut *tx)
                    .await?;
                for table in ["refresh_tokens", "refresh_families", "sso_sessions"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE expires_at <= $1"))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("DELETE FROM auth_codes WHERE expires_at <= $1")
                    .bind(now.saturating_sub(super::CODE_MEMORY))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }
        }

        super::ssf::ssf_store!($store);
    };
}

pub(super) use sql_store;
