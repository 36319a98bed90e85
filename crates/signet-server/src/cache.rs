//! Short-lived caches of clients and users, so that the token endpoint does not read the
//! database for them on every request. A value read at `t` is served as it is until
//! `t + FRESH`; from then until `t + STALE` one request reads it again while the others are
//! still answered with what was read, so a busy endpoint never waits on the database for a
//! value that is merely getting old; past `t + STALE` every request waits for a new read.
//! A client or user changed by `signet client` or `signet user` (another process) is
//! therefore seen within [`STALE`], and disabling a user revokes their logins at once in the
//! database anyway. On PostgreSQL every instance is told of such a change at once
//! (LISTEN/NOTIFY) and forgets its entries; a read that was under way then is not kept.

use std::collections::HashMap;
use std::future::Future;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a value is served without a new read.
const FRESH: Duration = Duration::from_millis(500);
/// How long a value may be served at all: between [`FRESH`] and this, while one request
/// reads it again.
const STALE: Duration = Duration::from_secs(1);
const MAX_ENTRIES: usize = 10_000;

/// One value and when it was read.
#[derive(Debug)]
struct Entry<V> {
    /// When the read that gave it began.
    read_at: Instant,
    /// The value; `None` when there is none (absences are cached too).
    value: Option<V>,
    /// Whether a request is reading it again.
    rereading: bool,
}

/// What a lookup found in the cache.
enum Found<V> {
    /// A value to answer with.
    Serve(Option<V>),
    /// Nothing that may be served: read and wait.
    Read,
    /// A value getting old: this request reads it again (the others serve it meanwhile).
    Reread,
}

/// Values by key, see the module's documentation.
#[derive(Debug)]
pub(crate) struct TtlCache<V> {
    entries: RwLock<HashMap<String, Entry<V>>>,
    /// Counts [`TtlCache::clear`]s: a read begun before one is not kept.
    generation: AtomicU64,
}

impl<V> Default for TtlCache<V> {
    fn default() -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }
}

impl<V> TtlCache<V> {
    /// Forgets every entry (another instance changed clients or users), and every read under
    /// way.
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }
}

impl<V: Clone> TtlCache<V> {
    /// The value for `key`: cached, or read by `load` as the module's documentation says.
    pub(crate) async fn get<F>(
        &self,
        key: &str,
        load: impl FnOnce() -> F,
    ) -> Result<Option<V>, crate::store::StoreError>
    where
        F: Future<Output = Result<Option<V>, crate::store::StoreError>>,
    {
        self.get_at(Instant::now(), key, load).await
    }

    /// [`TtlCache::get`] at the instant `now`.
    async fn get_at<F>(
        &self,
        now: Instant,
        key: &str,
        load: impl FnOnce() -> F,
    ) -> Result<Option<V>, crate::store::StoreError>
    where
        F: Future<Output = Result<Option<V>, crate::store::StoreError>>,
    {
        let found = match self.entries.read() {
            Ok(entries) => look(entries.get(key), now),
            Err(_) => Found::Read,
        };
        let found = match found {
            Found::Reread => self.claim_reread(key, now),
            other => other,
        };
        let rereading = match found {
            Found::Serve(value) => return Ok(value),
            Found::Read => false,
            Found::Reread => true,
        };
        let generation = self.generation.load(Ordering::SeqCst);
        let read = load().await;
        let Ok(mut entries) = self.entries.write() else {
            return read;
        };
        match &read {
            Ok(value) if self.generation.load(Ordering::SeqCst) == generation => {
                if entries.len() >= MAX_ENTRIES {
                    entries.retain(|_, entry| now.duration_since(entry.read_at) < STALE);
                }
                if entries.len() < MAX_ENTRIES || entries.contains_key(key) {
                    let entry = Entry {
                        read_at: now,
                        value: value.clone(),
                        rereading: false,
                    };
                    entries.insert(key.to_owned(), entry);
                }
            }
            // A failed reread lets the next request try.
            Err(_) if rereading => {
                if let Some(entry) = entries.get_mut(key) {
                    entry.rereading = false;
                }
            }
            _ => {}
        }
        read
    }
}

