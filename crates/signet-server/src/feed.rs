//! The revocation feed for verifiers: `GET /oauth2/revocations?after=CURSOR` lists denied
//! `jti`s with their `exp`; with `Accept: text/event-stream` the same feed streams as
//! server-sent events, each revocation pushed as it happens (from the instance's one
//! broadcaster, [`crate::fanout`]). An entry stays in the feed until
//! `retention` seconds after its token's `exp` (the page and discovery say how long), so that
//! a verifier allowing that much clock leeway never accepts a token whose revocation it has
//! not seen. A withdrawn signing key is a `key` entry (`{"kid": ..., "keys_changed": true}`),
//! on which verifiers fetch the keys again at once; a client or subject cutoff
//! (`{"client_id": ..., "issued_before": T}`, `{"sub": ..., "issued_before": T}`) denies every
//! token of that client or user issued at or before T; a session entry (`{"sid": ...}`) every
//! token carrying that SSO session id. Clients authenticate with HTTP Basic; the number of open
//! streams is capped per client and in all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast;

use crate::app::AppState;
use crate::error::ApiError;
use crate::fanout::{PAGE, Pushed};
use crate::form::{Form, authenticate};
use crate::store::{EntryKind, FeedEntry};

/// Open revocation streams, in all and per client.
#[derive(Debug, Default)]
pub(crate) struct StreamCount {
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream; counted until dropped.
#[derive(Debug)]
struct StreamSlot {
    count: Arc<StreamCount>,
    client: String,
}

impl StreamCount {
    fn open(
        self: &Arc<Self>,
        client: &str,
        total: usize,
        per_client: usize,
    ) -> Result<StreamSlot, ApiError> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if open.values().sum::<usize>() >= total {
            return Err(ApiError::Busy("too many revocation streams open"));
        }
        let mine = open.entry(client.to_owned()).or_default();
        if *mine >= per_client {
            return Err(ApiError::TooManyStreams);
        }
        *mine += 1;
        Ok(StreamSlot {
            count: Arc::clone(self),
            client: client.to_owned(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self
            .count
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// An entry as verifiers read it.
pub(crate) fn entry_of(e: &FeedEntry) -> crate::wire::Revocation {
    let id = |kind: EntryKind| (e.kind == kind).then(|| e.id.clone());
    let cutoff = matches!(e.kind, EntryKind::Client | EntryKind::Subject);
    crate::wire::Revocation {
        jti: id(EntryKind::Jti),
        kid: id(EntryKind::Key),
        keys_changed: (e.kind == EntryKind::Key).then_some(true),
        client_id: id(EntryKind::Client),
        sub: id(EntryKind::Subject),
        issued_before: cutoff.then_some(e.revoked_at),
        sid: id(EntryKind::Session),
        exp: e.exp,
        revoked_at: e.revoked_ms,
    }
}

/// Entries are listed while `exp` is after this time.
fn listed_after(state: &AppState) -> i64 {
    state.now() - i64::try_from(state.config.revocation_retention.as_secs()).unwrap_or(0)
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct After {
    after: Option<i64>,
}

#[utoipa::path(get, path = "/oauth2/revocations", params(("after" = Option<i64>, Query, description = "Cursor: entries after it")), responses((status = 200, body = crate::wire::RevocationPage, description = "A page; with `Accept: text/event-stream`, a stream of `revocation` events"), (status = 401, body = crate::wire::OAuthError), (status = 400, body = crate::wire::OAuthError), (status = 429, body = crate::wire::OAuthError), (status = 503, body = crate::wire::OAuthError)))]
pub(crate) async fn revocations(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<After>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) =
        query.map_err(|_| ApiError::InvalidRequest("after must be a cursor (an integer)"))?;
    let client = authenticate(&state, &headers, &Form::empty(), false).await?;
    let last_event = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let cursor = last_event.or(q.after).unwrap_or(0).max(0);
    let wants_stream = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if wants_stream {
        let slot = state.streams.open(
            &client.id,
            state.config.max_streams,
            state.config.max_streams_per_client,
        )?;
        let events = events(state, cursor, slot)
            .map(|pushed| Ok::<_, std::convert::Infallible>(pushed.event.clone()));
        return Ok(Sse::new(events)
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(5)))
            .into_response());
    }
    let page = state
        .store
        .revocations_after(cursor, listed_after(&state), PAGE)
        .await?;
    let next = page.last().map_or(cursor, |e| e.seq);
    Ok(Json(crate::wire::RevocationPage {
        revocations: page.iter().map(entry_of).collect(),
        cursor: next,
        retention_seconds: state.config.revocation_retention.as_secs(),
    })
    .into_response())
}

/// The instance's one broadcaster (see [`crate::fanout`]): reads the entries written since
/// the last read, when woken by this instance's writes or once a second, and sends them to
/// every open stream. Ends when the server stops.
pub(crate) async fn broadcaster(state: AppState) {
    // Entries already written are read from the database by each stream's catch-up.
    let mut cursor = match state.store.last_revocation().await {
        Ok(seq) => seq,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "revocation feed query failed");
            0
        }
    };
    let mut stopping = state.stopping.clone();
    loop {
        tokio::select! {
            () = state.fanout.woken_or_polled() => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
        loop {
            match state
                .store
                .revocations_after(cursor, listed_after(&state), PAGE)
                .await
            {
                Ok(page) => {
                    cursor = state.fanout.send(&page, cursor);
                    if i64::try_from(page.len()).unwrap_or(0) < PAGE {
                        break;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "revocation feed query failed");
                    break;
                }
            }
        }
    }
}

/// Where a stream is: catching up from the database, or following the broadcast.
struct Following {
    state: AppState,
    /// The last entry sent.
    cursor: i64,
    /// Read from the database, not yet sent; popped from the end.
    pending: Vec<Arc<Pushed>>,
    caught_up: bool,
    broadcast: broadcast::Receiver<Arc<Pushed>>,
    _slot: StreamSlot,
}

/// Revocations after `cursor`, then each new one as the broadcaster sends it.
fn events(state: AppState, cursor: i64, slot: StreamSlot) -> impl Stream<Item = Arc<Pushed>> {
    // Subscribed before the first read: whatever is broadcast later is received, whatever was
    // broadcast before is in the database already.
    let broadcast = state.fanout.subscribe();
    let following = Following {
        state,
        cursor,
        pending: Vec::new(),
        caught_up: false,
        broadcast,
        _slot: slot,
    };
    stream::unfold(following, |mut f| async move {
        loop {
            if let Some(pushed) = f.pending.pop() {
                return Some((pushed, f));
            }
            if !f.caught_up {
                match f
                    .state
                    .store
                    .revocations_after(f.cursor, listed_after(&f.state), PAGE)
                    .await
                {
                    Ok(page) if !page.is_empty() => {
                        f.cursor = page.last().map_or(f.cursor, |e| e.seq);
                        f.pending = page.iter().rev().map(|e| Arc::new(Pushed::of(e))).collect();
                        continue;
                    }
                    Ok(_) => f.caught_up = true,
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "revocation feed query failed");
                        // Try the database again after the next broadcast or a second.
                        let _ =
                            tokio::time::timeout(Duration::from_secs(1), f.broadcast.recv()).await;
                        continue;
                    }
                }
            }
            let mut stopping = f.state.stopping.clone();
            if *stopping.borrow() {
                return None;
            }
            tokio::select! {
                received = f.broadcast.recv() => match received {
                    Ok(pushed) if pushed.seq > f.cursor => {
                        f.cursor = pushed.seq;
                        return Some((pushed, f));
                    }
                    // Sent already, from the database.
                    Ok(_) => {}
                    // Fell behind the channel: catch up from the database by cursor.
                    Err(broadcast::error::RecvError::Lagged(_)) => f.caught_up = false,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = stopping.changed() => return None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::config::Config;
    use crate::fanout::Fanout;

    /// The stream's next entry's cursor, or `None` when it waits for more.
    async fn next_seq(stream: &mut (impl Stream<Item = Arc<Pushed>> + Unpin)) -> Option<i64> {
        tokio::time::timeout(Duration::from_millis(100), stream.next())
            .await
            .ok()
            .flatten()
            .map(|pushed| pushed.seq)
    }

    #[tokio::test]
    async fn a_stream_that_fell_behind_the_broadcast_catches_up_from_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new();
        config.data_dir = dir.path().to_path_buf();
        let mut state = AppState::open(config).await.unwrap();
        // Room for two entries: a burst of ten leaves a stream that is not reading behind.
        state.issuer_mut().fanout = Arc::new(Fanout::with_capacity(2));
        let slot = state.streams.open("backend", 10, 10).unwrap();
        let mut stream = Box::pin(events(state.clone(), 0, slot));
        // Caught up on an empty feed, it now waits on the broadcast.
        assert_eq!(next_seq(&mut stream).await, None);
        let now = state.now();
        for i in 0..10 {
            state
                .store
                .revoke_jti(&format!("jti-{i}"), now + 600, now)
                .await
                .unwrap();
        }
        let page = state.store.revocations_after(0, 0, PAGE).await.unwrap();
        assert_eq!(state.fanout.send(&page, 0), page[9].seq);
        let mut seen = Vec::new();
        while let Some(seq) = next_seq(&mut stream).await {
            seen.push(seq);
        }
        let wanted: Vec<i64> = page.iter().map(|e| e.seq).collect();
        assert_eq!(seen, wanted, "every entry once, in order");
        assert_eq!(state.fanout.followers(), 1);
        drop(stream);
        assert_eq!(state.fanout.followers(), 0);
    }
}
