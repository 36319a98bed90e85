//! The guard against a real issuer on an ephemeral port: keys by discovery, revocations pushed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

use std::time::{Duration, Instant};

use signet_guard::{Guard, IssuerOptions, Refusal};
use signet_server::{Admin, AppState, Config};

const AUD: &str = "orders-api";

struct Issuer {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    secret: String,
    dir: tempfile::TempDir,
}

fn config(dir: &std::path::Path) -> Config {
    let mut c = Config::new();
    c.data_dir = dir.to_path_buf();
    c.housekeeping = Duration::from_millis(200);
    c.jwks_max_age = Duration::from_secs(1);
    c.key_lead_time = Duration::from_secs(1);
    c
}

async fn start() -> Issuer {
    start_with(|_| {}).await
}

/// An issuer whose configuration `change` adjusts.
async fn start_with(change: impl FnOnce(&mut Config)) -> Issuer {
    let dir = tempfile::tempdir().unwrap();
    let admin = Admin::open(&config(dir.path())).await.unwrap();
    let secret = admin
        .add_client(
            "backend",
            false,
            None,
            vec!["client_credentials".into()],
            vec!["orders:read".into()],
            vec![AUD.into()],
        )
        .await
        .unwrap()
        .secret
        .unwrap()
        .to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut c = config(dir.path());
    c.listen = addr;
    c.issuer = format!("http://{addr}");
    change(&mut c);
    let state = AppState::open(c).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        signet_server::serve_on(state, listener, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Issuer {
        base: format!("http://{addr}"),
        stop: Some(stop),
        task,
        secret,
        dir,
    }
}

impl Issuer {
    async fn token(&self) -> String {
        let res = reqwest::Client::new()
            .post(format!("{}/oauth2/token", self.base))
            .basic_auth("backend", Some(&self.secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn revoke(&self, token: &str) {
        let res = reqwest::Client::new()
            .post(format!("{}/oauth2/revoke", self.base))
            .basic_auth("backend", Some(&self.secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }

    async fn stop(mut self) -> tempfile::TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = self.task.await;
        self.dir
    }
}

fn options(issuer: &Issuer) -> IssuerOptions {
    let mut o = IssuerOptions::new(issuer.base.clone(), AUD);
    o.client = Some((
        "backend".into(),
        signet::SecretString::new(issuer.secret.clone()),
    ));
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_at_the_issuer_is_refused_within_seconds() {
    let issuer = start().await;
    let guard = Guard::from_issuer(options(&issuer)).await.unwrap();
    let token = issuer.token().await;
    assert!(guard.verify(&token).await.is_ok());
    tokio::time::sleep(Duration::from_millis(300)).await; // the follower connects
    let revoked_at = Instant::now();
    issuer.revoke(&token).await;
    loop {
        if matches!(guard.verify(&token).await, Err(Refusal::Revoked)) {
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(5),
            "still accepted 5 s after revocation"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("revocation lag: {:?}", revoked_at.elapsed());
    assert!(guard.feed_age().is_some());
    issuer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_keys_are_fetched_on_an_unknown_kid_without_restarting() {
    let issuer = start().await;
    let mut o = options(&issuer);
    o.cooldown = Duration::from_millis(500);
    let guard = Guard::from_issuer(o).await.unwrap();
    let old = issuer.token().await;
    assert!(guard.verify(&old).await.is_ok());
    let admin = Admin::open(&config(issuer.dir.path())).await.unwrap();
    let new_kid = admin.rotate_key().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1800)).await; // lead time, then the issuer reloads
    let new = issuer.token().await;
    let header_kid = signet::UnverifiedToken::parse(&new)
        .unwrap()
        .header()
        .kid()
        .map(str::to_owned);
    assert_eq!(header_kid.as_deref(), Some(new_kid.as_str()));
    let before = guard.jwks_fetches();
    assert!(
        guard.verify(&new).await.is_ok(),
        "the new key is fetched and used"
    );
    assert!(guard.jwks_fetches() <= before + 1);
    assert!(
        guard.verify(&old).await.is_ok(),
        "the old key is still published"
    );
    issuer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_keys_keep_working_while_the_issuer_is_down() {
    let issuer = start().await;
    let mut o = options(&issuer);
    o.cache_capacity = 0; // every check verifies the signature
    o.refresh_bounds = (Duration::from_millis(200), Duration::from_millis(200));
    o.max_keys_staleness = Duration::from_millis(1500);
    let guard = Guard::from_issuer(o).await.unwrap();
    let token = issuer.token().await;
    issuer.stop().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..3 {
        assert!(guard.verify(&token).await.is_ok());
    }
    // The bound on how long the last good keys are trusted.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(matches!(
        guard.verify(&token).await,
        Err(Refusal::KeysStale)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_random_kids_costs_at_most_one_fetch_per_cooldown() {
    let issuer = start().await;
    let guard = Guard::from_issuer(options(&issuer)).await.unwrap();
    let before = guard.jwks_fetches();
    let token = issuer.token().await;
    let body = token.split('.').nth(1).unwrap().to_owned();
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let guard = guard.clone();
        let header = format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"random-{i}"}}"#);
        let forged = format!("{}.{body}.{}", b64(header.as_bytes()), b64(&[1u8; 64]));
        tasks.push(tokio::spawn(async move { guard.verify(&forged).await }));
    }
    for t in tasks {
        assert!(matches!(
            t.await.unwrap(),
            Err(Refusal::Invalid(signet::Error::UnknownKey))
        ));
    }
    // The default cooldown is 30 s, and the startup fetch was just now: no fetch at all.
    assert!(
        guard.jwks_fetches() - before <= 1,
        "{} fetches",
        guard.jwks_fetches() - before
    );
    issuer.stop().await;
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An upstream that answers with what it received: status 201, a header of its own, and a
/// JSON body of the request's headers and body.
async fn upstream() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::routing::any;
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let app = axum::Router::new().route(
        "/{*rest}",
        any(move |headers: axum::http::HeaderMap, body: String| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let seen: serde_json::Map<String, serde_json::Value> = headers
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_owned(),
                            serde_json::Value::String(v.to_str().unwrap_or("").to_owned()),
                        )
                    })
                    .collect();
                (
                    axum::http::StatusCode::CREATED,
                    [("x-upstream", "yes")],
                    axum::Json(serde_json::json!({"headers": seen, "body": body})),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), calls)
}

async fn proxy(guard: Guard, upstream: &str, scopes: Vec<String>) -> String {
    let app = signet_guard::proxy::router(guard, upstream, scopes).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_passes_verified_claims_and_strips_forged_ones() {
    let issuer = start().await;
    let guard = Guard::from_issuer(options(&issuer)).await.unwrap();
    let (up, calls) = upstream().await;
    let proxy = proxy(guard, &up, vec!["orders:read".into()]).await;
    let token = issuer.token().await;
    let res = reqwest::Client::new()
        .post(format!("{proxy}/orders/7?x=1"))
        .bearer_auth(&token)
        .header("x-signet-sub", "admin")
        .header("x-signet-claims", "eyJyb2xlcyI6WyJhZG1pbiJdfQ")
        .body("a streamed body")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        201,
        "the upstream's status comes back"
    );
    assert_eq!(res.headers()["x-upstream"], "yes");
    let seen: serde_json::Value = res.json().await.unwrap();
    assert_eq!(seen["body"], "a streamed body");
    let headers = &seen["headers"];
    assert_eq!(
        headers["x-signet-sub"], "backend",
        "the verified subject, not the forged one"
    );
    assert_eq!(headers["x-signet-scope"], "orders:read");
    assert!(
        headers.get("authorization").is_none(),
        "the token stays at the proxy"
    );
    use base64::Engine;
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(headers["x-signet-claims"].as_str().unwrap())
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap();
    assert_eq!(claims["client_id"], "backend");
    assert!(
        claims.get("roles").is_none(),
        "forged claims never reach the upstream"
    );

    // Refused requests never reach the upstream.
    let before = calls.load(std::sync::atomic::Ordering::SeqCst);
    for auth in [None, Some("Bearer not.a.token")] {
        let mut req = reqwest::Client::new().get(format!("{proxy}/orders"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), 401);
        assert!(res.headers().get("www-authenticate").is_some());
    }
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), before);
    issuer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_enforces_scopes_and_revocations() {
    let issuer = start().await;
    let guard = Guard::from_issuer(options(&issuer)).await.unwrap();
    let (up, _) = upstream().await;
    let strict = proxy(guard.clone(), &up, vec!["orders:write".into()]).await;
    let open = proxy(guard, &up, vec![]).await;
    let token = issuer.token().await;
    let res = reqwest::Client::new()
        .get(format!("{strict}/x"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let get = |url: String, token: String| async move {
        reqwest::Client::new()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(get(format!("{open}/x"), token.clone()).await, 201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let revoked_at = Instant::now();
    issuer.revoke(&token).await;
    while get(format!("{open}/x"), token.clone()).await != 401 {
        assert!(
            revoked_at.elapsed() < Duration::from_secs(5),
            "the proxy still accepts a revoked token"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    issuer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_the_refuse_policy_for_a_silent_feed() {
    let issuer = start().await;
    let mut o = options(&issuer);
    o.max_feed_silence = Duration::from_secs(1);
    o.on_stale_feed = signet_guard::StalePolicy::Refuse;
    let guard = Guard::from_issuer(o).await.unwrap();
    let token = issuer.token().await;
    assert!(guard.verify(&token).await.is_ok());
    assert!(guard.verify(&token).await.is_ok());
    assert!(guard.verify("a.b.c").await.is_err());
    issuer.revoke(&token).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(matches!(guard.verify(&token).await, Err(Refusal::Revoked)));
    let text = guard.metrics();
    for line in [
        "signet_guard_accepted_total 2",
        "signet_guard_refused_total{reason=\"revoked\"} 1",
        "signet_guard_jwks_fetches_total 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    assert!(
        text.contains("signet_guard_cache_hit_ratio 0.3333"),
        "one hit, two misses: {text}"
    );
    assert!(
        text.contains("signet_guard_revocation_lag_seconds{stat=\"max\"}"),
        "{text}"
    );
    // The issuer goes away: after the silence bound, the refuse policy answers 503.
    issuer.stop().await;
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert!(matches!(
        guard.check(&token),
        Err(Refusal::RevocationsStale)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_can_come_from_a_jwks_url_without_discovery() {
    let issuer = start().await;
    let mut o = IssuerOptions::new(issuer.base.clone(), AUD);
    o.jwks_url = Some(format!("{}/.well-known/jwks.json", issuer.base));
    o.insecure_no_revocation = true;
    let guard = Guard::from_issuer(o).await.unwrap();
    assert!(guard.verify(&issuer.token().await).await.is_ok());
    assert_eq!(guard.feed_age(), None, "no feed without client credentials");
    issuer.stop().await;
}

fn kid_of(token: &str) -> String {
    signet::UnverifiedToken::parse(token)
        .unwrap()
        .header()
        .kid()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_token_of_a_withdrawn_key_is_refused_once_the_issuer_says_so() {
    let issuer = start().await;
    let guard = Guard::from_issuer(options(&issuer)).await.unwrap();
    let token = issuer.token().await;
    assert!(guard.verify(&token).await.is_ok());
    assert!(guard.verify(&token).await.is_ok(), "now from the cache");
    tokio::time::sleep(Duration::from_millis(300)).await; // the follower connects
    let admin = Admin::open(&config(issuer.dir.path())).await.unwrap();
    let kid = kid_of(&token);
    assert!(
        admin.revoke_key(&kid, false).await.is_err(),
        "the signing key needs --force"
    );
    admin.revoke_key(&kid, true).await.unwrap();
    let withdrawn = Instant::now();
    while guard.verify(&token).await.is_ok() {
        assert!(
            withdrawn.elapsed() < Duration::from_secs(5),
            "a token of the withdrawn key is still accepted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("key withdrawal lag: {:?}", withdrawn.elapsed());
    // The issuer signs with the new key within a second; its tokens pass.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fresh = issuer.token().await;
    assert_ne!(kid_of(&fresh), kid);
    assert!(guard.verify(&fresh).await.is_ok());
    issuer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_that_would_fail_open_or_go_over_plain_http_refuses_to_start() {
    let issuer = start().await;
    let mut no_feed = IssuerOptions::new(issuer.base.clone(), AUD);
    no_feed.client = None;
    assert!(Guard::from_issuer(no_feed).await.is_err());
    for far in [
        "http://issuer.example",
        "http://127.0.0.1@issuer.example/",
        "ftp://127.0.0.1/",
    ] {
        let mut o = options(&issuer);
        o.issuer = far.into();
        let err = Guard::from_issuer(o).await.unwrap_err().to_string();
        assert!(
            err.contains("https") || err.contains("refusing"),
            "{far}: {err}"
        );
    }
    issuer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_stream_stays_connected_past_the_old_total_timeout() {
    let issuer = start().await;
    let guard = Guard::from_issuer(options(&issuer)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(14)).await;
    let text = guard.metrics();
    assert!(
        text.lines()
            .any(|l| l == "signet_guard_revocation_feed_connects_total 1"),
        "the stream reconnected:\n{text}"
    );
    assert!(text.contains("signet_guard_revocations_followed 1"));
    issuer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_credentials_are_never_sent_to_a_feed_on_another_origin() {
    use axum::routing::get;
    // A second server, where a tampered discovery document points the feed.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = format!("http://{}", elsewhere.local_addr().unwrap());
    let log = std::sync::Arc::clone(&seen);
    tokio::spawn(async move {
        let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
            let log = std::sync::Arc::clone(&log);
            async move {
                if let Some(a) = headers.get("authorization") {
                    log.lock()
                        .unwrap()
                        .push(a.to_str().unwrap_or("").to_owned());
                }
                ""
            }
        });
        axum::serve(elsewhere, app).await.unwrap();
    });
    let issuer = start().await;
    let jwks = reqwest::get(format!("{}/.well-known/jwks.json", issuer.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let fake = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake_base = format!("http://{}", fake.local_addr().unwrap());
    let doc = serde_json::json!({
        "issuer": fake_base,
        "jwks_uri": format!("{fake_base}/jwks"),
        "revocation_feed_endpoint": format!("{other}/steal"),
    });
    tokio::spawn(async move {
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || {
                    let doc = doc.clone();
                    async move { axum::Json(doc) }
                }),
            )
            .route("/jwks", get(move || async move { jwks }));
        axum::serve(fake, app).await.unwrap();
    });
    let mut o = options(&issuer);
    o.issuer = fake_base;
    let err = Guard::from_issuer(o).await.unwrap_err().to_string();
    assert!(err.contains("origin"), "{err}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "credentials were sent elsewhere"
    );
    issuer.stop().await;
}

/// Sends one raw HTTP/1.1 request (paths exactly as written) and returns the status line.
async fn raw_request(base: &str, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_path_traversal_out_of_the_upstream_base_is_refused() {
    let issuer = start().await;
    let guard = Guard::from_issuer(options(&issuer)).await.unwrap();
    let (up, calls) = upstream().await;
    let proxy = proxy(guard, &format!("{up}/app"), vec![]).await;
    let token = issuer.token().await;
    for path in [
        "/../admin",
        "/%2e%2e/admin",
        "/x/..%2f..%2fadmin",
        "/..;/admin",
    ] {
        let status = raw_request(
            &proxy,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert!(status.starts_with("HTTP/1.1 400"), "{path}: {status}");
    }
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing reached the upstream"
    );
    let inside = raw_request(
        &proxy,
        &format!("GET /x/../orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nX_Signet_Sub: root\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(inside.starts_with("HTTP/1.1 201"), "{inside}");
    issuer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_of_a_deleted_client_is_refused_by_the_guard_within_seconds() {
    let issuer = start().await;
    let admin = Admin::open(&config(issuer.dir.path())).await.unwrap();
    let doomed = admin
        .add_client(
            "doomed",
            false,
            None,
            vec!["client_credentials".into()],
            vec![],
            vec![AUD.into()],
        )
        .await
        .unwrap()
        .secret
        .unwrap()
        .to_string();
    let guard = Guard::from_issuer(options(&issuer)).await.unwrap();
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/token", issuer.base))
        .basic_auth("doomed", Some(&doomed))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert!(guard.verify(&token).await.is_ok());
    let other = issuer.token().await;
    tokio::time::sleep(Duration::from_millis(300)).await; // the follower connects
    admin.delete_client("doomed").await.unwrap();
    let deleted = Instant::now();
    while guard.verify(&token).await.is_ok() {
        assert!(deleted.elapsed() < Duration::from_secs(5), "still accepted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(matches!(guard.verify(&token).await, Err(Refusal::Revoked)));
    assert!(
        guard.verify(&other).await.is_ok(),
        "other clients' tokens still pass"
    );
    issuer.stop().await;
}

/// An ID token from the issuer's code flow: a user and an SSO client are added to the
/// issuer's store, the login form is posted as a browser would, and the code is exchanged.
async fn id_token(issuer: &Issuer) -> String {
    use base64::Engine as _;
    let admin = Admin::open(&config(issuer.dir.path())).await.unwrap();
    admin
        .add_user(
            "alice",
            "correct horse battery".to_owned().into(),
            vec![],
            serde_json::Map::new(),
            signet_server::Profile::default(),
        )
        .await
        .unwrap();
    let cb = "http://127.0.0.1:9/cb";
    admin
        .register_client(signet_server::ClientSpec {
            id: "app".into(),
            public: true,
            grants: vec!["authorization_code".into()],
            scopes: vec!["openid".into()],
            audiences: vec![AUD.into()],
            oidc: signet_server::OidcRegistration {
                redirect_uris: vec![cb.into()],
                first_party: true,
                ..Default::default()
            },
            ..Default::default()
        })
        .await
        .unwrap();
    let verifier = "a-verifier-of-forty-three-characters-or-more-0123";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()),
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(format!(
            "{}/oauth2/authorize?response_type=code&client_id=app&redirect_uri={cb}&scope=openid&code_challenge={challenge}&code_challenge_method=S256",
            issuer.base
        ))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let mut form: Vec<(String, String)> = html
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"").unwrap();
            (
                name.to_owned(),
                rest.split('"').next().unwrap().replace("&amp;", "&"),
            )
        })
        .collect();
    form.push(("username".into(), "alice".into()));
    form.push(("password".into(), "correct horse battery".into()));
    let done = http
        .post(format!("{}/oauth2/login", issuer.base))
        .header("cookie", cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    let location = reqwest::Url::parse(done.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens: serde_json::Value = http
        .post(format!("{}/oauth2/token", issuer.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "app"),
            ("code", &code),
            ("redirect_uri", cb),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["id_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_presented_as_an_access_token_is_refused_by_the_guard_and_the_proxy() {
    let issuer = start().await;
    let id_token = id_token(&issuer).await;
    // A guard for the ID token's own audience (the client), so that only its type differs.
    let mut o = options(&issuer);
    o.audience = "app".into();
    let guard = Guard::from_issuer(o).await.unwrap();
    // The issuer's own signature and the right audience, but typ JWT, not at+jwt.
    let refused = guard.verify(&id_token).await;
    assert!(
        matches!(&refused, Err(Refusal::Invalid(e)) if e.to_string().contains("typ")),
        "{refused:?}"
    );
    let (upstream, hits) = upstream().await;
    let proxied = proxy(guard, &upstream, vec![]).await;
    let res = reqwest::Client::new()
        .get(format!("{proxied}/x"))
        .bearer_auth(&id_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "never forwarded"
    );
    issuer.stop().await;
}

/// Polls until the guard refuses `token` as revoked; returns how long that took.
async fn refused_within(guard: &Guard, token: &str) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        if matches!(guard.verify(token).await, Err(Refusal::Revoked)) {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("still accepted after 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaked_client_secret_rotated_through_the_admin_api_kills_its_tokens_and_the_entry_expires_with_them()
 {
    // Two-second tokens, so that the cutoff's entry can expire within the test.
    let issuer = start_with(|c| c.access_lifetime = Duration::from_secs(2)).await;
    let admin = Admin::open(&config(issuer.dir.path())).await.unwrap();
    let ops = admin
        .register_client(signet_server::ClientSpec {
            id: "ops".into(),
            roles: vec!["admin".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .secret
        .unwrap()
        .to_string();
    let mut o = options(&issuer);
    o.leeway = Duration::from_secs(1);
    let guard = Guard::from_issuer(o).await.unwrap();
    let leaked = issuer.token().await;
    assert!(guard.verify(&leaked).await.is_ok());
    tokio::time::sleep(Duration::from_millis(300)).await; // the follower connects
    let http = reqwest::Client::new();
    let rotate = format!("{}/admin/clients/backend/rotate-secret", issuer.base);
    // A client without the admin role may not.
    let res = http
        .post(&rotate)
        .basic_auth("backend", Some(&issuer.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = http
        .post(&rotate)
        .basic_auth("ops", Some(&ops))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let done: serde_json::Value = res.json().await.unwrap();
    let new_secret = done["client_secret"].as_str().unwrap().to_owned();
    let took = refused_within(&guard, &leaked).await;
    eprintln!("client cutoff reached the guard in {took:?}");
    assert!(!guard.revocations().is_empty());
    // The new secret works, and its tokens pass.
    let res = http
        .post(format!("{}/oauth2/token", issuer.base))
        .basic_auth("backend", Some(&new_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    let fresh = body["access_token"].as_str().unwrap();
    assert!(
        guard.verify(fresh).await.is_ok(),
        "a token after the cutoff passes"
    );
    // Once the last token the entry covers has expired (2 s, plus 1 s of leeway), the guard
    // forgets it (it prunes on the stream's next keep-alive).
    let started = Instant::now();
    while !guard.revocations().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the entry outlived its tokens"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    issuer.stop().await;
}

/// The number of revocation streams the issuer has open, from its `/metrics`.
async fn streams_open(issuer: &Issuer) -> u64 {
    let text = reqwest::Client::new()
        .get(format!("{}/metrics", issuer.base))
        .bearer_auth("metrics-token")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("signet_revocation_streams "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no stream gauge in {text}"))
}

/// Waits until the issuer has `n` revocation streams open, failing with `why` after `within`.
async fn await_streams(issuer: &Issuer, n: u64, within: Duration, why: &str) {
    let started = Instant::now();
    while streams_open(issuer).await != n {
        assert!(started.elapsed() < within, "{why}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_tasks_end_when_the_last_guard_handle_is_dropped() {
    let issuer =
        start_with(|c| c.metrics_token = Some(signet::SecretString::new("metrics-token".into())))
            .await;
    let guard = Guard::from_issuer(options(&issuer)).await.unwrap();
    let weak = guard.downgrade();
    let clone = guard.clone();
    await_streams(
        &issuer,
        1,
        Duration::from_secs(5),
        "the follower never connected",
    )
    .await;
    drop(guard);
    assert!(weak.upgrade().is_some(), "a clone still holds it");
    drop(clone);
    // Neither the JWKS refresher nor the revocation follower keeps the guard alive...
    assert!(
        weak.upgrade().is_none(),
        "a background task holds the guard"
    );
    // ... and the follower closes its stream (at the latest on the next keep-alive, 5 s).
    await_streams(
        &issuer,
        0,
        Duration::from_secs(10),
        "the revocation stream outlived its guard",
    )
    .await;
    issuer.stop().await;
}
