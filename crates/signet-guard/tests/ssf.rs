//! The guard as a Shared Signals receiver for an identity provider that is not Signet: a test
//! transmitter (its own key, metadata and JWKS on an ephemeral port) pushes and serves CAEP
//! session-revoked SETs; the guard turns them into subject and session entries, and refuses
//! every SET it should not trust.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::routing::{get, post};
use serde_json::{Value, json};
use signet::{Algorithm, KeySet, SigningKey, TokenBuilder};
use signet_guard::Guard;
use signet_guard::ssf::{SsfOptions, SsfReceiver};

const IDP: &str = "https://idp.example";
const AUD: &str = "orders-api";
const RECEIVER: &str = "orders-guard";
const REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An access token of the identity provider.
fn access_token(key: &SigningKey, sub: &str, sid: Option<&str>) -> String {
    let mut custom = serde_json::Map::new();
    if let Some(sid) = sid {
        custom.insert("sid".into(), json!(sid));
    }
    TokenBuilder::with_custom(custom)
        .issuer(IDP)
        .audience(AUD)
        .subject(sub)
        .typ("at+jwt")
        .expires_in(Duration::from_secs(600))
        .sign(key)
        .unwrap()
}

/// A SET as a transmitter makes it, signed with `key` under `typ`.
fn set(key: &SigningKey, iss: &str, aud: &str, typ: &str, iat: u64, sub_id: Value) -> String {
    let claims = json!({
        "iss": iss,
        "aud": aud,
        "iat": iat,
        "jti": format!("set-{iat}-{}", sub_id),
        "sub_id": sub_id,
        "events": { REVOKED: { "event_timestamp": iat } },
    });
    key.signer_with_typ(Some(typ))
        .sign_payload(claims.to_string().as_bytes())
        .unwrap()
}

struct Transmitter {
    base: String,
    key: SigningKey,
    /// SETs the poll endpoint hands out, and the jtis acknowledged.
    queue: Arc<Mutex<Vec<(String, String)>>>,
    acked: Arc<Mutex<Vec<String>>>,
}

async fn transmitter() -> Transmitter {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let jwks = signet::JwkSet::from_keys([key.verifying_key()])
        .to_json()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let queue: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let meta = json!({
        "spec_version": "1_0",
        "issuer": base,
        "jwks_uri": format!("{base}/jwks"),
        "delivery_methods_supported": ["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"],
    });
    let (q, a) = (Arc::clone(&queue), Arc::clone(&acked));
    let app = axum::Router::new()
        .route(
            "/.well-known/ssf-configuration",
            get(move || async move { axum::Json(meta) }),
        )
        .route("/jwks", get(move || async move { jwks }))
        .route(
            "/poll",
            post(
                move |headers: axum::http::HeaderMap, body: axum::Json<Value>| async move {
                    assert_eq!(headers["authorization"], "Bearer poll-secret");
                    for jti in body["ack"].as_array().into_iter().flatten() {
                        a.lock().unwrap().push(jti.as_str().unwrap().to_owned());
                    }
                    let mut sets = serde_json::Map::new();
                    for (jti, set) in q.lock().unwrap().drain(..) {
                        sets.insert(jti, json!(set));
                    }
                    if sets.is_empty() {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    axum::Json(json!({ "sets": sets, "moreAvailable": false }))
                },
            ),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Transmitter {
        base,
        key,
        queue,
        acked,
    }
}

async fn push_endpoint(receiver: SsfReceiver) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, receiver.push_router()).await.unwrap() });
    format!("http://{addr}/")
}

