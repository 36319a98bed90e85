//! The OpenID Shared Signals Framework 1.0 transmitter: what a stream is, the CAEP events the
//! issuer emits (`session-revoked`, `credential-change`) and the SSF verification event, the
//! Security Event Tokens (RFC 8417) they travel in, and their delivery by push (RFC 8935).
//! Events are put into each matching stream's outbox in the store, by whichever process made
//! the change (the CLI too); every issuer instance pushes what is due and retries with
//! backoff until the receiver acknowledges.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::sealing::random_token;
use crate::store::SharedStore;
use crate::store::ssf::{Outgoing, SsfStream};

use super::{DomainError, Issuer};

/// Push delivery (RFC 8935).
pub(crate) const PUSH: &str = "urn:ietf:rfc:8935";
/// Poll delivery (RFC 8936).
pub(crate) const POLL: &str = "urn:ietf:rfc:8936";
/// CAEP: a session (or every session of a subject) was revoked.
pub(crate) const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// CAEP: a credential was created, changed or revoked.
pub(crate) const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
/// SSF: the answer to a verification request.
pub(crate) const VERIFICATION: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// The events a stream can carry.
pub(crate) const SUPPORTED: [&str; 3] = [SESSION_REVOKED, CREDENTIAL_CHANGE, VERIFICATION];

/// The longest wait between two push attempts of one event.
const MAX_BACKOFF: i64 = 30;
/// How often the pusher looks for due events.
const PUSH_POLL: Duration = Duration::from_millis(250);

/// What a receiver configures on a stream.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamConfig {
    /// How events are delivered.
    #[serde(default)]
    pub(crate) delivery: Delivery,
    /// The event types wanted (of `events_supported`).
    #[serde(default)]
    pub(crate) events_requested: Vec<String>,
    /// A note for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
}

/// A stream's delivery method.
#[derive(Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Delivery {
    /// `urn:ietf:rfc:8935` (push, the default) or `urn:ietf:rfc:8936` (poll).
    #[serde(default)]
    pub(crate) method: String,
    /// Push: where SETs are POSTed (https, or http on a loopback address). Poll: set by the
    /// transmitter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) endpoint_url: Option<String>,
    /// Push: the `Authorization` header value sent with each SET (never shown back, and
    /// stored only sealed: see [`Delivery::sealed_authorization`]).
    #[serde(default, skip_serializing)]
    pub(crate) authorization_header: Option<String>,
    /// The stored form of `authorization_header`: sealed under the master key for this stream
    /// ([`authorization_context`]). Never taken from a request, never shown.
    #[serde(default, rename = "authorization_header_sealed", skip_serializing)]
    #[schema(ignore)]
    pub(crate) sealed_authorization: Option<String>,
}

/// The member under which a stream's configuration stores its sealed push header.
pub(crate) const SEALED_AUTHORIZATION: &str = "authorization_header_sealed";

/// What a stream's push header is sealed for: that stream alone.
pub(crate) fn authorization_context(stream_id: &str) -> String {
    format!("ssf-push-authorization:{stream_id}")
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("method", &self.method)
            .field("endpoint_url", &self.endpoint_url)
            .field(
                "authorization_header",
                &self.authorization_header.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "sealed_authorization",
                &self.sealed_authorization.as_ref().map(|_| "[sealed]"),
            )
            .finish()
    }
}

