//! Group commit: concurrent writes of one kind (refresh-token claims, new authorization codes,
//! code redemptions) are gathered and committed together, one statement and one durable
//! commit for the lot, so the write path's cost per request falls as the load grows while
//! every answer still waits for its commit.
//!
//! Which writes win does not change by batching: a batch holds each key (a token's or a
//! code's hash) once, so a second use of a token already in the batch waits for the next one
//! and then finds it used; across processes the database's row locks decide as before. A
//! batch that fails is tried again one write at a time, so one bad write fails alone.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::rows::FamilyRow;
use super::{AuthCode, CodeIssue, StoreError, StoreResult, Successor};

/// The most writes committed together.
const MAX_BATCH: usize = 128;
/// How often the committing task steps aside before it takes what is waiting.
const YIELDS: usize = 3;

/// One refresh token to claim.
#[derive(Debug)]
pub(super) struct Claim {
    /// The presented token's hash.
    pub(super) hash: Vec<u8>,
    /// The client presenting it: only a token of this client's logins is claimed.
    pub(super) client_id: String,
    /// The time of the request, in Unix seconds.
    pub(super) now: i64,
    /// The successor to store if the claim wins.
    pub(super) next: Successor,
}

impl Claim {
    /// A claim of token `hash` by `client_id` at `now`, storing `next` if it wins.
    pub(super) fn new(hash: &[u8], client_id: &str, now: i64, next: &Successor) -> Self {
        Self {
            hash: hash.to_vec(),
            client_id: client_id.to_owned(),
            now,
            next: next.clone(),
        }
    }
}

/// One authorization code presented.
#[derive(Debug)]
pub(super) struct Redemption {
    /// The code's hash.
    pub(super) hash: Vec<u8>,
    /// What it holds, stored if this use wins.
    pub(super) code: AuthCode,
    /// The time of the request, in Unix seconds.
    pub(super) now: i64,
    /// What this use issues, recorded if it wins.
    pub(super) issue: CodeIssue,
}

/// A kind of write that has a key no batch may hold twice.
pub(super) trait Keyed {
    /// The key: a token's or a code's hash.
    fn key(&self) -> &[u8];
}

impl<T: Keyed> Keyed for &T {
    fn key(&self) -> &[u8] {
        (**self).key()
    }
}

impl Keyed for Claim {
    fn key(&self) -> &[u8] {
        &self.hash
    }
}

impl Keyed for Redemption {
    fn key(&self) -> &[u8] {
        &self.hash
    }
}

/// A backend's statement that commits many writes of one kind in one transaction.
#[async_trait]
pub(super) trait CommitAll: Send + Sync + 'static {
    /// One write.
    type Item: Keyed + Send + Sync + 'static;
    /// What one write answers.
    type Out: Send + 'static;
    /// Commits `items` (distinct keys) in one transaction; one answer per item, in order.
    async fn commit_all(&self, items: &[Self::Item]) -> StoreResult<Vec<Self::Out>>;
}

/// The claims' backend statement: the family of each token claimed, `None` for the others.
pub(super) type Claimed = Option<FamilyRow>;

/// Puts the rows a statement returned, each with its key, in the order of `items`: the row
/// of each item, `None` for those that returned none.
pub(super) fn in_order<I: Keyed, T>(items: &[I], mut rows: Vec<(Vec<u8>, T)>) -> Vec<Option<T>> {
    items
        .iter()
        .map(|item| {
            rows.iter()
                .position(|(key, _)| key.as_slice() == item.key())
                .map(|i| rows.swap_remove(i).1)
        })
        .collect()
}

type Waiter<B> = (
    <B as CommitAll>::Item,
    oneshot::Sender<StoreResult<<B as CommitAll>::Out>>,
);

/// The queue of writes in front of one backend statement; the task that commits them ends
/// when the last clone of this is dropped.
pub(super) struct Batch<B: CommitAll> {
    queue: mpsc::Sender<Waiter<B>>,
}

impl<B: CommitAll> Clone for Batch<B> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<B: CommitAll> std::fmt::Debug for Batch<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch").finish_non_exhaustive()
    }
}

impl<B: CommitAll> Batch<B> {
    /// Starts the committing task over `backend`, with at most `in_flight` batches committing
    /// at once (1 where the database takes one writer at a time).
    pub(super) fn start(backend: B, in_flight: usize) -> Self {
        let (queue, waiting) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(commit_loop(Arc::new(backend), waiting, in_flight));
        Self { queue }
    }

