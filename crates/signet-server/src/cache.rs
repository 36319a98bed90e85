//! Short-lived caches of clients and users, so that the token endpoint does not read the
//! database for them on every request. Entries live one second: a client or user changed by
//! `signet client` or `signet user` (another process) is seen within that second, and disabling
//! a user revokes their logins at once in the database anyway. On PostgreSQL every instance
//! is told of such a change at once (LISTEN/NOTIFY) and forgets its entries.

use std::collections::HashMap;
use std::future::Future;
use std::sync::RwLock;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(1);
const MAX_ENTRIES: usize = 10_000;

/// Values by key, each fresh for [`TTL`]; absences are cached too.
#[derive(Debug)]
pub(crate) struct TtlCache<V> {
    entries: RwLock<HashMap<String, (Instant, Option<V>)>>,
}

impl<V> Default for TtlCache<V> {
    fn default() -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<V> TtlCache<V> {
    /// Forgets every entry (another instance changed clients or users).
    pub(crate) fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }
}

impl<V: Clone> TtlCache<V> {
    /// The value for `key`, from the cache when fresh, else from `load`.
    pub(crate) async fn get<F>(
        &self,
        key: &str,
        load: impl FnOnce() -> F,
    ) -> Result<Option<V>, crate::store::StoreError>
    where
        F: Future<Output = Result<Option<V>, crate::store::StoreError>>,
    {
        let now = Instant::now();
        if let Ok(entries) = self.entries.read()
            && let Some((at, value)) = entries.get(key)
            && now.duration_since(*at) < TTL
        {
            return Ok(value.clone());
        }
        let value = load().await?;
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_ENTRIES {
                entries.retain(|_, (at, _)| now.duration_since(*at) < TTL);
            }
            if entries.len() < MAX_ENTRIES {
                entries.insert(key.to_owned(), (now, value.clone()));
            }
        }
        Ok(value)
    }
}
