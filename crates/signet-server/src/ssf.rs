//! The Shared Signals transmitter's HTTP side (OpenID SSF 1.0): its configuration metadata
//! at `/.well-known/ssf-configuration`, the stream management endpoints (`/ssf/streams`,
//! `/ssf/status`, `/ssf/subjects:add`, `/ssf/subjects:remove`, `/ssf/verify`) and poll
//! delivery (RFC 8936, `/ssf/poll/{stream_id}`). Receivers authenticate as a confidential
//! client with the `admin` or `ssf` role, by HTTP Basic or with an access token of such a
//! client from this issuer (`Authorization: Bearer`); each sees and manages only the streams
//! it created. Events themselves are made in [`crate::domain::ssf`].

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::domain::ssf::{self, StreamConfig, Subject};
use crate::error::ApiError;
use crate::form::{Form, authenticate, json_body};
use crate::store::Client;
use crate::store::ssf::SsfStream;

/// The most events one poll answer carries.
const MAX_POLL: i64 = 100;
/// How long a poll that asked to wait waits for an event.
const POLL_WAIT: Duration = Duration::from_secs(10);

/// The calling receiver: a client with the `admin` or `ssf` role.
async fn receiver(state: &AppState, headers: &HeaderMap) -> Result<Client, ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let client = match bearer {
        Some(token) => {
            let refused = ApiError::InvalidToken("the access token is invalid, expired or revoked");
            let claims = crate::domain::tokens::own_access_token(state, token.trim())
                .await
                .ok_or(refused)?;
            let live = claims
                .exp
                .is_some_and(|e| i64::try_from(e.as_secs()).unwrap_or(i64::MAX) > state.now());
            let ids = crate::domain::tokens::token_ids(&claims);
            if !live || state.store.is_denied(&ids).await? {
                return Err(ApiError::InvalidToken(
                    "the access token is invalid, expired or revoked",
                ));
            }
            state
                .clients
                .get(ids.client_id, || state.store.client(ids.client_id))
                .await?
                .ok_or(ApiError::InvalidToken(
                    "the token's client no longer exists",
                ))?
        }
        None => authenticate(state, headers, &Form::empty(), false).await?,
    };
    if !client.roles.iter().any(|r| r == "admin" || r == "ssf") {
        return Err(ApiError::Forbidden(
            "the client has neither the ssf nor the admin role",
        ));
    }
    Ok(client)
}

/// A stream of the calling receiver.
async fn own_stream(state: &AppState, client: &Client, id: &str) -> Result<SsfStream, ApiError> {
    match state.store.stream(id).await? {
        Some(s) if s.client_id == client.id => Ok(s),
        _ => Err(ApiError::NotFound(format!("no stream {id}"))),
    }
}

/// A stream as receivers read it.
fn view(state: &AppState, stream: &SsfStream) -> Value {
    let config = ssf::config_of(stream);
    let iss = state.config.issuer();
    let mut delivery = json!({ "method": config.delivery.method });
    let endpoint = if config.is_push() {
        config.delivery.endpoint_url.clone()
    } else {
        Some(format!("{iss}/ssf/poll/{}", stream.id))
    };
    delivery["endpoint_url"] = json!(endpoint);
    let mut out = json!({
        "stream_id": stream.id,
        "iss": iss,
        "aud": stream.client_id,
        "events_supported": ssf::SUPPORTED,
        "events_requested": config.events_requested,
        "events_delivered": config.delivered(),
        "delivery": delivery,
        "min_verification_interval": 0,
    });
    if let Some(d) = config.description {
        out["description"] = json!(d);
    }
    out
}

/// `GET /.well-known/ssf-configuration`: the transmitter's metadata.
#[utoipa::path(get, path = "/.well-known/ssf-configuration", responses((status = 200, description = "SSF transmitter configuration metadata")))]
pub(crate) async fn configuration(State(state): State<AppState>) -> Response {
    let iss = state.config.issuer();
    Json(json!({
        "spec_version": "1_0",
        "issuer": iss,
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "delivery_methods_supported": [ssf::PUSH, ssf::POLL],
        "configuration_endpoint": format!("{iss}/ssf/streams"),
        "status_endpoint": format!("{iss}/ssf/status"),
        "add_subject_endpoint": format!("{iss}/ssf/subjects:add"),
        "remove_subject_endpoint": format!("{iss}/ssf/subjects:remove"),
        "verification_endpoint": format!("{iss}/ssf/verify"),
        "authorization_schemes": [{ "spec_urn": "urn:ietf:rfc:6749" }],
        "default_subjects": "ALL",
    }))
    .into_response()
}

