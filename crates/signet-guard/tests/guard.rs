//! The guard layer and extractor on an axum router, driven with `oneshot`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use signet::{Algorithm, KeySet, SigningKey, TokenBuilder};
use signet_guard::{Auth, Guard, GuardLayer, Refusal};
use tower::ServiceExt;

const ISS: &str = "https://issuer.example";
const AUD: &str = "orders-api";
/// 2001-09-09: tokens issued then expired long ago.
const LONG_AGO: signet::FixedClock = signet::FixedClock(1_000_000_000);

/// A clock a test moves forward.
#[derive(Debug)]
struct MovableClock(std::sync::atomic::AtomicU64);

impl signet::Clock for MovableClock {
    fn now(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

async fn orders(auth: Auth) -> Result<String, Refusal> {
    auth.require_scope("orders:read")?;
    Ok(format!("orders of {}", auth.subject().unwrap_or("?")))
}

fn app(guard: Guard) -> Router {
    Router::new()
        .route("/orders", get(orders))
        .layer(GuardLayer::new(guard))
}

fn guard_for(key: &SigningKey) -> Guard {
    Guard::builder(KeySet::new([key.verifying_key().clone()]), ISS, AUD).build()
}

fn token(
    key: &SigningKey,
    tweak: impl FnOnce(
        TokenBuilder<'static, serde_json::Map<String, serde_json::Value>>,
    ) -> TokenBuilder<'static, serde_json::Map<String, serde_json::Value>>,
) -> String {
    let mut custom = serde_json::Map::new();
    custom.insert("scope".into(), "orders:read profile".into());
    let b = TokenBuilder::with_custom(custom)
        .issuer(ISS)
        .audience(AUD)
        .subject("alice")
        .typ("at+jwt");
    tweak(b).sign(key).unwrap()
}

async fn call(app: &Router, auth: Option<String>) -> (StatusCode, String, String) {
    let mut req = Request::get("/orders");
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let challenge = res
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, challenge, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn a_valid_access_token_reaches_the_handler() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let app = app(guard_for(&key));
    let (status, _, body) = call(&app, Some(format!("Bearer {}", token(&key, |b| b)))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "orders of alice"));
}

#[tokio::test]
async fn bad_tokens_are_refused_with_an_rfc6750_challenge_that_never_echoes_them() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let stranger = SigningKey::generate(Algorithm::ES256).unwrap();
    let rsa = SigningKey::generate(Algorithm::RS256).unwrap();
    let app = app(guard_for(&key));
    let good = token(&key, |b| b);
    let tampered = {
        let (head, sig) = good.rsplit_once('.').unwrap();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        format!("{head}.{flipped}{}", &sig[1..])
    };
    let header_only =
        |h: &str| format!("{}.{}.", b64(h.as_bytes()), good.split('.').nth(1).unwrap());
    let hs_with_rsa_public = {
        let secret = rsa.verifying_key().to_spki_pem().unwrap();
        let attacker = SigningKey::from_hmac_secret(Algorithm::HS256, secret.as_bytes()).unwrap();
        token(&attacker, |b| b)
    };
    let cases = [
        (
            TokenBuilder::new()
                .issuer(ISS)
                .audience("billing-api")
                .typ("at+jwt")
                .sign(&key)
                .unwrap(),
            "wrong audience",
        ),
        (
            token(&key, |b| b.issuer("https://evil.example")),
            "wrong issuer",
        ),
        (token(&key, |b| b.typ("JWT")), "wrong token type"),
        (token(&stranger, |b| b), "unknown key"),
        (tampered, "invalid"),
        (
            header_only(r#"{"alg":"none","typ":"at+jwt"}"#),
            "unsupported algorithm",
        ),
        (hs_with_rsa_public, "unknown key"),
        (
            token(&key, |b| b.clock(std::sync::Arc::new(LONG_AGO))),
            "token expired",
        ),
    ];
    for (bad, expected) in cases {
        let (status, challenge, body) = call(&app, Some(format!("Bearer {bad}"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{expected}: {body}");
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{challenge}"
        );
        assert!(
            challenge.contains(expected),
            "{challenge} should say {expected}"
        );
        assert!(
            !body.contains(&bad) && !challenge.contains(&bad),
            "the token is echoed"
        );
    }
    let (status, challenge, _) = call(&app, None).await;
    assert_eq!(
        (status, challenge.as_str()),
        (StatusCode::UNAUTHORIZED, "Bearer")
    );
    let (status, _, _) = call(&app, Some(format!("Basic {good}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Unpadded base64url, for hand-made hostile tokens.
fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn scopes_are_enforced_with_403() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let app = app(guard_for(&key));
    let mut custom = serde_json::Map::new();
    custom.insert("scope".into(), "profile".into());
    let narrow = TokenBuilder::with_custom(custom)
        .issuer(ISS)
        .audience(AUD)
        .typ("at+jwt")
        .sign(&key)
        .unwrap();
    let (status, challenge, body) = call(&app, Some(format!("Bearer {narrow}"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains("orders:read"),
        "{challenge}"
    );
    assert!(body.contains("insufficient_scope"));
}

#[tokio::test]
async fn a_revoked_token_is_refused_even_from_the_cache() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let guard = guard_for(&key);
    let app = app(guard.clone());
    let t = token(&key, |b| b.jti("token-1"));
    assert_eq!(
        call(&app, Some(format!("Bearer {t}"))).await.0,
        StatusCode::OK
    );
    guard.revoke("token-1", u64::MAX / 2);
    let (status, challenge, _) = call(&app, Some(format!("Bearer {t}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("token revoked"), "{challenge}");
}

#[tokio::test]
async fn the_cache_skips_only_the_signature_and_still_checks_expiry() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    // The guard's own clock, moved by the test: no sleeping.
    let clock = std::sync::Arc::new(MovableClock(LONG_AGO.0.into()));
    let guard = Guard::builder(KeySet::new([key.verifying_key().clone()]), ISS, AUD)
        .leeway(Duration::ZERO)
        .clock(clock.clone())
        .build();
    let app = app(guard.clone());
    let t = token(&key, |b| {
        b.clock(std::sync::Arc::new(LONG_AGO))
            .expires_in(Duration::from_secs(1))
    });
    assert_eq!(
        call(&app, Some(format!("Bearer {t}"))).await.0,
        StatusCode::OK
    );
    // A second call is a cache hit.
    assert_eq!(
        call(&app, Some(format!("Bearer {t}"))).await.0,
        StatusCode::OK
    );
    assert!(
        guard
            .metrics()
            .contains("signet_guard_cache_hit_ratio 0.5000")
    );
    // With the key withdrawn, the cache no longer accepts what it verified.
    guard.set_keys(KeySet::default());
    assert_eq!(
        call(&app, Some(format!("Bearer {t}"))).await.0,
        StatusCode::UNAUTHORIZED
    );
    guard.set_keys(KeySet::new([key.verifying_key().clone()]));
    assert_eq!(
        call(&app, Some(format!("Bearer {t}"))).await.0,
        StatusCode::OK
    );
    clock
        .0
        .store(LONG_AGO.0 + 2, std::sync::atomic::Ordering::Relaxed);
    let (status, challenge, _) = call(&app, Some(format!("Bearer {t}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("expired"), "{challenge}");
    // Without the cache the same token would need the keys.
    let uncached = Guard::builder(KeySet::default(), ISS, AUD)
        .leeway(Duration::ZERO)
        .cache_capacity(0)
        .build();
    assert!(matches!(
        uncached.check(&token(&key, |b| b)),
        Err(Refusal::Invalid(signet::Error::UnknownKey))
    ));
}

#[tokio::test]
async fn a_token_may_come_in_the_configured_cookie() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let guard = Guard::builder(KeySet::new([key.verifying_key().clone()]), ISS, AUD)
        .cookie("access")
        .build();
    let with_cookie = app(guard);
    let req = Request::get("/orders")
        .header(
            header::COOKIE,
            format!("theme=dark; access={}", token(&key, |b| b)),
        )
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        with_cookie.oneshot(req).await.unwrap().status(),
        StatusCode::OK
    );
    let plain = app(guard_for(&key));
    let req = Request::get("/orders")
        .header(header::COOKIE, format!("access={}", token(&key, |b| b)))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        plain.oneshot(req).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "cookies only when configured"
    );
}

#[tokio::test]
async fn a_withdrawn_key_stays_untrusted_when_a_lagging_jwks_still_lists_it() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let guard = guard_for(&key);
    let t = token(&key, |b| b);
    assert!(guard.check(&t).is_ok());
    guard.withdraw_key(key.kid().unwrap());
    assert!(guard.check(&t).is_err(), "withdrawn at once");
    // A key set fetched from an issuer instance that has not yet dropped the key.
    guard.set_keys(KeySet::new([key.verifying_key().clone()]));
    assert!(
        guard.check(&t).is_err(),
        "the withdrawn key does not come back"
    );
}

#[test]
fn the_revocation_feed_secret_never_shows_in_debug_output() {
    let mut options = signet_guard::IssuerOptions::new("https://issuer.example", "api");
    options.client = Some((
        "orders-api".into(),
        signet::SecretString::new("s3cret-feed-credential".into()),
    ));
    let shown = format!("{options:?}");
    assert!(shown.contains("orders-api"), "{shown}");
    assert!(!shown.contains("s3cret-feed-credential"), "{shown}");
}

#[tokio::test]
async fn the_layer_wraps_any_tower_service_whatever_its_request_body() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    // A plain tower service over `String` bodies, not an axum router.
    let echo = tower::service_fn(|req: Request<String>| async move {
        let seen = req
            .extensions()
            .get::<std::sync::Arc<signet_guard::AccessClaims>>()
            .and_then(|c| c.sub.clone())
            .unwrap_or_default();
        Ok::<_, std::convert::Infallible>(axum::response::Response::new(Body::from(format!(
            "{seen}: {}",
            req.into_body()
        ))))
    });
    let service = tower::Layer::layer(&GuardLayer::new(guard_for(&key)), echo);
    let request = |auth: Option<String>| {
        let mut r = Request::post("/");
        if let Some(a) = auth {
            r = r.header(header::AUTHORIZATION, a);
        }
        r.body("hello".to_owned()).unwrap()
    };
    let ok = service
        .clone()
        .oneshot(request(Some(format!(
            "Bearer {}",
            token(&key, |b| b.expires_in(Duration::from_secs(60)))
        ))))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let body = axum::body::to_bytes(ok.into_body(), 1024).await.unwrap();
    assert_eq!(body, "alice: hello");
    let refused = service.oneshot(request(None)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}