impl StreamConfig {
    /// Checks a configuration a receiver sent and fills in the defaults.
    pub(crate) fn checked(mut self) -> Result<Self, DomainError> {
        if self.delivery.method.is_empty() {
            PUSH.clone_into(&mut self.delivery.method);
        }
        match self.delivery.method.as_str() {
            PUSH => {
                let url =
                    self.delivery
                        .endpoint_url
                        .as_deref()
                        .ok_or(DomainError::InvalidRequest(
                            "push delivery needs delivery.endpoint_url",
                        ))?;
                crate::admin::check_endpoint(url).map_err(|_| {
                    DomainError::InvalidRequest(
                        "delivery.endpoint_url must be an https URL (http only on a loopback address)",
                    )
                })?;
            }
            POLL => self.delivery.endpoint_url = None,
            _ => {
                return Err(DomainError::InvalidRequest(
                    "delivery.method must be urn:ietf:rfc:8935 (push) or urn:ietf:rfc:8936 (poll)",
                ));
            }
        }
        if self.description.as_ref().is_some_and(|d| d.len() > 1024) {
            return Err(DomainError::InvalidRequest("description is too long"));
        }
        self.events_requested.retain(|e| !e.is_empty());
        if self.events_requested.len() > 16 {
            return Err(DomainError::InvalidRequest("too many events requested"));
        }
        Ok(self)
    }

    /// The requested events this transmitter sends.
    pub(crate) fn delivered(&self) -> Vec<&'static str> {
        SUPPORTED
            .into_iter()
            .filter(|e| self.events_requested.iter().any(|r| r == e))
            .collect()
    }

    pub(crate) fn is_push(&self) -> bool {
        self.delivery.method == PUSH
    }
}

/// The stored configuration of a stream (unreadable JSON reads as an empty one, which
/// delivers nothing).
pub(crate) fn config_of(stream: &SsfStream) -> StreamConfig {
    serde_json::from_str(&stream.config).unwrap_or_default()
}

/// What an event is about.
#[derive(Debug, Clone)]
pub(crate) enum Subject<'a> {
    /// A user, by `sub`.
    User(&'a str),
    /// One SSO session of a user.
    Session { user: &'a str, sid: &'a str },
    /// A stream itself (verification).
    Stream(&'a str),
}

impl Subject<'_> {
    /// The subject as stored with the event; its `sub_id` is rendered when it is signed.
    fn stored(&self) -> Value {
        match self {
            Self::User(sub) => json!({ "user": sub }),
            Self::Session { user, sid } => json!({ "user": user, "session": sid }),
            Self::Stream(id) => json!({ "stream": id }),
        }
    }

    fn user(&self) -> Option<&str> {
        match self {
            Self::User(u) | Self::Session { user: u, .. } => Some(u),
            Self::Stream(_) => None,
        }
    }
}

/// The RFC 9493 subject identifier of a stored subject, for issuer `iss`.
fn sub_id(stored: &Value, iss: &str) -> Value {
    let user = stored["user"]
        .as_str()
        .map(|sub| json!({ "format": "iss_sub", "iss": iss, "sub": sub }));
    match (user, stored["session"].as_str(), stored["stream"].as_str()) {
        (Some(user), Some(sid), _) => json!({
            "format": "complex",
            "user": user,
            "session": { "format": "opaque", "id": sid },
        }),
        (Some(user), None, _) => user,
        (None, _, Some(stream)) => json!({ "format": "opaque", "id": stream }),
        _ => json!({ "format": "opaque", "id": "" }),
    }
}

/// Whether a stream's removed subjects (RFC 9493 identifiers naming a user by `sub`) leave
/// this event out.
fn excluded(removed: &[Value], subject: &Subject<'_>) -> bool {
    removed.iter().any(|r| {
        subject
            .user()
            .is_some_and(|u| r.get("sub").and_then(Value::as_str) == Some(u))
    })
}