/// The read-only members a receiver may send back unchanged.
const READ_ONLY: [&str; 6] = [
    "iss",
    "aud",
    "events_supported",
    "events_delivered",
    "min_verification_interval",
    "stream_id",
];

/// A stream configuration from a request body, read-only members dropped.
fn config_from(mut body: Map<String, Value>) -> Result<StreamConfig, ApiError> {
    for k in READ_ONLY {
        body.remove(k);
    }
    let config: StreamConfig = serde_json::from_value(Value::Object(body)).map_err(|_| {
        ApiError::InvalidRequest("the stream configuration has unknown or malformed members")
    })?;
    Ok(config.checked()?)
}

/// A request body without what only the transmitter writes: a receiver cannot plant a sealed
/// push header.
fn from_receiver(mut body: Map<String, Value>) -> Map<String, Value> {
    if let Some(delivery) = body.get_mut("delivery").and_then(Value::as_object_mut) {
        delivery.remove(ssf::SEALED_AUTHORIZATION);
    }
    body
}

/// The configuration of stream `id` as stored. The push header is write-only towards receivers
/// but kept for delivery, sealed under the master key for this stream alone.
fn stored(state: &AppState, id: &str, config: &StreamConfig) -> Result<String, ApiError> {
    let mut value = serde_json::to_value(config).map_err(|e| ApiError::Internal(e.into()))?;
    let sealed = match &config.delivery.authorization_header {
        Some(plain) => Some(
            state
                .keys
                .seal_secret(&ssf::authorization_context(id), plain)
                .map_err(ApiError::Internal)?,
        ),
        None => config.delivery.sealed_authorization.clone(),
    };
    if let Some(sealed) = sealed {
        value["delivery"][ssf::SEALED_AUTHORIZATION] = json!(sealed);
    }
    Ok(value.to_string())
}

#[derive(Debug, Deserialize)]
pub(crate) struct StreamQuery {
    stream_id: Option<String>,
}

fn query_id(q: Result<Query<StreamQuery>, QueryRejection>) -> Result<Option<String>, ApiError> {
    q.map(|Query(q)| q.stream_id)
        .map_err(|_| ApiError::InvalidRequest("stream_id must be a string"))
}

/// `POST /ssf/streams`: creates a stream.
#[utoipa::path(post, path = "/ssf/streams", request_body(content = StreamConfig, content_type = "application/json"), security(("client_basic" = [])), responses((status = 201, description = "The stream's configuration"), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let client = receiver(&state, &headers).await?;
    let body: Map<String, Value> = json_body(raw)?;
    let config = config_from(from_receiver(body))?;
    let id = crate::sealing::random_token(16)?;
    let stream = SsfStream {
        config: stored(&state, &id, &config)?,
        id,
        client_id: client.id.clone(),
        push: i64::from(config.is_push()),
        status: "enabled".into(),
        reason: None,
        created_at: state.now(),
    };
    state.store.add_stream(&stream).await?;
    tracing::info!(stream = %stream.id, client = %client.id, "SSF stream created");
    Ok((StatusCode::CREATED, Json(view(&state, &stream))).into_response())
}

/// `GET /ssf/streams[?stream_id=]`: one stream, or all of the receiver's.
#[utoipa::path(get, path = "/ssf/streams", params(("stream_id" = Option<String>, Query, description = "One stream; all of the caller's when left out")), security(("client_basic" = [])), responses((status = 200, description = "A stream's configuration, or a list of them"), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let client = receiver(&state, &headers).await?;
    match query_id(q)? {
        Some(id) => Ok(Json(view(&state, &own_stream(&state, &client, &id).await?))),
        None => {
            let all: Vec<Value> = state
                .store
                .streams()
                .await?
                .iter()
                .filter(|s| s.client_id == client.id)
                .map(|s| view(&state, s))
                .collect();
            Ok(Json(Value::Array(all)))
        }
    }
}

