//! Keys and revocations from the issuer: OpenID / RFC 8414 discovery, a JWKS client (periodic
//! refresh, a refetch on an unknown `kid` at most once per cooldown and shared by concurrent
//! misses, last good keys kept while the issuer is unreachable), and a follower of the
//! issuer's revocation stream that falls back to polling.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION};
use serde_json::Value;
use signet::KeySet;

use crate::Guard;
use crate::guard::WeakGuard;

/// Why talking to the issuer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The request failed or timed out.
    #[error("cannot reach {0}")]
    Unreachable(String),
    /// The answer was not what the endpoint should give.
    #[error("{0}")]
    Invalid(String),
}

/// The JWKS client.
#[derive(Debug)]
pub(crate) struct Jwks {
    clock: std::sync::Arc<dyn signet::Clock>,
    http: reqwest::Client,
    url: String,
    cooldown: Duration,
    last_fetch: Mutex<Option<Instant>>,
    generation: AtomicU64,
    inflight: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
    /// The issuer's `Cache-Control: max-age` on the last fetch, in seconds.
    max_age: AtomicU64,
    /// When the keys were last fetched successfully (Unix seconds).
    last_success: AtomicU64,
}

const MAX_BODY: usize = 1 << 20;

/// The time limit of one plain request (discovery, JWKS, a poll of the feed).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Refuses a URL that is not https, except plain http to a loopback host (the host is parsed,
/// not matched as text: `http://127.0.0.1@example.com/` goes to example.com), unless
/// `insecure` allows plain http anywhere.
///
/// # Examples
///
/// ```
/// use signet_guard::check_url;
/// assert!(check_url("https://auth.example.com", false).is_ok());
/// assert!(check_url("http://127.0.0.1:8080", false).is_ok());
/// assert!(check_url("http://127.0.0.1@example.com/", false).is_err()); // its host is example.com
/// ```
pub fn check_url(url: &str, insecure: bool) -> Result<(), RemoteError> {
    let parsed =
        reqwest::Url::parse(url).map_err(|_| RemoteError::Invalid(format!("{url}: not a URL")))?;
    let loopback = parsed.host_str().is_some_and(signet::web::is_loopback_host);
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback || insecure => Ok(()),
        _ => Err(RemoteError::Invalid(format!(
            "refusing {url}: keys and revocations must come over https (plain http only to a loopback host)"
        ))),
    }
}

/// Whether two URLs share scheme, host and port.
pub(crate) fn same_origin(a: &str, b: &str) -> bool {
    match (reqwest::Url::parse(a), reqwest::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// A GET that must be answered 2xx with a body of at most [`MAX_BODY`] bytes: the body, and
/// the `max-age` of the answer's `Cache-Control`, if any.
pub(crate) async fn get_body(
    http: &reqwest::Client,
    url: &str,
    auth: Option<&str>,
) -> Result<(axum::body::Bytes, Option<u64>), RemoteError> {
    let mut req = http.get(url).timeout(REQUEST_TIMEOUT);
    if let Some(a) = auth {
        req = req.header(AUTHORIZATION, a);
    }
    let res = req
        .send()
        .await
        .map_err(|_| RemoteError::Unreachable(url.to_owned()))?;
    if !res.status().is_success() {
        return Err(RemoteError::Invalid(format!(
            "{url}: HTTP {}",
            res.status().as_u16()
        )));
    }
    let max_age = res
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|d| d.trim().strip_prefix("max-age=")?.parse::<u64>().ok())
        });
    let body = res
        .bytes()
        .await
        .map_err(|_| RemoteError::Unreachable(url.to_owned()))?;
    if body.len() > MAX_BODY {
        return Err(RemoteError::Invalid(format!("{url}: answer too large")));
    }
    Ok((body, max_age))
}

/// A GET answered with JSON (see [`get_body`]).
pub(crate) async fn get_json(
    http: &reqwest::Client,
    url: &str,
    auth: Option<&str>,
) -> Result<Value, RemoteError> {
    let (body, _) = get_body(http, url, auth).await?;
    serde_json::from_slice(&body).map_err(|_| RemoteError::Invalid(format!("{url}: not JSON")))
}

/// The key set of the JWKS document `body` fetched from `url`, read once from its bytes.
pub(crate) fn parse_jwks(url: &str, body: &[u8]) -> Result<KeySet, RemoteError> {
    KeySet::from_jwks_json(body)
        .map_err(|e| RemoteError::Invalid(format!("{url}: not a JWKS: {e}")))
}