impl<V: Clone> TtlCache<V> {
    /// Looks at `key` again under the write lock, so that of the requests finding its value
    /// getting old only one rereads it: that one gets [`Found::Reread`] and the entry is
    /// marked, the others are served.
    fn claim_reread(&self, key: &str, now: Instant) -> Found<V> {
        let Ok(mut entries) = self.entries.write() else {
            return Found::Read;
        };
        let found = look(entries.get(key), now);
        if let (Found::Reread, Some(entry)) = (&found, entries.get_mut(key)) {
            entry.rereading = true;
        }
        found
    }
}

/// What `entry` allows at `now`: a getting-old entry already being reread is served rather
/// than reread twice.
fn look<V: Clone>(entry: Option<&Entry<V>>, now: Instant) -> Found<V> {
    let Some(entry) = entry else {
        return Found::Read;
    };
    let age = now.saturating_duration_since(entry.read_at);
    if age < FRESH || (age < STALE && entry.rereading) {
        Found::Serve(entry.value.clone())
    } else if age < STALE {
        Found::Reread
    } else {
        Found::Read
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A cache holding "a" for key "k", read at `at`.
    async fn holding_a(at: Instant) -> TtlCache<String> {
        let cache = TtlCache::default();
        let got = cache
            .get_at(at, "k", || async { Ok(Some("a".to_owned())) })
            .await;
        assert_eq!(got.unwrap().as_deref(), Some("a"));
        cache
    }

    #[tokio::test]
    async fn a_fresh_value_is_served_without_a_read() {
        let t0 = Instant::now();
        let cache = holding_a(t0).await;
        let got = cache
            .get_at(t0 + FRESH / 2, "k", || async { panic!("read while fresh") })
            .await;
        assert_eq!(got.unwrap().as_deref(), Some("a"));
    }

    #[tokio::test]
    async fn a_value_getting_old_is_reread_by_one_request_while_the_others_are_served() {
        let t0 = Instant::now();
        let cache = holding_a(t0).await;
        let later = t0 + FRESH + (STALE - FRESH) / 2;
        let reads = AtomicUsize::new(0);
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let rereader = cache.get_at(later, "k", || async {
            reads.fetch_add(1, Ordering::SeqCst);
            wait.await.unwrap();
            Ok(Some("b".to_owned()))
        });
        let others = async {
            // While the reread waits on the database, others get the old value at once.
            tokio::task::yield_now().await;
            for _ in 0..3 {
                let got = cache
                    .get_at(later, "k", || async { panic!("a second reread") })
                    .await;
                assert_eq!(got.unwrap().as_deref(), Some("a"));
            }
            release.send(()).unwrap();
        };
        let (reread, ()) = tokio::join!(rereader, others);
        assert_eq!(reread.unwrap().as_deref(), Some("b"));
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        let got = cache
            .get_at(later, "k", || async { panic!("read although just reread") })
            .await;
        assert_eq!(got.unwrap().as_deref(), Some("b"));
    }

    #[tokio::test]
    async fn a_value_past_its_stale_limit_is_never_served() {
        let t0 = Instant::now();
        let cache = holding_a(t0).await;
        let got = cache.get_at(t0 + STALE, "k", || async { Ok(None) }).await;
        assert_eq!(got.unwrap(), None, "the deleted value was served");
    }

    #[tokio::test]
    async fn a_failed_reread_lets_the_next_request_reread() {
        let t0 = Instant::now();
        let cache = holding_a(t0).await;
        let later = t0 + FRESH;
        let failed = cache
            .get_at(later, "k", || async {
                Err(crate::store::StoreError::Unavailable("down".into()))
            })
            .await;
        assert!(failed.is_err());
        let reread = cache
            .get_at(later, "k", || async { Ok(Some("b".to_owned())) })
            .await;
        assert_eq!(reread.unwrap().as_deref(), Some("b"));
    }

    #[tokio::test]
    async fn a_read_under_way_when_the_cache_is_cleared_is_not_kept() {
        // The read began before another instance's change was announced: it may hold the
        // value from before the change, so the next request must read again.
        let t0 = Instant::now();
        let cache: TtlCache<String> = TtlCache::default();
        let got = cache
            .get_at(t0, "k", || async {
                cache.clear();
                Ok(Some("before the change".to_owned()))
            })
            .await;
        assert_eq!(got.unwrap().as_deref(), Some("before the change"));
        let got = cache
            .get_at(t0, "k", || async { Ok(Some("after".to_owned())) })
            .await;
        assert_eq!(got.unwrap().as_deref(), Some("after"));
    }
}
