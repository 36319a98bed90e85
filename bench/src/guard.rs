//! Guard benchmark: the same hello-world handler with no auth, behind jwt-authorizer 0.15,
//! behind signet-guard (verified-token cache on and off), and behind `signet proxy`, loaded by
//! `wrk -t1 -c16` in one run; then the revocation lag (revoke at the issuer until the guard
//! refuses) over 100 revocations; then the guard with 10,000 revocation entries of mixed
//! kinds against the same guard with none, and the memory an entry takes. Prints Markdown
//! tables.
//!
//! Run: `cargo run --release --manifest-path bench/Cargo.toml --bin guard-bench`

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use jwt_authorizer::IntoLayer;
use signet::{Algorithm, KeySet, SigningKey, TokenBuilder};

const ISS: &str = "https://issuer.bench";
const AUD: &str = "bench-api";

async fn hello() -> &'static str {
    "hello"
}

async fn listen() -> (tokio::net::TcpListener, SocketAddr) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

async fn serve08(app: axum::Router) -> SocketAddr {
    let (l, a) = listen().await;
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    a
}

async fn serve07(app: axum07::Router) -> SocketAddr {
    let (l, a) = listen().await;
    tokio::spawn(async move { axum07::serve(l, app).await.unwrap() });
    a
}

#[derive(Debug, Clone, serde::Deserialize)]
struct AnyClaims {
    #[allow(dead_code)]
    sub: Option<String>,
}