impl Jwks {
    pub(crate) fn new(
        http: reqwest::Client,
        url: String,
        cooldown: Duration,
        clock: std::sync::Arc<dyn signet::Clock>,
    ) -> Self {
        Self {
            clock,
            http,
            url,
            cooldown,
            last_fetch: Mutex::new(None),
            generation: AtomicU64::new(0),
            inflight: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
            max_age: AtomicU64::new(0),
            last_success: AtomicU64::new(0),
        }
    }

    /// When the keys were last fetched successfully (Unix seconds; 0: never).
    pub(crate) fn last_success(&self) -> u64 {
        self.last_success.load(Ordering::Relaxed)
    }

    /// Lets the next fetch for an unknown `kid` happen at once.
    pub(crate) fn forget_cooldown(&self) {
        if let Ok(mut last) = self.last_fetch.lock() {
            *last = None;
        }
    }

    /// How many times the JWKS was fetched.
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Fetches the key set now.
    pub(crate) async fn fetch(&self) -> Result<KeySet, RemoteError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last_fetch.lock() {
            *last = Some(Instant::now());
        }
        let (body, max_age) = get_body(&self.http, &self.url, None).await?;
        self.max_age.store(max_age.unwrap_or(0), Ordering::Relaxed);
        let keys = parse_jwks(&self.url, &body)?;
        for s in keys.skipped() {
            tracing::warn!(index = s.index, kid = ?s.kid, reason = %s.reason, "JWKS entry skipped");
        }
        self.generation.fetch_add(1, Ordering::Relaxed);
        self.last_success.store(self.clock.now(), Ordering::Relaxed);
        Ok(keys)
    }

    /// After a token named an unknown `kid`: fetches again, unless one fetch happened within
    /// the cooldown, and once for all the requests that missed together.
    pub(crate) async fn refetch(&self, guard: &Guard) {
        let seen = self.generation.load(Ordering::Relaxed);
        let _one_at_a_time = self.inflight.lock().await;
        if self.generation.load(Ordering::Relaxed) != seen {
            return; // another request fetched while this one waited
        }
        let recent = self
            .last_fetch
            .lock()
            .ok()
            .and_then(|l| *l)
            .is_some_and(|t| t.elapsed() < self.cooldown);
        if recent {
            return;
        }
        match self.fetch().await {
            Ok(keys) => guard.set_keys(keys),
            Err(e) => tracing::warn!(error = %e, "JWKS refetch failed; keeping the last good keys"),
        }
    }

    /// Refreshes the keys when the issuer's `max-age` says (kept within `bounds`), keeping the
    /// last good ones on failure; ends once the guard is dropped.
    pub(crate) async fn refresh_forever(&self, guard: WeakGuard, bounds: (Duration, Duration)) {
        loop {
            // A little ahead of the issuer's max-age, so that the keys never go stale in between.
            let said = Duration::from_secs(self.max_age.load(Ordering::Relaxed)).mul_f64(0.9);
            tokio::time::sleep(said.clamp(bounds.0, bounds.1)).await;
            let fetched = self.fetch().await;
            let Some(guard) = guard.upgrade() else {
                return;
            };
            match fetched {
                Ok(keys) => guard.set_keys(keys),
                Err(e) => {
                    tracing::warn!(error = %e, "JWKS refresh failed; keeping the last good keys")
                }
            }
        }
    }
}

/// What discovery found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Discovered {
    /// Where the issuer's keys are.
    pub jwks_uri: String,
    /// Its revocation feed, if it publishes one.
    pub revocation_feed: Option<String>,
    /// How long the feed keeps an entry past its token's `exp`, if it says.
    pub retention: Option<Duration>,
}

