//! Group commit for refresh rotations: concurrent claims of refresh tokens are gathered and
//! committed together, one statement and one durable commit for the lot, so the write path's
//! cost per rotation falls as the load grows while every answer still waits for its commit.
//!
//! A claim is what both backends' rotation starts with: mark a live token used and store its
//! successor. Which claims win does not change by batching: a batch holds each token once (a
//! second claim of a token already in the batch waits for the next one, and then finds it
//! used), and across processes the database's row locks decide as before.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::rows::FamilyRow;
use super::{Family, StoreError, StoreResult, Successor};

/// The most claims committed together.
const MAX_BATCH: usize = 128;

/// One token to claim.
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

/// A backend's statement that claims many tokens in one transaction.
#[async_trait]
pub(super) trait ClaimAll: Send + Sync + 'static {
    /// Claims each of `claims` (distinct hashes) in one transaction: a live token of a live
    /// family of the claim's client is marked used and its successor stored. Returns the hash and family of every
    /// token claimed; a token not claimed (unknown, expired, used) is absent.
    async fn claim_all(&self, claims: &[Claim]) -> StoreResult<Vec<(Vec<u8>, FamilyRow)>>;
}

type Waiter = (Claim, oneshot::Sender<StoreResult<Option<Family>>>);

/// The queue of claims in front of one backend; the task that commits them ends when the last
/// clone of this is dropped.
#[derive(Debug, Clone)]
pub(super) struct Claims {
    queue: mpsc::Sender<Waiter>,
}

impl Claims {
    /// Starts the committing task over `backend`, with at most `in_flight` batches committing
    /// at once (1 where the database takes one writer at a time).
    pub(super) fn start(backend: impl ClaimAll, in_flight: usize) -> Self {
        let (queue, waiting) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(commit_loop(Arc::new(backend), waiting, in_flight));
        Self { queue }
    }

    /// Claims the token `hash` for `client_id`: its family if this claim won, `None` if the token was not claimed.
    /// Returns once the batch holding it has committed (or failed, and then nothing of it was
    /// stored).
    pub(super) async fn claim(
        &self,
        hash: &[u8],
        client_id: &str,
        now: i64,
        next: &Successor,
    ) -> StoreResult<Option<Family>> {
        let claim = Claim {
            hash: hash.to_vec(),
            client_id: client_id.to_owned(),
            now,
            next: next.clone(),
        };
        let (answer, answered) = oneshot::channel();
        let gone = || StoreError::Unavailable("the store is closing".into());
        self.queue.send((claim, answer)).await.map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}

/// Takes what is waiting (at least one claim, at most [`MAX_BATCH`], each token once) as soon
/// as a batch may start, commits it, answers each waiter, and goes on until every sender is
/// gone. Claims arriving while `in_flight` batches are committing wait and form the next one.
async fn commit_loop(
    backend: Arc<impl ClaimAll>,
    mut waiting: mpsc::Receiver<Waiter>,
    in_flight: usize,
) {
    let slots = Arc::new(Semaphore::new(in_flight.max(1)));
    let mut held: Vec<Waiter> = Vec::new();
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
        let mut batch: Vec<Waiter> = Vec::new();
        let mut later: Vec<Waiter> = Vec::new();
        for waiter in held.drain(..) {
            take(&mut batch, &mut later, waiter);
        }
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(waiter) => take(&mut batch, &mut later, waiter),
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

/// Commits one batch and answers its waiters.
async fn commit(backend: &impl ClaimAll, batch: Vec<Waiter>) {
    let (claims, answers): (Vec<Claim>, Vec<_>) = batch.into_iter().unzip();
    match backend.claim_all(&claims).await {
        Ok(mut won) => {
            for (claim, answer) in claims.iter().zip(answers) {
                let family = won
                    .iter()
                    .position(|(hash, _)| *hash == claim.hash)
                    .map(|i| Family::from(won.swap_remove(i).1));
                let _ = answer.send(Ok(family));
            }
        }
        Err(e) => {
            for answer in answers {
                let _ = answer.send(Err(e.clone()));
            }
        }
    }
}

/// Adds `waiter` to `batch`, or to `later` when its token is in the batch already.
fn take(batch: &mut Vec<Waiter>, later: &mut Vec<Waiter>, waiter: Waiter) {
    if batch.len() < MAX_BATCH && !batch.iter().any(|(c, _)| c.hash == waiter.0.hash) {
        batch.push(waiter);
    } else {
        later.push(waiter);
    }
}
