//! Logout (OpenID Connect RP-Initiated Logout 1.0 and Back-Channel Logout 1.0): ending an SSO
//! session ends every login begun in it, denies its access tokens through the revocation
//! feed, and tells each client that registered a back-channel logout URI, retrying with
//! backoff.

use std::time::Duration;

use serde_json::{Map, Value, json};
use signet::{TokenBuilder, Validation};

use super::{DomainError, Issuer};
use crate::store::Client;

/// The event a back-channel logout token carries.
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is valid.
const LOGOUT_TOKEN_LIFETIME: Duration = Duration::from_secs(120);
/// The waits before each further delivery of a logout token.
const RETRIES: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
];

/// What an `id_token_hint` says: the session, the client and the user.
#[derive(Debug, Clone)]
pub(crate) struct Hint {
    pub(crate) sid: String,
    pub(crate) client_id: String,
}

/// Checks an `id_token_hint`: an ID token this issuer signed (its signature, `iss` and `typ`),
/// expired or not within the SSO session lifetime, naming a session. `None` otherwise.
pub(crate) async fn check_hint(issuer: &Issuer, hint: &str) -> Option<Hint> {
    let ring = issuer.keys.current(issuer.now()).await.ok()?;
    let validation = Validation::builder()
        .issuer(issuer.config.issuer())
        .insecure_any_audience()
        .required_typ("JWT")
        // A hint is usually past its short `exp`; a session never outlives this.
        .leeway(issuer.config.sso_session_lifetime)
        .clock(std::sync::Arc::clone(&issuer.config.clock))
        .build();
    let claims: signet::Claims<'static, Map<String, Value>> =
        ring.verifier.verify_as(hint, &validation).ok()?;
    let sid = claims.custom.get("sid")?.as_str()?.to_owned();
    let client_id = claims
        .custom
        .get("azp")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| claims.aud.as_ref()?.iter().next().map(|a| a.to_string()))?;
    Some(Hint { sid, client_id })
}

/// Whether `uri` is one of `client`'s registered post-logout redirect URIs (exact match).
pub(crate) fn may_return_to(client: &Client, uri: &str) -> bool {
    client
        .oidc
        .post_logout_redirect_uris
        .iter()
        .any(|u| u == uri)
}

/// Ends SSO session `session_id`: its logins are revoked, their access tokens denied (the
/// revocation streams are woken), and a logout token goes to every client of the session that
/// registered a back-channel logout URI. False if there was no such live session.
pub(crate) async fn end_session(issuer: &Issuer, session_id: &str) -> Result<bool, DomainError> {
    let now = issuer.now();
    let until = now.saturating_add(super::grants::secs(issuer.config.access_lifetime));
    let ended = issuer.store.end_session(session_id, now, until).await?;
    // This instance forgets its cached sessions at once (others within the cache's second).
    issuer.sessions.clear();
    let Some(ended) = ended else {
        return Ok(false);
    };
    issuer.fanout.wake();
    tracing::info!("SSO session ended");
    let revoked = serde_json::json!({ "event_timestamp": now, "initiating_entity": "user" });
    let subject = super::ssf::Subject::Session {
        user: &ended.user_id,
        sid: session_id,
    };
    if let Err(e) = super::ssf::publish(
        &issuer.store,
        super::ssf::SESSION_REVOKED,
        revoked,
        subject,
        now,
    )
    .await
    {
        tracing::error!(error = %e, "the session-revoked event could not be queued for SSF streams");
    }
    let ring = issuer.keys.current(now).await?;
    for (client_id, uri) in ended.clients {
        let Some(uri) = uri else { continue };
        let token = logout_token(issuer, &ring.active, &client_id, &ended.user_id, session_id)?;
        tokio::spawn(deliver(uri, token, client_id));
    }
    Ok(true)
}

/// A back-channel logout token (`typ: logout+jwt`): `iss`, `aud`, `iat`, `exp`, `jti`, `sub`,
/// `sid` and the back-channel logout event; never a `nonce`.
fn logout_token(
    issuer: &Issuer,
    key: &signet::SigningKey,
    client_id: &str,
    sub: &str,
    sid: &str,
) -> Result<String, DomainError> {
    let mut claims = Map::new();
    claims.insert("sid".into(), json!(sid));
    claims.insert("events".into(), json!({ BACKCHANNEL_EVENT: {} }));
    TokenBuilder::with_custom(claims)
        .issuer(issuer.config.issuer())
        .subject(sub)
        .audience(client_id)
        .expires_in(LOGOUT_TOKEN_LIFETIME)
        .clock(std::sync::Arc::clone(&issuer.config.clock))
        .typ("logout+jwt")
        .sign(key)
        .map_err(|e| DomainError::Internal(e.into()))
}

/// POSTs `logout_token` to `uri` until it answers 2xx, waiting longer after each failure.
async fn deliver(uri: String, token: String, client_id: String) {
    let Some(http) = super::outbound("back-channel logout") else {
        return;
    };
    for wait in std::iter::once(Duration::ZERO).chain(RETRIES) {
        tokio::time::sleep(wait).await;
        let sent = http
            .post(&uri)
            .form(&[("logout_token", token.as_str())])
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                tracing::info!(client = %client_id, "back-channel logout delivered");
                return;
            }
            Ok(r) => {
                tracing::warn!(client = %client_id, status = %r.status(), "back-channel logout refused; retrying");
            }
            Err(e) => {
                tracing::warn!(client = %client_id, error = %e, "back-channel logout failed; retrying");
            }
        }
    }
    tracing::error!(client = %client_id, "back-channel logout not delivered; gave up");
}
