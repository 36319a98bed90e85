//! The guard as an OpenID Shared Signals receiver, for identity providers that are not Signet:
//! CAEP `session-revoked` events turn into revocation entries, so a guard in front of another
//! provider's tokens refuses a revoked session's tokens at once instead of at their expiry.
//!
//! A session-revoked event about a user (`sub_id` of format `iss_sub`, for the issuer this
//! guard checks) becomes a subject cutoff: every token of that `sub` issued at or before the
//! event. One about a session (format `complex` with a `session`, or `opaque`) ends that `sid`.
//! Security Event Tokens arrive by push ([`SsfReceiver::push_router`], RFC 8935) or are fetched
//! by poll ([`SsfReceiver::poll_forever`], RFC 8936); each is verified against the
//! transmitter's JWKS (`typ: secevent+jwt`, its issuer, this receiver as audience, a fresh
//! `iat`) before anything is applied.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use signet::{KeySet, Validation};

use crate::remote::{check_url, get_json};
use crate::{Guard, RemoteError};

/// CAEP's session-revoked event type.
const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

/// How to reach and trust a transmitter.
///
/// # Examples
///
/// ```no_run
/// use signet_guard::ssf::{SsfOptions, SsfReceiver};
/// # async fn run(guard: signet_guard::Guard) -> Result<(), Box<dyn std::error::Error>> {
/// let receiver = SsfReceiver::discover(guard, SsfOptions::new("https://idp.example.com", "https://orders.example.com")).await?;
/// let push: axum::Router = receiver.push_router(); // mount where the transmitter pushes SETs
/// # let _ = push; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SsfOptions {
    /// The transmitter's issuer URL; its metadata is at `/.well-known/ssf-configuration`.
    pub transmitter: String,
    /// This receiver's identity: the `aud` the transmitter puts into its SETs.
    pub audience: String,
    /// The longest an access token of the provider lives: how long a cutoff is kept (1 h).
    pub max_token_lifetime: Duration,
    /// How old a SET may be, by its `iat` (1 h).
    pub max_set_age: Duration,
    /// **Insecure**: allow plain http to a host that is not loopback.
    pub insecure_http: bool,
}

impl SsfOptions {
    /// Options with the defaults.
    pub fn new(transmitter: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            transmitter: transmitter.into(),
            audience: audience.into(),
            max_token_lifetime: Duration::from_secs(3600),
            max_set_age: Duration::from_secs(3600),
            insecure_http: false,
        }
    }
}

/// Why a SET was refused (the RFC 8935 error codes).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetError {
    /// Not a SET this receiver accepts: bad signature, wrong `typ`, audience or issuer, too
    /// old, or malformed events.
    #[error("{code}: {description}")]
    Invalid {
        /// `invalid_request`, `invalid_key`, `invalid_issuer` or `invalid_audience`.
        code: &'static str,
        /// What was wrong.
        description: String,
    },
}

impl SetError {
    fn invalid(code: &'static str, description: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            description: description.into(),
        }
    }
}

/// What a verified SET changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Applied {
    /// Every token of this subject issued at or before this time is revoked.
    Subject(String, u64),
    /// Every token carrying this `sid` is revoked.
    Session(String),
    /// Nothing: an event this receiver does not act on, or about another issuer's subject.
    Nothing,
}

/// A receiver bound to one guard and one transmitter.
#[derive(Debug, Clone)]
pub struct SsfReceiver {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    guard: Guard,
    options: SsfOptions,
    http: reqwest::Client,
    /// The transmitter's issuer, as its metadata says.
    issuer: String,
    jwks_uri: String,
    keys: RwLock<Arc<KeySet>>,
}