/// Applies a PATCH (merge) or PUT (replace) of a stream's configuration.
async fn change(
    state: &AppState,
    headers: &HeaderMap,
    raw: Result<Bytes, BytesRejection>,
    replace: bool,
) -> Result<Json<Value>, ApiError> {
    let client = receiver(state, headers).await?;
    let body: Map<String, Value> = json_body(raw)?;
    let id = body
        .get("stream_id")
        .and_then(Value::as_str)
        .ok_or(ApiError::InvalidRequest("stream_id is required"))?
        .to_owned();
    let mut stream = own_stream(state, &client, &id).await?;
    let body = from_receiver(body);
    let merged = if replace {
        body
    } else {
        let mut current: Map<String, Value> =
            serde_json::from_str(&stream.config).map_err(|e| {
                crate::store::StoreError::Other(format!(
                    "stream {id} has a corrupt configuration: {e}"
                ))
            })?;
        current.extend(body);
        current
    };
    let config = config_from(merged)?;
    stream.config = stored(state, &id, &config)?;
    stream.push = i64::from(config.is_push());
    if !state.store.save_stream(&stream).await? {
        return Err(ApiError::NotFound(format!("no stream {id}")));
    }
    Ok(Json(view(state, &stream)))
}

/// `PATCH /ssf/streams`: changes the members given.
#[utoipa::path(patch, path = "/ssf/streams", request_body(content = StreamConfig, content_type = "application/json", description = "stream_id and the members to change"), security(("client_basic" = [])), responses((status = 200, description = "The stream's configuration"), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    change(&state, &headers, raw, false).await
}

/// `PUT /ssf/streams`: replaces the configuration.
#[utoipa::path(put, path = "/ssf/streams", request_body(content = StreamConfig, content_type = "application/json", description = "stream_id and the whole configuration"), security(("client_basic" = [])), responses((status = 200, description = "The stream's configuration"), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn replace(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    change(&state, &headers, raw, true).await
}