/// OpenID Connect discovery (then RFC 8414) of `issuer`; the document must name it.
pub(crate) async fn discover(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<Discovered, RemoteError> {
    let base = issuer.trim_end_matches('/');
    let mut last = RemoteError::Unreachable(base.to_owned());
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        match get_json(http, &format!("{base}{path}"), None).await {
            Ok(doc) => {
                let named = doc
                    .get("issuer")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if named.trim_end_matches('/') != base {
                    return Err(RemoteError::Invalid(format!(
                        "{base}{path} names the issuer {named:?}, not {issuer:?}"
                    )));
                }
                let jwks_uri = doc
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| RemoteError::Invalid(format!("{base}{path} has no jwks_uri")))?
                    .to_owned();
                let revocation_feed = doc
                    .get("revocation_feed_endpoint")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let retention = doc
                    .get("revocation_feed_retention_seconds")
                    .and_then(Value::as_u64)
                    .map(Duration::from_secs);
                return Ok(Discovered {
                    jwks_uri,
                    revocation_feed,
                    retention,
                });
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Applies one feed entry; true when it says the issuer's keys changed.
fn apply(guard: &Guard, event: &Value) -> bool {
    let text = |name: &str| event.get(name).and_then(Value::as_str);
    if event.get("keys_changed").and_then(Value::as_bool) == Some(true) {
        if let Some(kid) = text("kid") {
            guard.withdraw_key(kid);
        }
        return true;
    }
    let Some(until) = event.get("exp").and_then(Value::as_u64) else {
        return false;
    };
    let set = guard.revocations();
    let before = event.get("issued_before").and_then(Value::as_u64);
    match (
        text("jti"),
        text("client_id"),
        text("sub"),
        text("sid"),
        before,
    ) {
        (Some(jti), ..) => set.insert(jti, until),
        (_, Some(client), _, _, Some(before)) => set.cut_off_client(client, before, until),
        (_, _, Some(sub), _, Some(before)) => set.cut_off_subject(sub, before, until),
        (_, _, _, Some(sid), _) => set.end_session(sid, until),
        _ => return false,
    }
    if let Some(at) = event.get("revoked_at").and_then(Value::as_u64) {
        guard.note_lag(at);
    }
    false
}

/// Follows the issuer's revocation stream, resuming from the last event; while the stream is
/// down, polls the list once a second. Holds the guard only while it applies what arrived, and
/// ends once the guard is dropped (at the latest with the stream's next keep-alive).
pub(crate) async fn follow_revocations(
    weak: WeakGuard,
    http: reqwest::Client,
    url: String,
    auth: String,
) {
    let mut cursor: i64 = 0;
    loop {
        if weak.upgrade().is_none() {
            return;
        }
        let stream = http
            .get(&url)
            .header(AUTHORIZATION, &auth)
            .header(ACCEPT, "text/event-stream")
            .header("Last-Event-ID", cursor.to_string())
            .send()
            .await;
        if let Ok(mut res) = stream
            && res.status().is_success()
        {
            if let Some(guard) = weak.upgrade() {
                guard.feed_connected();
                guard.feed_contact();
            }
            let mut buf = String::new();
            let mut pruned = std::time::Instant::now();
            while let Ok(Some(chunk)) = res.chunk().await {
                let Some(guard) = weak.upgrade() else {
                    return;
                };
                guard.feed_contact();
                // Entries whose tokens have all expired go, at most once a second (the stream
                // carries a keep-alive even when nothing is revoked).
                if pruned.elapsed() >= Duration::from_secs(1) {
                    guard.prune();
                    pruned = std::time::Instant::now();
                }
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let event: String = buf.drain(..end + 2).collect();
                    let mut data = None;
                    for line in event.lines() {
                        if let Some(id) = line.strip_prefix("id:") {
                            cursor = id.trim().parse().unwrap_or(cursor);
                        } else if let Some(d) = line.strip_prefix("data:") {
                            data = serde_json::from_str::<Value>(d.trim()).ok();
                        }
                    }
                    if let Some(d) = data
                        && apply(&guard, &d)
                    {
                        guard.refetch_keys_now().await;
                    }
                }
            }
        }
        // The stream ended or could not start: poll, then try the stream again.
        let Some(guard) = weak.upgrade() else {
            return;
        };
        tracing::warn!(feed = %url, "revocation stream down; polling");
        if let Ok(page) = get_json(&http, &format!("{url}?after={cursor}"), Some(&auth)).await {
            guard.feed_contact();
            for e in page
                .get("revocations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if apply(&guard, e) {
                    guard.refetch_keys_now().await;
                }
            }
            cursor = page.get("cursor").and_then(Value::as_i64).unwrap_or(cursor);
        }
        guard.prune();
        drop(guard);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn plain_http_disguised_as_loopback_is_refused() {
        for bad in [
            "http://127.0.0.1@example.invalid/",
            "http://localhost.example.invalid/",
            "http://127.0.0.1.example.invalid/",
            "http://[::1]@example.invalid/",
            "ftp://127.0.0.1/",
            "not a url",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        for good in [
            "https://example.invalid/",
            "http://127.0.0.1:8080/x",
            "http://localhost/",
            "http://[::1]:1/",
        ] {
            assert!(check_url(good, false).is_ok(), "{good}");
        }
        assert!(check_url("http://example.invalid/", true).is_ok());
    }
}