async fn push(url: &str, set: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/secevent+jwt")
        .body(set.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_revoked_pushed_by_another_provider_kills_the_subjects_and_sessions_tokens() {
    let idp_key = SigningKey::generate(Algorithm::ES256).unwrap();
    let guard = Guard::builder(KeySet::new([idp_key.verifying_key().clone()]), IDP, AUD).build();
    let tx = transmitter().await;
    let mut options = SsfOptions::new(tx.base.clone(), RECEIVER);
    options.max_token_lifetime = Duration::from_secs(600);
    let receiver = SsfReceiver::discover(guard.clone(), options).await.unwrap();
    let url = push_endpoint(receiver).await;

    let alice = access_token(&idp_key, "alice", None);
    let bob = access_token(&idp_key, "bob", None);
    let carol = access_token(&idp_key, "carol", Some("sess-9"));
    for t in [&alice, &bob, &carol] {
        assert!(guard.check(t).is_ok());
    }
    let iat = now();

    // The user's sessions are revoked: every token of alice issued so far dies.
    let user = json!({"format": "iss_sub", "iss": IDP, "sub": "alice"});
    let (status, _) = push(
        &url,
        &set(&tx.key, &tx.base, RECEIVER, "secevent+jwt", iat, user),
    )
    .await;
    assert_eq!(status, 202);
    assert!(guard.check(&alice).is_err(), "alice's token is revoked");
    assert!(guard.check(&bob).is_ok(), "bob's token still passes");

    // One session is revoked: the tokens carrying its sid die.
    let session = json!({"format": "complex", "user": {"format": "iss_sub", "iss": IDP, "sub": "carol"}, "session": {"format": "opaque", "id": "sess-9"}});
    let (status, _) = push(
        &url,
        &set(&tx.key, &tx.base, RECEIVER, "secevent+jwt", iat, session),
    )
    .await;
    assert_eq!(status, 202);
    assert!(guard.check(&carol).is_err(), "carol's session is revoked");
    assert!(
        guard
            .check(&access_token(&idp_key, "carol", Some("sess-10")))
            .is_ok(),
        "her other session passes"
    );

    // SETs the guard must not trust change nothing and are refused with RFC 8935 errors.
    let bob_id = || json!({"format": "iss_sub", "iss": IDP, "sub": "bob"});
    let forger = SigningKey::generate(Algorithm::ES256).unwrap();
    let attacks = [
        (
            "forged_set_signed_by_another_key",
            set(&forger, &tx.base, RECEIVER, "secevent+jwt", iat, bob_id()),
            "invalid_key",
        ),
        (
            "set_for_another_receiver",
            set(
                &tx.key,
                &tx.base,
                "someone-else",
                "secevent+jwt",
                iat,
                bob_id(),
            ),
            "invalid_audience",
        ),
        (
            "set_from_another_issuer",
            set(
                &tx.key,
                "https://evil.example",
                RECEIVER,
                "secevent+jwt",
                iat,
                bob_id(),
            ),
            "invalid_issuer",
        ),
        (
            "access_token_replayed_as_a_set",
            set(&tx.key, &tx.base, RECEIVER, "at+jwt", iat, bob_id()),
            "invalid_request",
        ),
        (
            "stale_set_replayed",
            set(
                &tx.key,
                &tx.base,
                RECEIVER,
                "secevent+jwt",
                iat - 7200,
                bob_id(),
            ),
            "invalid_request",
        ),
        ("garbage", "not.a.set".to_owned(), "invalid_request"),
    ];
    for (attack, token, code) in attacks {
        let (status, body) = push(&url, &token).await;
        assert_eq!(
            (status, body["err"].as_str()),
            (400, Some(code)),
            "{attack}"
        );
    }
    assert!(guard.check(&bob).is_ok(), "no refused SET touched bob");

    // Another issuer's subject of the same name is not this guard's alice.
    let elsewhere = json!({"format": "iss_sub", "iss": "https://other-idp.example", "sub": "bob"});
    let (status, _) = push(
        &url,
        &set(&tx.key, &tx.base, RECEIVER, "secevent+jwt", iat, elsewhere),
    )
    .await;
    assert_eq!(status, 202);
    assert!(guard.check(&bob).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_revoked_polled_from_another_provider_is_applied_and_acknowledged() {
    let idp_key = SigningKey::generate(Algorithm::ES256).unwrap();
    let guard = Guard::builder(KeySet::new([idp_key.verifying_key().clone()]), IDP, AUD).build();
    let tx = transmitter().await;
    let receiver = SsfReceiver::discover(guard.clone(), SsfOptions::new(tx.base.clone(), RECEIVER))
        .await
        .unwrap();
    let dave = access_token(&idp_key, "dave", None);
    assert!(guard.check(&dave).is_ok());
    let poller = tokio::spawn(receiver.poll_forever(
        format!("{}/poll", tx.base),
        signet::SecretString::new("Bearer poll-secret".into()),
    ));
    let user = json!({"format": "iss_sub", "iss": IDP, "sub": "dave"});
    let token = set(&tx.key, &tx.base, RECEIVER, "secevent+jwt", now(), user);
    tx.queue.lock().unwrap().push(("set-dave".into(), token));
    let started = std::time::Instant::now();
    while guard.check(&dave).is_ok() {
        assert!(started.elapsed() < Duration::from_secs(5), "not applied");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while !tx.acked.lock().unwrap().contains(&"set-dave".to_owned()) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    poller.abort();
}