/// `DELETE /ssf/streams?stream_id=`: deletes a stream and its undelivered events.
#[utoipa::path(delete, path = "/ssf/streams", params(("stream_id" = String, Query, description = "The stream")), security(("client_basic" = [])), responses((status = 204, description = "Deleted"), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let client = receiver(&state, &headers).await?;
    let id = query_id(q)?.ok_or(ApiError::InvalidRequest("stream_id is required"))?;
    if !state.store.delete_stream(&id, &client.id).await? {
        return Err(ApiError::NotFound(format!("no stream {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

fn status_view(stream: &SsfStream) -> Value {
    let mut out = json!({ "stream_id": stream.id, "status": stream.status });
    if let Some(r) = &stream.reason {
        out["reason"] = json!(r);
    }
    out
}

/// `GET /ssf/status?stream_id=`: whether the stream is enabled, paused or disabled.
#[utoipa::path(get, path = "/ssf/status", params(("stream_id" = String, Query, description = "The stream")), security(("client_basic" = [])), responses((status = 200, description = "The stream's status"), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let client = receiver(&state, &headers).await?;
    let id = query_id(q)?.ok_or(ApiError::InvalidRequest("stream_id is required"))?;
    Ok(Json(status_view(&own_stream(&state, &client, &id).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusChange {
    stream_id: String,
    status: String,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /ssf/status`: enables, pauses (events are held) or disables (events are dropped) a
/// stream.
#[utoipa::path(post, path = "/ssf/status", security(("client_basic" = [])), responses((status = 200, description = "The stream's status"), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn set_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let client = receiver(&state, &headers).await?;
    let change: Option<StatusChange> = json_body(raw)?;
    let change = change.ok_or(ApiError::InvalidRequest(
        "stream_id and status are required",
    ))?;
    if !["enabled", "paused", "disabled"].contains(&change.status.as_str()) {
        return Err(ApiError::InvalidRequest(
            "status must be enabled, paused or disabled",
        ));
    }
    let mut stream = own_stream(&state, &client, &change.stream_id).await?;
    stream.status = change.status;
    stream.reason = change.reason.filter(|r| r.len() <= 1024);
    if !state.store.save_stream(&stream).await? {
        return Err(ApiError::NotFound(format!("no stream {}", stream.id)));
    }
    Ok(Json(status_view(&stream)))
}

#[derive(Debug, Deserialize)]
struct SubjectChange {
    stream_id: String,
    subject: Value,
}

/// Adds or removes a subject of a stream.
async fn subject(
    state: &AppState,
    headers: &HeaderMap,
    raw: Result<Bytes, BytesRejection>,
    included: bool,
) -> Result<(), ApiError> {
    let client = receiver(state, headers).await?;
    let change: Option<SubjectChange> = json_body(raw)?;
    let change = change.ok_or(ApiError::InvalidRequest(
        "stream_id and subject are required",
    ))?;
    if !change.subject.get("format").is_some_and(Value::is_string) {
        return Err(ApiError::InvalidRequest(
            "subject must be an RFC 9493 subject identifier (with a format)",
        ));
    }
    let stream = own_stream(state, &client, &change.stream_id).await?;
    state
        .store
        .set_subject(&stream.id, &change.subject.to_string(), included)
        .await?;
    Ok(())
}

/// `POST /ssf/subjects:add`: adds a subject (every subject is in a stream by default).
#[utoipa::path(post, path = "/ssf/subjects:add", security(("client_basic" = [])), responses((status = 200, description = "Added"), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn add_subject(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    subject(&state, &headers, raw, true).await?;
    Ok(StatusCode::OK)
}

/// `POST /ssf/subjects:remove`: no more events about this subject on the stream.
#[utoipa::path(post, path = "/ssf/subjects:remove", security(("client_basic" = [])), responses((status = 204, description = "Removed"), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn remove_subject(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    subject(&state, &headers, raw, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    stream_id: String,
    #[serde(default)]
    state: Option<String>,
}

/// `POST /ssf/verify`: sends a verification event, with the receiver's `state`, down the
/// stream.
#[utoipa::path(post, path = "/ssf/verify", security(("client_basic" = [])), responses((status = 204, description = "The verification event is on its way"), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let client = receiver(&state, &headers).await?;
    let asked: Option<VerifyRequest> = json_body(raw)?;
    let asked = asked.ok_or(ApiError::InvalidRequest("stream_id is required"))?;
    let stream = own_stream(&state, &client, &asked.stream_id).await?;
    let mut payload = json!({});
    if let Some(s) = asked.state.filter(|s| s.len() <= 1024) {
        payload["state"] = json!(s);
    }
    let now = state.now();
    ssf::publish(
        &state.store,
        ssf::VERIFICATION,
        payload,
        Subject::Stream(&stream.id),
        now,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PollRequest {
    ack: Vec<String>,
    max_events: Option<i64>,
    return_immediately: Option<bool>,
    set_errs: Map<String, Value>,
}

/// `POST /ssf/poll/{stream_id}` (RFC 8936): acknowledges the SETs named in `ack` (and in
/// `setErrs`), and returns up to `maxEvents` unacknowledged ones, waiting up to 10 s for one
/// unless `returnImmediately`.
#[utoipa::path(post, path = "/ssf/poll/{stream_id}", params(("stream_id" = String, Path, description = "The stream")), security(("client_basic" = [])), responses((status = 200, description = "{\"sets\": {jti: SET}, \"moreAvailable\": bool}"), (status = 400, body = crate::wire::OAuthError), (status = 401, body = crate::wire::OAuthError), (status = 403, body = crate::wire::OAuthError), (status = 404, body = crate::wire::OAuthError)))]
pub(crate) async fn poll(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let client = receiver(&state, &headers).await?;
    let Path(id) = path.map_err(|_| ApiError::InvalidRequest("the path must name a stream"))?;
    let stream = own_stream(&state, &client, &id).await?;
    if ssf::config_of(&stream).is_push() {
        return Err(ApiError::InvalidRequest(
            "this stream delivers by push, not poll",
        ));
    }
    let asked: PollRequest = json_body(raw)?;
    let mut done = asked.ack;
    done.extend(asked.set_errs.keys().cloned());
    if !done.is_empty() {
        state.store.ack(&id, &done, state.now()).await?;
    }
    let max = asked.max_events.unwrap_or(MAX_POLL).clamp(0, MAX_POLL);
    let started = tokio::time::Instant::now();
    let pending = loop {
        let pending = state.store.pending(&id, max + 1).await?;
        if !pending.is_empty()
            || max == 0
            || asked.return_immediately.unwrap_or(false)
            || started.elapsed() >= POLL_WAIT
        {
            break pending;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let more = i64::try_from(pending.len()).unwrap_or(i64::MAX) > max;
    let ring = state.keys.current(state.now()).await?;
    let mut sets = Map::new();
    for event in pending.iter().take(usize::try_from(max).unwrap_or(0)) {
        let set = ssf::sign(
            &ring.active,
            state.config.issuer(),
            &stream.client_id,
            event,
        )?;
        sets.insert(event.jti.clone(), json!(set));
    }
    Ok(Json(json!({ "sets": sets, "moreAvailable": more })))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_receiver_cannot_plant_a_sealed_push_header() {
        let body = json!({"delivery": {
            "method": "urn:ietf:rfc:8935",
            "endpoint_url": "https://r.example/events",
            "authorization_header_sealed": "copied-from-another-stream",
        }});
        let config = config_from(from_receiver(body.as_object().unwrap().clone())).unwrap();
        assert!(config.delivery.sealed_authorization.is_none());
        assert_eq!(
            config.delivery.endpoint_url.as_deref(),
            Some("https://r.example/events")
        );
    }
}
