//! The store of the Shared Signals transmitter: streams, their subjects, and the outbox of
//! Security Event Tokens. The statements are the same on both backends (`$N` parameters,
//! which sqlx binds by number on SQLite too), so one implementation serves
//! both through [`ssf_store!`].

use async_trait::async_trait;

use super::StoreResult;

/// A stream a receiver created.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SsfStream {
    pub(crate) id: String,
    /// The client that created it, and alone may manage it and receive its events.
    pub(crate) client_id: String,
    /// The stream's configuration as the receiver set it (JSON: delivery, events requested,
    /// description).
    pub(crate) config: String,
    /// 1 for push delivery, 0 for poll.
    pub(crate) push: i64,
    /// `enabled`, `paused` or `disabled`.
    pub(crate) status: String,
    pub(crate) reason: Option<String>,
    pub(crate) created_at: i64,
}

/// An event waiting in a stream's outbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Outgoing {
    pub(crate) seq: i64,
    pub(crate) stream_id: String,
    pub(crate) jti: String,
    /// The SET's claims without `iss`, `aud` and `sub_id`, which are set when it is signed.
    pub(crate) claims: String,
    pub(crate) attempts: i64,
}

/// Streams, subjects and outboxes.
#[async_trait]
pub(crate) trait SsfStore {
    async fn add_stream(&self, stream: &SsfStream) -> StoreResult<()>;
    async fn stream(&self, id: &str) -> StoreResult<Option<SsfStream>>;
    /// Every stream, by creation.
    async fn streams(&self) -> StoreResult<Vec<SsfStream>>;
    /// Replaces a stream's configuration and status; false if the client has no such stream.
    async fn save_stream(&self, stream: &SsfStream) -> StoreResult<bool>;
    /// Deletes a stream with its outbox; false if the client has no such stream.
    async fn delete_stream(&self, id: &str, client_id: &str) -> StoreResult<bool>;
    /// Adds (`included`) or removes a subject (its JSON) of a stream.
    async fn set_subject(&self, stream_id: &str, subject: &str, included: bool) -> StoreResult<()>;
    /// The subjects added to or removed from a stream.
    async fn subjects(&self, stream_id: &str) -> StoreResult<Vec<(String, bool)>>;
    /// Puts events into outboxes, in one transaction: (stream, jti, claims).
    async fn enqueue(&self, events: &[(String, String, String)], now: i64) -> StoreResult<()>;
    /// Unacknowledged events of enabled push streams due for an attempt, oldest first.
    async fn due(&self, now: i64, limit: i64) -> StoreResult<Vec<Outgoing>>;
    /// Claims a due event for one attempt, not retried before `retry_at`; false if another
    /// instance took it or it was acknowledged meanwhile.
    async fn claim(&self, seq: i64, now: i64, retry_at: i64) -> StoreResult<bool>;
    /// Unacknowledged events of a stream, oldest first (poll delivery).
    async fn pending(&self, stream_id: &str, limit: i64) -> StoreResult<Vec<Outgoing>>;
    /// Acknowledges events of a stream by `jti`; returns how many were waiting.
    async fn ack(&self, stream_id: &str, jtis: &[String], now: i64) -> StoreResult<u64>;
    /// Forgets events acknowledged before `acked_before` and any made before `made_before`.
    async fn prune_events(&self, acked_before: i64, made_before: i64) -> StoreResult<()>;
}