/// Puts an event into the outbox of every stream that requested its type (a verification
/// event: of its own stream) and has not removed its subject; returns how many streams will
/// get it. A paused stream holds its events until it is enabled; a disabled one gets none.
/// `now` is Unix seconds.
pub(crate) async fn publish(
    store: &SharedStore,
    event_type: &'static str,
    payload: Value,
    subject: Subject<'_>,
    now: i64,
) -> Result<usize, DomainError> {
    let streams = store.streams().await?;
    let mut outbox = Vec::new();
    let stored = subject.stored();
    for stream in streams {
        let targeted = match subject {
            Subject::Stream(id) => id == stream.id,
            _ => config_of(&stream).delivered().contains(&event_type),
        };
        if stream.status == "disabled" || !targeted {
            continue;
        }
        let removed: Vec<Value> = store
            .subjects(&stream.id)
            .await?
            .into_iter()
            .filter(|(_, included)| !included)
            .filter_map(|(s, _)| serde_json::from_str(&s).ok())
            .collect();
        if excluded(&removed, &subject) {
            continue;
        }
        let jti = random_token(16)?;
        let claims = json!({
            "jti": jti,
            "iat": now,
            "subject": stored,
            "events": { event_type: payload },
        });
        outbox.push((stream.id.clone(), jti, claims.to_string()));
    }
    store.enqueue(&outbox, now).await?;
    Ok(outbox.len())
}

/// The CAEP events for a change to a user that revokes all of their sessions.
pub(crate) async fn user_revoked(
    store: &SharedStore,
    sub: &str,
    password_changed: bool,
    now: i64,
) -> Result<(), DomainError> {
    if password_changed {
        let change = json!({
            "event_timestamp": now,
            "initiating_entity": "admin",
            "credential_type": "password",
            "change_type": "update",
        });
        publish(store, CREDENTIAL_CHANGE, change, Subject::User(sub), now).await?;
    }
    let revoked = json!({ "event_timestamp": now, "initiating_entity": "admin" });
    publish(store, SESSION_REVOKED, revoked, Subject::User(sub), now).await?;
    Ok(())
}

/// Signs an outbox event as a Security Event Token (`typ: secevent+jwt`) of issuer `iss` for
/// the stream's receiver `aud`.
pub(crate) fn sign(
    key: &signet::SigningKey,
    iss: &str,
    aud: &str,
    event: &Outgoing,
) -> Result<String, DomainError> {
    let mut claims: Map<String, Value> = serde_json::from_str(&event.claims)
        .map_err(|e| DomainError::Internal(anyhow::Error::new(e)))?;
    let stored = claims.remove("subject").unwrap_or(Value::Null);
    claims.insert("iss".into(), json!(iss));
    claims.insert("aud".into(), json!(aud));
    claims.insert("sub_id".into(), sub_id(&stored, iss));
    let payload = serde_json::to_vec(&claims).map_err(|e| DomainError::Internal(e.into()))?;
    key.signer_with_typ(Some("secevent+jwt"))
        .sign_payload(&payload)
        .map_err(|e| DomainError::Internal(e.into()))
}

/// How long to wait before the next attempt after `attempts` failed ones (1, 2, 4 ... 30 s).
fn backoff(attempts: i64) -> i64 {
    1_i64
        .checked_shl(u32::try_from(attempts.clamp(0, 10)).unwrap_or(10))
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF)
}

/// Pushes due events to their receivers forever (RFC 8935): each POST carries one SET as
/// `application/secevent+jwt`; a 2xx answer acknowledges it, anything else is retried with
/// backoff. Of several instances, one claims each attempt.
pub(crate) async fn push_forever(issuer: Issuer) {
    let Some(http) = super::outbound("SSF push") else {
        return;
    };
    let mut last_prune = 0;
    loop {
        tokio::time::sleep(PUSH_POLL).await;
        let now = issuer.now();
        if now - last_prune >= 60 {
            last_prune = now;
            if let Err(e) = issuer
                .store
                .prune_events(now - 86_400, now - 7 * 86_400)
                .await
            {
                tracing::warn!(error = %e, "SSF outbox pruning failed");
            }
        }
        let due = match issuer.store.due(now, 100).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the SSF outbox");
                continue;
            }
        };
        for event in due {
            if let Err(e) = push_one(&issuer, &http, &event, now).await {
                tracing::warn!(error = %e, stream = %event.stream_id, "SSF push failed; retrying later");
            }
        }
    }
}

