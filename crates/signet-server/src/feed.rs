//! The revocation feed for verifiers: `GET /oauth2/revocations?after=CURSOR` lists denied
//! `jti`s with their `exp`; with `Accept: text/event-stream` the same feed streams as
//! server-sent events, each revocation pushed as it happens. Entries whose tokens have expired
//! are gone from the list, so it stays small. Clients authenticate with HTTP Basic.

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

/// The most entries one page or one burst carries.
const PAGE: i64 = 1000;
/// How often a stream looks for revocations made elsewhere (another instance, the CLI).
const POLL: Duration = Duration::from_secs(1);

#[derive(Debug, serde::Deserialize)]
pub(crate) struct After {
    after: Option<i64>,
}

#[utoipa::path(get, path = "/oauth2/revocations", params(("after" = Option<i64>, Query, description = "Cursor: entries after it")), responses((status = 200, body = crate::openapi::RevocationPage, description = "A page; with `Accept: text/event-stream`, a stream of `revocation` events"), (status = 401, body = crate::openapi::OAuthError)))]
pub(crate) async fn revocations(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<After>,
) -> Result<Response, ApiError> {
    authenticate(&state, &headers, &Form::empty(), false).await?;
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
        return Ok(Sse::new(events(state, cursor))
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(5)))
            .into_response());
    }
    let page = state
        .store
        .revocations_after(cursor, unix_now(), PAGE)
        .await?;
    let next = page.last().map_or(cursor, |(seq, ..)| *seq);
    let entries: Vec<_> = page
        .into_iter()
        .map(|(_, jti, exp, at)| json!({"jti": jti, "exp": exp, "revoked_at": at}))
        .collect();
    Ok(Json(json!({"revocations": entries, "cursor": next})).into_response())
}

/// Revocations after `cursor`, then each new one as it is made.
fn events(state: AppState, cursor: i64) -> impl Stream<Item = Result<Event, Infallible>> {
    let pending: Vec<Event> = Vec::new();
    stream::unfold(
        (state, cursor, pending),
        |(state, mut cursor, mut pending)| async move {
            loop {
                if let Some(event) = pending.pop() {
                    return Some((Ok(event), (state, cursor, pending)));
                }
                let notified = state.revoked.notified();
                match state
                    .store
                    .revocations_after(cursor, unix_now(), PAGE)
                    .await
                {
                    Ok(page) if !page.is_empty() => {
                        cursor = page.last().map_or(cursor, |(seq, ..)| *seq);
                        // Popped from the end: store newest first.
                        pending = page
                            .into_iter()
                            .rev()
                            .map(|(seq, jti, exp, at)| {
                                Event::default()
                                    .id(seq.to_string())
                                    .event("revocation")
                                    .data(
                                        json!({"jti": jti, "exp": exp, "revoked_at": at})
                                            .to_string(),
                                    )
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