/// Runs wrk against `addr` with the token; returns requests/s, p99 and non-2xx count.
fn wrk(addr: SocketAddr, token: &str, secs: u64) -> (f64, String, u64) {
    let out = Command::new("wrk")
        .args(["-t1", "-c16", &format!("-d{secs}s"), "--latency", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(format!("http://{addr}/"))
        .output()
        .expect("wrk is installed");
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text.lines().find_map(|l| l.strip_prefix("Requests/sec:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0);
    let p99 = text.lines().find_map(|l| l.trim().strip_prefix("99%")).map(|v| v.trim().to_owned()).unwrap_or_default();
    let bad = text.lines().find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    (rps, p99, bad)
}

async fn revocation_lag() -> Vec<Duration> {
    use signet_server::{Admin, AppState, Config};
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::new();
    c.data_dir = dir.path().to_path_buf();
    let admin = Admin::open(&c).await.unwrap();
    let secret = admin
        .add_client("backend", false, None, vec!["client_credentials".into()], vec![], vec![AUD.into()])
        .await
        .unwrap()
        .secret
        .unwrap()
        .to_string();
    let (l, addr) = listen().await;
    c.listen = addr;
    c.issuer = format!("http://{addr}");
    let state = AppState::open(c).await.unwrap();
    tokio::spawn(async move { signet_server::serve_on(state, l, std::future::pending()).await.unwrap() });
    let base = format!("http://{addr}");
    let mut options = signet_guard::IssuerOptions::new(base.clone(), AUD);
    options.client = Some(("backend".into(), signet::SecretString::new(secret.clone())));
    let guard = signet_guard::Guard::from_issuer(options).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let http = reqwest::Client::new();
    let mut lags = Vec::new();
    for _ in 0..100 {
        let res = http
            .post(format!("{base}/oauth2/token"))
            .basic_auth("backend", Some(&secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
        let token = body["access_token"].as_str().unwrap().to_owned();
        assert!(guard.verify(&token).await.is_ok());
        let start = Instant::now();
        http.post(format!("{base}/oauth2/revoke"))
            .basic_auth("backend", Some(&secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
            .await
            .unwrap();
        while guard.verify(&token).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        lags.push(start.elapsed());
    }
    lags.sort();
    lags
}

/// The resident memory of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// An id of the length the issuer makes (16 random bytes, base64url).
fn id(kind: &str, n: usize) -> String {
    format!("{kind}{n:0>20}")
}

/// Fills `set` with `n` entries, a quarter of each kind, none covering the bench token.
fn fill(set: &signet_guard::RevocationSet, n: usize, until: u64) {
    for i in 0..n {
        match i % 4 {
            0 => set.insert(id("j", i), until),
            1 => set.cut_off_subject(id("u", i), until - 600, until),
            2 => set.cut_off_client(id("c", i), until - 600, until),
            _ => set.end_session(id("s", i), until),
        }
    }
}

/// Bytes per entry: resident memory grown by a million mixed entries.
fn bytes_per_entry() -> f64 {
    let before = rss();
    let set = signet_guard::RevocationSet::default();
    fill(&set, 1_000_000, u64::MAX / 2);
    let grown = rss().saturating_sub(before);
    let per = grown as f64 / 1_000_000.0;
    drop(set);
    per
}

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let per_entry = bytes_per_entry();
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let mut custom = serde_json::Map::new();
    custom.insert("client_id".into(), "bench-client".into());
    custom.insert("sid".into(), "bench-session-0000000000".into());
    let token = TokenBuilder::with_custom(custom)
        .jti("bench-token-0000000000")
        .issuer(ISS)
        .audience(AUD)
        .subject("user-1")
        .typ("at+jwt")
        .expires_in(Duration::from_secs(3600))
        .sign(&key)
        .unwrap();
    let jwks = signet::JwkSet::from_keys([key.verifying_key()]).to_json().expect("a JWKS serializes");
    let jwks_addr = serve08(axum::Router::new().route("/jwks.json", axum::routing::get(move || async move { jwks.clone() }))).await;

    let plain07 = serve07(axum07::Router::new().route("/", axum07::routing::get(hello))).await;
    let plain08 = serve08(axum::Router::new().route("/", axum::routing::get(hello))).await;
    let authorizer: jwt_authorizer::Authorizer<AnyClaims> =
        jwt_authorizer::JwtAuthorizer::from_jwks_url(&format!("http://{jwks_addr}/jwks.json"))
            .validation(jwt_authorizer::Validation::new().iss(&[ISS]).aud(&[AUD]))
            .build()
            .await
            .unwrap();
    let jwt_auth = serve07(axum07::Router::new().route("/", axum07::routing::get(hello)).layer(authorizer.into_layer())).await;
    let keys = || KeySet::new([key.verifying_key().clone()]);
    let cached = signet_guard::Guard::builder(keys(), ISS, AUD).build();
    let uncached = signet_guard::Guard::builder(keys(), ISS, AUD).cache_capacity(0).build();
    let guard_cached = serve08(axum::Router::new().route("/", axum::routing::get(hello)).layer(signet_guard::GuardLayer::new(cached.clone()))).await;
    let loaded = signet_guard::Guard::builder(keys(), ISS, AUD).build();
    let until = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
    fill(loaded.revocations(), 10_000, until);
    assert!(loaded.check(&token).is_ok(), "no entry covers the bench token");
    let guard_loaded = serve08(axum::Router::new().route("/", axum::routing::get(hello)).layer(signet_guard::GuardLayer::new(loaded.clone()))).await;
    let guard_uncached = serve08(axum::Router::new().route("/", axum::routing::get(hello)).layer(signet_guard::GuardLayer::new(uncached))).await;
    let proxy = serve08(signet_guard::proxy::router(cached, &format!("http://{plain08}"), vec![]).unwrap()).await;

    let cases = [
        ("no auth (axum 0.8)", plain08),
        ("no auth (axum 0.7)", plain07),
        ("jwt-authorizer 0.15 (axum 0.7)", jwt_auth),
        ("signet-guard, cache on", guard_cached),
        ("signet-guard, cache on, 10,000 revocations", guard_loaded),
        ("signet-guard, cache off", guard_uncached),
        ("signet proxy in front of the plain upstream", proxy),
    ];
    let mut rows = Vec::new();
    for (name, addr) in cases {
        let _ = wrk(addr, &token, 2); // warm up
        rows.push((name, wrk(addr, &token, secs)));
    }
    let rps_of = |n: &str| rows.iter().find(|r| r.0 == n).map_or(1.0, |r| r.1.0);
    let (base, peer) = (rps_of("no auth (axum 0.8)"), rps_of("jwt-authorizer 0.15 (axum 0.7)"));
    println!("wrk -t1 -c16 -d{secs}s, ES256 access tokens, loopback\n");
    println!("| server | requests/s | p99 | non-2xx | vs no auth (0.8) | vs jwt-authorizer |\n|---|---:|---:|---:|---:|---:|");
    for (name, (rps, p99, bad)) in &rows {
        println!("| {name} | {rps:.0} | {p99} | {bad} | {:.2}x | {:.2}x |", rps / base, rps / peer);
    }
    let empty = rps_of("signet-guard, cache on");
    let full = rps_of("signet-guard, cache on, 10,000 revocations");
    println!(
        "\n10,000 revocation entries (2,500 each of jti, subject, client and session; the token is checked against all four on every request, cache hits included): {full:.0} against {empty:.0} requests/s with none, {:.1} % apart. Memory: {per_entry:.0} bytes per entry (resident growth over 1,000,000 mixed entries), {:.1} MiB for 10,000.",
        (full - empty) / empty * 100.0,
        per_entry * 10_000.0 / 1_048_576.0
    );
    let lags = revocation_lag().await;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "\nRevocation lag over {} revocations (revoke at the issuer until the guard refuses): median {:.1} ms, max {:.1} ms",
        lags.len(),
        ms(lags[lags.len() / 2]),
        ms(lags[lags.len() - 1])
    );
}