async fn push_one(
    issuer: &Issuer,
    http: &reqwest::Client,
    event: &Outgoing,
    now: i64,
) -> Result<(), DomainError> {
    if !issuer
        .store
        .claim(event.seq, now, now + backoff(event.attempts))
        .await?
    {
        return Ok(());
    }
    let Some(stream) = issuer.store.stream(&event.stream_id).await? else {
        return Ok(());
    };
    let config = config_of(&stream);
    let Some(url) = config.delivery.endpoint_url.as_deref() else {
        return Ok(());
    };
    let ring = issuer.keys.current(now).await?;
    let set = sign(
        &ring.active,
        issuer.config.issuer(),
        &stream.client_id,
        event,
    )?;
    let mut request = http
        .post(url)
        .header("content-type", "application/secevent+jwt")
        .header("accept", "application/json")
        .body(set);
    // Stored sealed for this stream alone (see the SSF handlers' `stored`).
    if let Some(sealed) = &config.delivery.sealed_authorization {
        let auth = issuer
            .keys
            .open_secret(&authorization_context(&stream.id), sealed)
            .map_err(DomainError::Internal)?;
        request = request.header("authorization", auth.as_str());
    }
    let answer = request
        .send()
        .await
        .map_err(|e| DomainError::Internal(e.into()))?;
    if answer.status().is_success() {
        issuer
            .store
            .ack(&event.stream_id, std::slice::from_ref(&event.jti), now)
            .await?;
        return Ok(());
    }
    Err(DomainError::Internal(anyhow::anyhow!(
        "the receiver answered {}",
        answer.status()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_render_as_rfc_9493_identifiers() {
        let iss = "https://id.example";
        assert_eq!(
            sub_id(&Subject::User("u1").stored(), iss),
            json!({"format": "iss_sub", "iss": iss, "sub": "u1"})
        );
        assert_eq!(
            sub_id(
                &Subject::Session {
                    user: "u1",
                    sid: "s1"
                }
                .stored(),
                iss
            ),
            json!({"format": "complex", "user": {"format": "iss_sub", "iss": iss, "sub": "u1"}, "session": {"format": "opaque", "id": "s1"}})
        );
        assert_eq!(
            sub_id(&Subject::Stream("st").stored(), iss),
            json!({"format": "opaque", "id": "st"})
        );
    }

    #[test]
    fn push_retries_back_off_to_at_most_thirty_seconds() {
        let waits: Vec<i64> = (0..8).map(backoff).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff(i64::MAX), 30);
    }

    #[test]
    fn push_to_plain_http_off_loopback_is_refused() {
        let config = |url: &str| StreamConfig {
            delivery: Delivery {
                method: PUSH.into(),
                endpoint_url: Some(url.into()),
                ..Delivery::default()
            },
            ..StreamConfig::default()
        };
        assert!(config("http://receiver.example/events").checked().is_err());
        assert!(config("https://receiver.example/events").checked().is_ok());
        assert!(config("http://127.0.0.1:9/events").checked().is_ok());
        assert!(
            StreamConfig {
                delivery: Delivery {
                    method: "smoke-signals".into(),
                    ..Delivery::default()
                },
                ..StreamConfig::default()
            }
            .checked()
            .is_err()
        );
    }

    #[test]
    fn the_push_authorization_header_is_never_shown() {
        let d = Delivery {
            method: PUSH.into(),
            endpoint_url: Some("https://r.example/".into()),
            authorization_header: Some("Bearer s3cret".into()),
            sealed_authorization: Some("c2VhbGVk".into()),
        };
        assert!(!format!("{d:?}").contains("s3cret"));
        assert!(!format!("{d:?}").contains("c2VhbGVk"));
        let shown = serde_json::to_string(&d).unwrap();
        assert!(!shown.contains("s3cret") && !shown.contains("c2VhbGVk"));
    }
}
