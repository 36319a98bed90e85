//! Two `signet serve` processes behind one issuer name, sharing one PostgreSQL database
//! (`SIGNET_TEST_POSTGRES_URL`, a fresh schema per test; skipped with a notice when unset).

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery";

/// A fresh schema in the test database, as a database URL; `None` (with a notice) without one.
fn database() -> Option<String> {
    let Ok(base) = std::env::var("SIGNET_TEST_POSTGRES_URL") else {
        eprintln!("SIGNET_TEST_POSTGRES_URL is not set: the PostgreSQL scale-out test is skipped");
        return None;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("signet_cli_{}_{nanos}", std::process::id());
    let connect_to = base.clone();
    let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&connect_to).await.unwrap();
            sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
        });
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-c%20search_path%3D{name}"))
}

/// The `signet` binary pointed at `url`.
fn signet_on(url: &str) -> assert_cmd::Command {
    let mut cmd = crate::signet();
    cmd.env("SIGNET_DATABASE_URL", url);
    cmd
}

struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An instance on the database at `url`, behind the issuer name `issuer`, with Redis for the
/// login limits when `SIGNET_TEST_REDIS_URL` is set.
fn start(data: &std::path::Path, log: &std::path::Path, url: &str, issuer: &str) -> Instance {
    let redis = std::env::var("SIGNET_TEST_REDIS_URL").unwrap_or_default();
    let mut env = vec![("SIGNET_DATABASE_URL", url)];
    if !redis.is_empty() {
        env.push(("SIGNET_REDIS_URL", &redis));
    }
    let (child, base) = crate::serve_logged(
        data,
        log,
        &["--issuer", issuer, "--refresh-grace", "0s"],
        &env,
    );
    Instance { child, base }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn post(url: &str, pairs: &[(&str, &str)], basic: Option<&str>) -> (u16, serde_json::Value) {
    let mut req = agent().post(url);
    if let Some(b) = basic {
        req = req.header("authorization", b);
    }
    let mut res = req.send_form(pairs.iter().copied()).unwrap();
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or_default())
}

fn login(at: &Instance) -> String {
    let (status, body) = post(
        &format!("{}/oauth2/token", at.base),
        &[
            ("grant_type", "password"),
            ("client_id", "web"),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
        None,
    );
    assert_eq!(status, 200, "{body}");
    body["refresh_token"].as_str().unwrap().to_owned()
}

fn refresh(at: &Instance, token: &str) -> (u16, Option<String>) {
    let (status, body) = post(
        &format!("{}/oauth2/token", at.base),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "web"),
            ("refresh_token", token),
        ],
        None,
    );
    (status, body["refresh_token"].as_str().map(str::to_owned))
}

fn jwks(at: &Instance) -> serde_json::Value {
    let mut res = agent()
        .get(&format!("{}/.well-known/jwks.json", at.base))
        .call()
        .unwrap();
    serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap()
}

