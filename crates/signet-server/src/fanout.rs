//! One broadcaster per instance for the revocation streams. A single task reads new feed
//! entries from the database (at once when this instance writes one, and once a second for
//! entries written elsewhere: the CLI, another instance) and hands each, rendered once, to
//! every open stream from memory. The cost of a revocation, and of an idle second, does not
//! grow with the number of streams: no stream polls the database.
//!
//! A stream subscribes first, then catches up from the database by its cursor, then takes
//! the broadcast, skipping what it already sent. Entries are broadcast in feed order, so a
//! stream that subscribed before its catch-up read misses nothing; one that falls behind the
//! channel catches up from the database again, by cursor.

use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::Event;
use serde_json::json;
use tokio::sync::{Notify, broadcast};

use crate::store::{EntryKind, FeedEntry};

/// How often the broadcaster looks for entries written by other processes.
const POLL: Duration = Duration::from_millis(250);
/// Entries the channel holds for a slow stream before it must catch up from the database.
const CAPACITY: usize = 4096;
/// The most entries one database read returns.
pub(crate) const PAGE: i64 = 1000;

/// A feed entry as every stream sends it.
#[derive(Debug)]
pub(crate) struct Pushed {
    /// The entry's feed position.
    pub(crate) seq: i64,
    /// The server-sent event, rendered once for all streams.
    pub(crate) event: Event,
}

impl Pushed {
    /// Renders `entry` as the stream's event: `keys` for a withdrawn key, else `revocation`.
    pub(crate) fn of(entry: &FeedEntry) -> Self {
        let name = if entry.kind == EntryKind::Key {
            "keys"
        } else {
            "revocation"
        };
        Self {
            seq: entry.seq,
            event: Event::default()
                .id(entry.seq.to_string())
                .event(name)
                .data(json!(crate::feed::entry_of(entry)).to_string()),
        }
    }
}

/// The broadcaster's handles: wake it, or subscribe to what it sends.
#[derive(Debug)]
pub(crate) struct Fanout {
    sender: broadcast::Sender<Arc<Pushed>>,
    wake: Notify,
}

impl Default for Fanout {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl Fanout {
    /// A broadcaster whose channel keeps `capacity` entries for slow streams.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            sender: broadcast::channel(capacity).0,
            wake: Notify::new(),
        }
    }

    /// Tells the broadcaster that this instance wrote feed entries: it reads them at once.
    pub(crate) fn wake(&self) {
        // One waiter, and a permit kept if it is busy: a wake is never lost.
        self.wake.notify_one();
    }

    /// The entries broadcast from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Pushed>> {
        self.sender.subscribe()
    }

    /// Streams following now.
    pub(crate) fn followers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Sends `page` to every subscriber; returns the cursor after it.
    pub(crate) fn send(&self, page: &[FeedEntry], cursor: i64) -> i64 {
        let mut cursor = cursor;
        for entry in page {
            cursor = cursor.max(entry.seq);
            // No subscriber is not an error: the entries are in the database for later ones.
            let _ = self.sender.send(Arc::new(Pushed::of(entry)));
        }
        cursor
    }

    /// Waits for a wake or the poll interval, whichever comes first.
    pub(crate) async fn woken_or_polled(&self) {
        let _ = tokio::time::timeout(POLL, self.wake.notified()).await;
    }
}