/// Implements [`SsfStore`] for a store with `pool` (reads) and `write_pool` (writes) fields.
macro_rules! ssf_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::ssf::SsfStore for $store {
            async fn add_stream(
                &self,
                s: &$crate::store::ssf::SsfStream,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("INSERT INTO ssf_streams (id, client_id, config, push, status, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(&s.id)
                    .bind(&s.client_id)
                    .bind(&s.config)
                    .bind(s.push)
                    .bind(&s.status)
                    .bind(&s.reason)
                    .bind(s.created_at)
                    .execute(&self.write_pool)
                    .await?;
                Ok(())
            }

            async fn stream(
                &self,
                id: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::ssf::SsfStream>> {
                Ok(sqlx::query_as("SELECT * FROM ssf_streams WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn streams(
                &self,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ssf::SsfStream>> {
                Ok(sqlx::query_as("SELECT * FROM ssf_streams ORDER BY created_at, id")
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn save_stream(
                &self,
                s: &$crate::store::ssf::SsfStream,
            ) -> $crate::store::StoreResult<bool> {
                Ok(sqlx::query("UPDATE ssf_streams SET config = $1, push = $2, status = $3, reason = $4 WHERE id = $5 AND client_id = $6")
                    .bind(&s.config)
                    .bind(s.push)
                    .bind(&s.status)
                    .bind(&s.reason)
                    .bind(&s.id)
                    .bind(&s.client_id)
                    .execute(&self.write_pool)
                    .await?
                    .rows_affected()
                    == 1)
            }

            async fn delete_stream(
                &self,
                id: &str,
                client_id: &str,
            ) -> $crate::store::StoreResult<bool> {
                Ok(sqlx::query("DELETE FROM ssf_streams WHERE id = $1 AND client_id = $2")
                    .bind(id)
                    .bind(client_id)
                    .execute(&self.write_pool)
                    .await?
                    .rows_affected()
                    == 1)
            }

            async fn set_subject(
                &self,
                stream_id: &str,
                subject: &str,
                included: bool,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("INSERT INTO ssf_subjects (stream_id, subject, included) VALUES ($1, $2, $3) ON CONFLICT (stream_id, subject) DO UPDATE SET included = excluded.included")
                    .bind(stream_id)
                    .bind(subject)
                    .bind(i64::from(included))
                    .execute(&self.write_pool)
                    .await?;
                Ok(())
            }

            async fn subjects(
                &self,
                stream_id: &str,
            ) -> $crate::store::StoreResult<Vec<(String, bool)>> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT subject, included FROM ssf_subjects WHERE stream_id = $1 ORDER BY subject",
                )
                .bind(stream_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(|(s, i)| (s, i != 0)).collect())
            }

            async fn enqueue(
                &self,
                events: &[(String, String, String)],
                now: i64,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.write_pool.begin().await?;
                for (stream, jti, claims) in events {
                    sqlx::query("INSERT INTO ssf_events (stream_id, jti, claims, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(stream)
                        .bind(jti)
                        .bind(claims)
                        .bind(now)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn due(
                &self,
                now: i64,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ssf::Outgoing>> {
                Ok(sqlx::query_as("SELECT e.seq, e.stream_id, e.jti, e.claims, e.attempts FROM ssf_events e JOIN ssf_streams s ON s.id = e.stream_id WHERE e.acked_at IS NULL AND e.next_attempt_at <= $1 AND s.push = 1 AND s.status = 'enabled' ORDER BY e.seq LIMIT $2")
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn claim(
                &self,
                seq: i64,
                now: i64,
                retry_at: i64,
            ) -> $crate::store::StoreResult<bool> {
                Ok(sqlx::query("UPDATE ssf_events SET next_attempt_at = $1, attempts = attempts + 1 WHERE seq = $2 AND acked_at IS NULL AND next_attempt_at <= $3")
                    .bind(retry_at)
                    .bind(seq)
                    .bind(now)
                    .execute(&self.write_pool)
                    .await?
                    .rows_affected()
                    == 1)
            }

            async fn pending(
                &self,
                stream_id: &str,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ssf::Outgoing>> {
                Ok(sqlx::query_as("SELECT seq, stream_id, jti, claims, attempts FROM ssf_events WHERE stream_id = $1 AND acked_at IS NULL ORDER BY seq LIMIT $2")
                    .bind(stream_id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn ack(
                &self,
                stream_id: &str,
                jtis: &[String],
                now: i64,
            ) -> $crate::store::StoreResult<u64> {
                let mut tx = self.write_pool.begin().await?;
                let mut acked = 0;
                for jti in jtis {
                    acked += sqlx::query("UPDATE ssf_events SET acked_at = $1 WHERE stream_id = $2 AND jti = $3 AND acked_at IS NULL")
                        .bind(now)
                        .bind(stream_id)
                        .bind(jti)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
                Ok(acked)
            }

            async fn prune_events(
                &self,
                acked_before: i64,
                made_before: i64,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("DELETE FROM ssf_events WHERE acked_at < $1 OR created_at < $2")
                    .bind(acked_before)
                    .bind(made_before)
                    .execute(&self.write_pool)
                    .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use ssf_store;