impl SsfReceiver {
    /// Reads the transmitter's metadata and keys.
    pub async fn discover(guard: Guard, options: SsfOptions) -> Result<Self, RemoteError> {
        check_url(&options.transmitter, options.insecure_http)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RemoteError::Invalid(e.to_string()))?;
        let base = options.transmitter.trim_end_matches('/');
        let meta = get_json(
            &http,
            &format!("{base}/.well-known/ssf-configuration"),
            None,
        )
        .await?;
        let text = |name: &str| {
            meta.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| RemoteError::Invalid(format!("the SSF metadata has no {name}")))
        };
        let issuer = text("issuer")?;
        let jwks_uri = text("jwks_uri")?;
        check_url(&jwks_uri, options.insecure_http)?;
        let receiver = Self {
            inner: Arc::new(Inner {
                guard,
                options,
                http,
                issuer,
                jwks_uri,
                keys: RwLock::new(Arc::new(KeySet::new([]))),
            }),
        };
        receiver.fetch_keys().await?;
        Ok(receiver)
    }

    async fn fetch_keys(&self) -> Result<(), RemoteError> {
        let doc = get_json(&self.inner.http, &self.inner.jwks_uri, None).await?;
        let keys = KeySet::from_jwks_json(doc.to_string().as_bytes())
            .map_err(|e| RemoteError::Invalid(e.to_string()))?;
        if let Ok(mut k) = self.inner.keys.write() {
            *k = Arc::new(keys);
        }
        Ok(())
    }

    fn verify_with_keys(
        &self,
        set: &str,
    ) -> Result<signet::Claims<'static, serde_json::Map<String, Value>>, signet::Error> {
        let validation = Validation::builder()
            .issuer(self.inner.issuer.clone())
            .audience(self.inner.options.audience.clone())
            .required_typ("secevent+jwt")
            .insecure_allow_missing_exp() // RFC 8417: a SET has no exp; its iat is bounded below
            .max_age(self.inner.options.max_set_age)
            .clock(self.inner.guard.clock())
            .build();
        let keys = self
            .inner
            .keys
            .read()
            .map(|k| Arc::clone(&k))
            .map_err(|_| signet::Error::UnknownKey)?;
        keys.verify_as(set, &validation)
    }

    /// Verifies a SET (fetching the transmitter's keys again once on an unknown `kid`) and
    /// applies it to the guard.
    pub async fn receive(&self, set: &str) -> Result<Applied, SetError> {
        let claims = match self.verify_with_keys(set) {
            Err(signet::Error::UnknownKey) => {
                self.fetch_keys()
                    .await
                    .map_err(|e| SetError::invalid("invalid_key", e.to_string()))?;
                self.verify_with_keys(set)
            }
            other => other,
        }
        .map_err(|e| {
            let code = match e {
                signet::Error::UnknownKey | signet::Error::InvalidSignature => "invalid_key",
                signet::Error::WrongIssuer => "invalid_issuer",
                signet::Error::WrongAudience => "invalid_audience",
                _ => "invalid_request",
            };
            SetError::invalid(code, e.to_string())
        })?;
        let events = claims
            .custom
            .get("events")
            .and_then(Value::as_object)
            .ok_or_else(|| SetError::invalid("invalid_request", "the SET has no events"))?;
        let Some(event) = events.get(SESSION_REVOKED) else {
            return Ok(Applied::Nothing);
        };
        // SSF puts the subject at the top; CAEP's older form inside the event.
        let subject = claims
            .custom
            .get("sub_id")
            .or_else(|| event.get("subject"))
            .ok_or_else(|| SetError::invalid("invalid_request", "the event names no subject"))?;
        let at = event
            .get("event_timestamp")
            .and_then(Value::as_u64)
            .or(claims.iat.map(|t| t.as_secs()))
            .unwrap_or(0);
        Ok(self.apply(subject, at))
    }

    fn apply(&self, subject: &Value, at: u64) -> Applied {
        let set = self.inner.guard.revocations();
        let until = self
            .inner
            .guard
            .clock()
            .now()
            .saturating_add(self.inner.options.max_token_lifetime.as_secs());
        let format = subject.get("format").and_then(Value::as_str);
        let session = match format {
            Some("complex") => subject.get("session"),
            Some("opaque") => Some(subject),
            _ => None,
        }
        .and_then(|s| s.get("id"))
        .and_then(Value::as_str);
        if let Some(sid) = session {
            set.end_session(sid, until);
            return Applied::Session(sid.to_owned());
        }
        let user = if format == Some("complex") {
            subject.get("user")
        } else {
            Some(subject)
        };
        let sub = user
            .filter(|u| u.get("format").and_then(Value::as_str) == Some("iss_sub"))
            .filter(|u| u.get("iss").and_then(Value::as_str) == Some(self.inner.guard.issuer()))
            .and_then(|u| u.get("sub"))
            .and_then(Value::as_str);
        match sub {
            Some(sub) => {
                set.cut_off_subject(sub, at, until);
                Applied::Subject(sub.to_owned(), at)
            }
            None => Applied::Nothing,
        }
    }

    /// A router whose `POST /` takes pushed SETs (RFC 8935): `202 Accepted` once applied, `400`
    /// with `{"err", "description"}` when refused. Mount it where the transmitter's stream
    /// points, behind the push authorization the stream was configured with.
    pub fn push_router(self) -> axum::Router {
        axum::Router::new()
            .route("/", axum::routing::post(push))
            .with_state(self)
    }

    /// Polls the transmitter's `endpoint` (RFC 8936) forever, sending `authorization` with
    /// each request, applying and acknowledging what arrives (refused SETs are reported back
    /// in `setErrs`). Run it as a task; abort the task to stop.
    pub async fn poll_forever(self, endpoint: String, authorization: signet::SecretString) {
        let mut ack: Vec<String> = Vec::new();
        let mut errs = serde_json::Map::new();
        loop {
            let body = json!({ "ack": ack, "setErrs": errs, "returnImmediately": false, "maxEvents": 100 });
            let answer = self
                .inner
                .http
                .post(&endpoint)
                .timeout(Duration::from_secs(30))
                .header("authorization", authorization.expose())
                .json(&body)
                .send()
                .await;
            let page: Option<Value> = match answer {
                Ok(res) if res.status().is_success() => res.json().await.ok(),
                _ => None,
            };
            let Some(page) = page else {
                tracing::warn!(%endpoint, "SSF poll failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            ack.clear();
            errs.clear();
            for (jti, set) in page
                .get("sets")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                match self.receive(set.as_str().unwrap_or_default()).await {
                    Ok(_) => ack.push(jti.clone()),
                    Err(SetError::Invalid { code, description }) => {
                        errs.insert(
                            jti.clone(),
                            json!({ "err": code, "description": description }),
                        );
                    }
                }
            }
        }
    }
}

async fn push(State(receiver): State<SsfReceiver>, body: Bytes) -> Response {
    let set = String::from_utf8_lossy(&body);
    match receiver.receive(set.trim()).await {
        Ok(_) => StatusCode::ACCEPTED.into_response(),
        Err(SetError::Invalid { code, description }) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "err": code, "description": description })),
        )
            .into_response(),
    }
}