/// Waits up to `within` for `check`; returns how long it took.
fn eventually(within: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

#[test]
fn two_instances_on_one_postgresql_share_logins_keys_revocations_and_clients() {
    let Some(url) = database() else { return };
    let d = crate::dir();
    let data = d.path().join("data");
    signet_on(&url)
        .args(["user", "add", "alice", "--password-stdin", "--data-dir"])
        .arg(&data)
        .write_stdin(PASSWORD)
        .assert()
        .success();
    let data_arg = data.to_str().unwrap();
    let mut web = signet_on(&url);
    web.args(["client", "add", "web", "--public", "--audience", "api"])
        .args(["--scope", "a", "--data-dir", data_arg])
        .assert()
        .success();
    let out = signet_on(&url)
        .args([
            "client",
            "add",
            "backend",
            "--audience",
            "api",
            "--scope",
            "a",
        ])
        .args(["--introspect", "--data-dir", data_arg])
        .output()
        .unwrap();
    let secret = String::from_utf8(out.stdout)
        .unwrap()
        .split("(shown once): ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let basic = {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("backend:{secret}"))
        )
    };
    // One name for both, new for each run (the Redis counters are kept under it).
    let issuer = format!("https://issuer.test/{}", url.rsplit("%3D").next().unwrap());
    let a = start(&data, &d.path().join("a.log"), &url, &issuer);
    let b = start(&data, &d.path().join("b.log"), &url, &issuer);
    // Both publish the one first key.
    assert_eq!(jwks(&a), jwks(&b));
    assert_eq!(jwks(&a)["keys"].as_array().unwrap().len(), 1);

    // A refresh token issued by A rotates at B.
    let r0 = login(&a);
    let (status, r1) = refresh(&b, &r0);
    assert_eq!(status, 200);
    let r1 = r1.unwrap();

    // 50 concurrent refreshes of one token, spread over A and B: exactly one winner.
    let bases = [a.base.clone(), b.base.clone()];
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(50));
    let winners: usize = (0..50)
        .map(|i| {
            let (base, token, barrier) = (bases[i % 2].clone(), r1.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let (status, _) = post(
                    &format!("{base}/oauth2/token"),
                    &[
                        ("grant_type", "refresh_token"),
                        ("client_id", "web"),
                        ("refresh_token", &token),
                    ],
                    None,
                );
                usize::from(status == 200)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .sum();
    assert_eq!(winners, 1, "exactly one of 50 concurrent refreshes wins");

    // Reuse detected at B revokes a family created at A.
    let f0 = login(&a);
    let (_, f1) = refresh(&a, &f0);
    assert_eq!(refresh(&b, &f0).0, 400, "reuse at B");
    assert_eq!(
        refresh(&a, &f1.unwrap()).0,
        400,
        "the family is revoked at A too"
    );

    // A revocation taken at A reaches a follower of B's stream within a second.
    let (tx, rx) = std::sync::mpsc::channel();
    let (stream_url, stream_auth) = (format!("{}/oauth2/revocations", b.base), basic.clone());
    std::thread::spawn(move || {
        let res = agent()
            .get(&stream_url)
            .header("authorization", &stream_auth)
            .header("accept", "text/event-stream")
            .call()
            .unwrap();
        for line in BufReader::new(res.into_body().into_reader())
            .lines()
            .map_while(Result::ok)
        {
            if line.starts_with("data: ") && tx.send((line, Instant::now())).is_err() {
                return;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let (_, issued) = post(
        &format!("{}/oauth2/token", a.base),
        &[("grant_type", "client_credentials")],
        Some(&basic),
    );
    let token = issued["access_token"].as_str().unwrap().to_owned();
    let jti = {
        use base64::Engine;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&payload).unwrap()["jti"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // What the stream sent before (the earlier reuse) has arrived meanwhile.
    std::thread::sleep(Duration::from_millis(300));
    while rx.try_recv().is_ok() {}
    let revoked_at = Instant::now();
    assert_eq!(
        post(
            &format!("{}/oauth2/revoke", a.base),
            &[("token", &token)],
            Some(&basic)
        )
        .0,
        200
    );
    let (line, arrived) = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("B pushed the revocation");
    assert!(line.contains(&jti), "{line}");
    let lag = arrived.duration_since(revoked_at);
    assert!(
        lag < Duration::from_secs(1),
        "revocation from A reached B's stream after {lag:?}"
    );

    // A key rotation made through the CLI is served by both within 2 s.
    signet_on(&url)
        .args(["key", "rotate", "--data-dir", data_arg])
        .assert()
        .success();
    eventually(Duration::from_secs(2), "both serve the new key", || {
        jwks(&a)["keys"].as_array().unwrap().len() == 2 && jwks(&a) == jwks(&b)
    });

    // A client deleted through the CLI is refused by both within 2 s.
    let grant = |at: &Instance| {
        post(
            &format!("{}/oauth2/token", at.base),
            &[("grant_type", "client_credentials")],
            Some(&basic),
        )
        .0
    };
    assert_eq!((grant(&a), grant(&b)), (200, 200));
    signet_on(&url)
        .args(["client", "delete", "backend", "--data-dir", data_arg])
        .assert()
        .success();
    eventually(
        Duration::from_secs(2),
        "both refuse the deleted client",
        || grant(&a) == 401 && grant(&b) == 401,
    );

    // With Redis, a password guesser spreading attempts over both meets one limit (10 a
    // minute per user name); without it, each instance counts alone.
    if std::env::var("SIGNET_TEST_REDIS_URL").is_err() {
        eprintln!("SIGNET_TEST_REDIS_URL is not set: the shared login limit is not checked");
        return;
    }
    let guess = |at: &Instance| {
        post(
            &format!("{}/oauth2/token", at.base),
            &[
                ("grant_type", "password"),
                ("client_id", "web"),
                ("username", "victim"),
                ("password", "guess"),
            ],
            None,
        )
        .0
    };
    let answers: Vec<u16> = (0..10)
        .map(|i| guess(if i % 2 == 0 { &a } else { &b }))
        .collect();
    assert!(answers.iter().all(|s| *s == 400), "{answers:?}");
    assert_eq!(
        (guess(&a), guess(&b)),
        (429, 429),
        "the 11th and 12th are refused on both"
    );
}

/// Seeds a user `alice`, a public client `web` and a resource server `rs` on the database at
/// `url` (the master key in `data`); returns the resource server's secret.
fn seed(url: &str, data: &std::path::Path) -> String {
    signet_on(url)
        .args(["user", "add", "alice", "--password-stdin", "--data-dir"])
        .arg(data)
        .write_stdin(PASSWORD)
        .assert()
        .success();
    let data_arg = data.to_str().unwrap();
    signet_on(url)
        .args(["client", "add", "web", "--public", "--audience", "api"])
        .args(["--scope", "a", "--data-dir", data_arg])
        .assert()
        .success();
    let out = signet_on(url)
        .args(["client", "add", "rs", "--audience", "api", "--scope", "a"])
        .args(["--introspect", "--data-dir", data_arg])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split("(shown once): ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn sigkill_of_one_instance_mid_refresh_loses_no_committed_token_and_the_other_serves_on() {
    let Some(url) = database() else { return };
    const FAMILIES: usize = 4;
    const ROUNDS: usize = 5;
    let d = crate::dir();
    let data = d.path().join("data");
    seed(&url, &data);
    let issuer = format!("https://issuer.test/{}", url.rsplit("%3D").next().unwrap());
    // The default grace period (10 s): a token whose answer the kill cut off may be presented
    // again by its client.
    let serve = |name: &str| {
        let (child, base) = crate::serve_logged(
            &data,
            &d.path().join(format!("{name}.log")),
            &["--issuer", &issuer],
            &[("SIGNET_DATABASE_URL", &url)],
        );
        Instance { child, base }
    };
    let mut a = serve("a");
    let b = serve("b");
    let current: std::sync::Arc<std::sync::Mutex<Vec<String>>> = std::sync::Arc::new(
        std::sync::Mutex::new((0..FAMILIES).map(|_| login(&a)).collect()),
    );
    for round in 0..ROUNDS {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let load = {
            let (current, stop, base) = (current.clone(), stop.clone(), a.base.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(5)))
                    .build()
                    .into();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let i = n % FAMILIES;
                    let token = current.lock().unwrap()[i].clone();
                    let Ok(mut res) = agent.post(&format!("{base}/oauth2/token")).send_form([
                        ("grant_type", "refresh_token"),
                        ("client_id", "web"),
                        ("refresh_token", &token),
                    ]) else {
                        break; // the instance is gone
                    };
                    let Ok(text) = res.body_mut().read_to_string() else {
                        break;
                    };
                    let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    assert_eq!(res.status().as_u16(), 200, "round {round}: {body}");
                    current.lock().unwrap()[i] = body["refresh_token"].as_str().unwrap().to_owned();
                    n += 1;
                }
                n
            })
        };
        std::thread::sleep(Duration::from_millis(
            100 + u64::try_from(round).unwrap() * 70,
        ));
        a.child.kill().unwrap(); // SIGKILL
        let _ = a.child.wait();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let refreshes = load.join().unwrap();
        eprintln!("round {round}: A killed after {refreshes} refreshes");
        // While A is down, B serves every family from the token it last received.
        for (i, token) in current.lock().unwrap().iter_mut().enumerate() {
            let (status, next) = refresh(&b, token);
            assert_eq!(status, 200, "round {round}, family {i} at B");
            *token = next.unwrap();
        }
        a = serve("a");
    }
    // No family is half-rotated: each has exactly one unused refresh token.
    let counts: Vec<i64> = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM refresh_tokens t WHERE t.family_id = f.id AND t.used_at IS NULL) \
                 FROM refresh_families f WHERE f.revoked_at IS NULL ORDER BY f.id",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap()
        });
    assert_eq!(
        counts,
        vec![1; FAMILIES],
        "live families and their unused tokens"
    );
    // And each goes on, at either instance.
    for (i, token) in current.lock().unwrap().iter().enumerate() {
        let at = if i % 2 == 0 { &a } else { &b };
        assert_eq!(refresh(at, token).0, 200, "family {i}");
    }
}