    /// Commits `item` with the next batch; returns once that batch has committed (or failed,
    /// and then nothing of `item` was stored).
    pub(super) async fn write(&self, item: B::Item) -> StoreResult<B::Out> {
        let (answer, answered) = oneshot::channel();
        let gone = || StoreError::Unavailable("the store is closing".into());
        self.queue.send((item, answer)).await.map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}

/// Takes what is waiting (at least one write, at most [`MAX_BATCH`], each key once) as soon
/// as a batch may start, commits it, answers each waiter, and goes on until every sender is
/// gone. Writes arriving while `in_flight` batches are committing wait and form the next one.
async fn commit_loop<B: CommitAll>(
    backend: Arc<B>,
    mut waiting: mpsc::Receiver<Waiter<B>>,
    in_flight: usize,
) {
    let slots = Arc::new(Semaphore::new(in_flight.max(1)));
    let mut held: Vec<Waiter<B>> = Vec::new();
    loop {
        if held.is_empty() {
            match waiting.recv().await {
                Some(waiter) => held.push(waiter),
                None => return,
            }
        }
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        // Let the requests already running reach their writes, so they join this batch.
        for _ in 0..YIELDS {
            tokio::task::yield_now().await;
        }
        let mut batch: Vec<Waiter<B>> = Vec::new();
        let mut later: Vec<Waiter<B>> = Vec::new();
        for waiter in held.drain(..) {
            take::<B>(&mut batch, &mut later, waiter);
        }
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(waiter) => take::<B>(&mut batch, &mut later, waiter),
                Err(_) => break,
            }
        }
        held = later;
        let backend = Arc::clone(&backend);
        tokio::spawn(async move {
            commit(backend.as_ref(), batch).await;
            drop(slot);
        });
    }
}

/// Commits one batch and answers its waiters; a batch of several that fails is committed
/// again one write at a time.
async fn commit<B: CommitAll>(backend: &B, batch: Vec<Waiter<B>>) {
    let (items, answers): (Vec<B::Item>, Vec<_>) = batch.into_iter().unzip();
    match backend.commit_all(&items).await {
        Ok(outs) if outs.len() == items.len() => {
            for (out, answer) in outs.into_iter().zip(answers) {
                let _ = answer.send(Ok(out));
            }
        }
        Ok(_) => {
            for answer in answers {
                let _ = answer.send(Err(StoreError::Unavailable(
                    "a group commit answered for the wrong number of writes".into(),
                )));
            }
        }
        Err(e) if items.len() == 1 => {
            for answer in answers {
                let _ = answer.send(Err(e.clone()));
            }
        }
        Err(_) => {
            for (item, answer) in items.into_iter().zip(answers) {
                let alone = std::slice::from_ref(&item);
                let out = backend.commit_all(alone).await.and_then(|mut outs| {
                    outs.pop().ok_or_else(|| {
                        StoreError::Unavailable("a group commit answered nothing".into())
                    })
                });
                let _ = answer.send(out);
            }
        }
    }
}

/// Adds `waiter` to `batch`, or to `later` when its key is in the batch already.
fn take<B: CommitAll>(batch: &mut Vec<Waiter<B>>, later: &mut Vec<Waiter<B>>, waiter: Waiter<B>) {
    if batch.len() < MAX_BATCH && !batch.iter().any(|(w, _)| w.key() == waiter.0.key()) {
        batch.push(waiter);
    } else {
        later.push(waiter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write keyed by one byte; the statement refuses any batch that holds key 0.
    struct Byte([u8; 1]);

    impl Keyed for Byte {
        fn key(&self) -> &[u8] {
            &self.0
        }
    }

    /// Records the keys of each batch it is given.
    struct RefusesZero {
        batches: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    }

    #[async_trait]
    impl CommitAll for RefusesZero {
        type Item = Byte;
        type Out = u8;

        async fn commit_all(&self, items: &[Byte]) -> StoreResult<Vec<u8>> {
            self.batches
                .lock()
                .unwrap()
                .push(items.iter().map(|i| i.0[0]).collect());
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            if items.iter().any(|i| i.0[0] == 0) {
                return Err(StoreError::Unavailable("key 0".into()));
            }
            Ok(items.iter().map(|i| i.0[0]).collect())
        }
    }

    #[tokio::test]
    async fn one_bad_write_fails_alone_and_a_key_is_never_twice_in_a_batch() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let batch = Batch::start(
            RefusesZero {
                batches: Arc::clone(&seen),
            },
            1,
        );
        // Keep the committer busy so that the next writes gather into one batch.
        let first = tokio::spawn({
            let batch = batch.clone();
            async move { batch.write(Byte([9])).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let writes: Vec<_> = [1u8, 0, 2, 2]
            .into_iter()
            .map(|k| {
                let batch = batch.clone();
                tokio::spawn(async move { batch.write(Byte([k])).await })
            })
            .collect();
        assert_eq!(first.await.unwrap().unwrap(), 9);
        let mut answers = Vec::new();
        for w in writes {
            answers.push(w.await.unwrap());
        }
        assert_eq!(answers[0].as_ref().ok(), Some(&1));
        assert!(answers[1].is_err(), "the bad write fails");
        assert_eq!(answers[2].as_ref().ok(), Some(&2));
        assert_eq!(answers[3].as_ref().ok(), Some(&2));
        let batches = seen.lock().unwrap().clone();
        for keys in &batches {
            let mut distinct = keys.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(
                distinct.len(),
                keys.len(),
                "a key twice in one batch: {batches:?}"
            );
        }
    }
}
