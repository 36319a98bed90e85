//! The revocation feed for verifiers: `GET /oauth2/revocations?after=CURSOR` lists denied
//! `jti`s with their `exp`; with `Accept: text/event-stream` the same feed streams as
//! server-sent events, each revocation pushed as it happens. An entry stays in the feed until
//! `retention` seconds after its token's `exp` (the page and discovery say how long), so that
//! a verifier allowing that much clock leeway never accepts a token whose revocation it has
//! not seen. A withdrawn signing key is a `key` entry (`{"kid": ..., "keys_changed": true}`),
//! on which verifiers fetch the keys again at once; a deleted client is a client cutoff
//! (`{"client_id": ..., "issued_before": T}`: every token issued to it at or before T). Clients authenticate with HTTP Basic; the
//! number of open streams is capped per client and in all.

use std::collections::HashMap;
use std::sync::Mutex;

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde_json::json;

use crate::app::{AppState, unix_now};
use crate::error::ApiError;
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
    count: std::sync::Arc<StreamCount>,
    client: String,
}

impl StreamCount {
    fn open(
        self: &std::sync::Arc<Self>,
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
            count: std::sync::Arc::clone(self),
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
fn entry_of(e: &FeedEntry) -> crate::wire::Revocation {
    crate::wire::Revocation {
        jti: (e.kind == EntryKind::Jti).then(|| e.id.clone()),
        kid: (e.kind == EntryKind::Key).then(|| e.id.clone()),
        keys_changed: (e.kind == EntryKind::Key).then_some(true),
        client_id: (e.kind == EntryKind::Client).then(|| e.id.clone()),
        issued_before: (e.kind == EntryKind::Client).then_some(e.revoked_at),
        exp: e.exp,
        revoked_at: e.revoked_at,
    }
}

/// Entries are listed while `exp` is after this time.
fn listed_after(state: &AppState) -> i64 {
    unix_now() - i64::try_from(state.config.revocation_retention.as_secs()).unwrap_or(0)
}

/// The most entries one page or one burst carries.
const PAGE: i64 = 1000;
/// How often a stream looks for revocations made elsewhere (another instance, the CLI).
const POLL: Duration = Duration::from_secs(1);

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
        return Ok(Sse::new(events(state, cursor, slot))
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

/// Revocations after `cursor`, then each new one as it is made.
fn events(
    state: AppState,
    cursor: i64,
    slot: StreamSlot,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let pending: Vec<Event> = Vec::new();
    stream::unfold(
        (state, cursor, pending, slot),
        |(state, mut cursor, mut pending, slot)| async move {
            loop {
                if let Some(event) = pending.pop() {
                    return Some((Ok(event), (state, cursor, pending, slot)));
                }
                let notified = state.revoked.notified();
                match state
                    .store
                    .revocations_after(cursor, listed_after(&state), PAGE)
                    .await
                {
                    Ok(page) if !page.is_empty() => {
                        cursor = page.last().map_or(cursor, |e| e.seq);
                        // Popped from the end: store newest first.
                        pending = page
                            .iter()
                            .rev()
                            .map(|e| {
                                Event::default()
                                    .id(e.seq.to_string())
                                    .event(if e.kind == EntryKind::Key {
                                        "keys"
                                    } else {
                                        "revocation"
                                    })
                                    .data(json!(entry_of(e)).to_string())
                            })
                            .collect();
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "revocation feed query failed")
                    }
                }
                let mut stopping = state.stopping.clone();
                if *stopping.borrow() {
                    return None;
                }
                tokio::select! {
                    _ = tokio::time::timeout(POLL, notified) => {}
                    _ = stopping.changed() => return None,
                }
            }
        },
    )
}
