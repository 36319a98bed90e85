//! `signet serve` as a process, administered with `signet user` and `signet client`, and its
//! tokens checked with `signet token verify --issuer-url`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{fails, ok, signet};

/// A `signet serve` process on an ephemeral port; killed when dropped.
pub(crate) struct Serve {
    child: Child,
    pub(crate) base: String,
}

impl Serve {
    pub(crate) fn start(dir: &Path) -> Self {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("signet"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env_remove("SIGNET_ISSUER")
            .env("SIGNET_METRICS_LISTEN", "off")
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let addr = address_from(&mut child);
        Self {
            child,
            base: format!("http://{addr}"),
        }
    }
}

/// Reads a child's standard error until a line has `addr=HOST:PORT`; returns it.
pub(crate) fn address_from(child: &mut Child) -> String {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("addr=").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("no address logged")
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn form(url: &str, pairs: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut res = agent.post(url).send_form(pairs.iter().copied()).unwrap();
    let status = res.status().as_u16();
    (
        status,
        serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap_or_default(),
    )
}

#[test]
fn serve_issue_verify_refresh_revoke_with_the_binary() {
    let d = crate::dir();
    let data = d.path().join("data");
    let data_arg = data.to_str().unwrap();
    let out = signet()
        .args([
            "user",
            "add",
            "alice",
            "--password-stdin",
            "--role",
            "admin",
            "--data-dir",
            data_arg,
        ])
        .write_stdin("correct horse battery\n")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(&[
        "client",
        "add",
        "web",
        "--public",
        "--audience",
        "orders-api",
        "--scope",
        "orders:read",
        "--data-dir",
        data_arg,
    ]);
    let added = ok(&[
        "client",
        "add",
        "backend",
        "--audience",
        "orders-api",
        "--data-dir",
        data_arg,
    ]);
    assert!(added.contains("client secret (shown once): "), "{added}");
    assert!(ok(&["user", "list", "--data-dir", data_arg]).starts_with("alice\t"));
    let again = signet()
        .args([
            "user",
            "add",
            "alice",
            "--password-stdin",
            "--data-dir",
            data_arg,
        ])
        .write_stdin("another password\n")
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("user alice already exists"));
    let err = fails(
        &["client", "add", "web", "--public", "--data-dir", data_arg],
        1,
    );
    assert!(err.contains("client web already exists"), "{err}");
    // Passwords are never arguments.
    let err = fails(
        &["user", "add", "bob", "--data-dir", data_arg, "hunter22"],
        2,
    );
    assert!(err.starts_with("signet: "), "{err}");

    let server = Serve::start(&data);
    let token_url = format!("{}/oauth2/token", server.base);
    let (status, body) = form(
        &token_url,
        &[
            ("grant_type", "password"),
            ("client_id", "web"),
            ("username", "alice"),
            ("password", "correct horse battery"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap();
    let claims = ok(&[
        "token",
        "verify",
        "--issuer-url",
        &server.base,
        "--aud",
        "orders-api",
        "--typ",
        "at+jwt",
        access,
    ]);
    assert!(claims.contains("\"client_id\": \"web\""), "{claims}");
    let err = fails(
        &[
            "token",
            "verify",
            "--issuer-url",
            &server.base,
            "--aud",
            "billing-api",
            access,
        ],
        1,
    );
    assert!(err.contains("wrong audience"), "{err}");

    let refresh = body["refresh_token"].as_str().unwrap();
    let (status, rotated) = form(
        &token_url,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "web"),
            ("refresh_token", refresh),
        ],
    );
    assert_eq!(status, 200, "{rotated}");
    let newest = rotated["refresh_token"].as_str().unwrap();
    let (status, _) = form(
        &format!("{}/oauth2/revoke", server.base),
        &[("client_id", "web"), ("token", newest)],
    );
    assert_eq!(status, 200);
    let (status, body) = form(
        &token_url,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "web"),
            ("refresh_token", newest),
        ],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let keys = ok(&["key", "list", "--data-dir", data_arg]);
    assert!(keys.contains("\tES256\tactive\t"), "{keys}");
    let rotated = ok(&["key", "rotate", "--data-dir", data_arg]);
    assert!(rotated.starts_with("new key "), "{rotated}");
    assert!(ok(&["key", "list", "--data-dir", data_arg]).contains("\tnext\t"));
}

#[test]
fn serve_refuses_long_access_token_lifetimes_without_the_setting() {
    let d = crate::dir();
    let err = fails(
        &[
            "serve",
            "--access-token-lifetime",
            "2h",
            "--data-dir",
            d.path().to_str().unwrap(),
        ],
        1,
    );
    assert!(err.contains("over one hour"), "{err}");
    let config = d.path().join("signet.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nbogus = 1\n").unwrap();
    let err = fails(&["serve", "--config", config.to_str().unwrap()], 1);
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn proxy_puts_the_check_in_front_of_any_service() {
    let d = crate::dir();
    let data = d.path().join("data");
    let data_arg = data.to_str().unwrap();
    let added = ok(&[
        "client",
        "add",
        "backend",
        "--audience",
        "orders-api",
        "--scope",
        "orders:read",
        "--data-dir",
        data_arg,
    ]);
    let secret = added
        .split("(shown once): ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let server = Serve::start(&data);

    let upstream = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let upstream_addr = upstream.server_addr().to_ip().unwrap();
    std::thread::spawn(move || {
        for request in upstream.incoming_requests() {
            let sub = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("x-signet-sub"))
                .map(|h| h.value.to_string())
                .unwrap_or_default();
            let _ = request.respond(tiny_http::Response::from_string(format!("hello {sub}")));
        }
    });

    // The secret comes from a file, never a flag value; metrics on a port of their own.
    let secret_file = d.path().join("feed-secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let metrics_addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    let mut proxy = Command::new(assert_cmd::cargo::cargo_bin("signet"))
        .args([
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--audience",
            "orders-api",
            "--issuer-url",
            &server.base,
        ])
        .args([
            "--upstream",
            &format!("http://{upstream_addr}"),
            "--client-id",
            "backend",
            "--client-secret-file",
        ])
        .arg(&secret_file)
        .args(["--metrics-listen", &metrics_addr])
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let addr = address_from(&mut proxy);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let token_url = format!("{}/oauth2/token", server.base);
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("backend:{secret}"));
    let mut res = agent
        .post(&token_url)
        .header("authorization", &format!("Basic {basic}"))
        .send_form([("grant_type", "client_credentials")])
        .unwrap();
    let body: serde_json::Value =
        serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
    let token = body["access_token"].as_str().unwrap();
    let mut res = agent
        .get(&format!("http://{addr}/hello"))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.body_mut().read_to_string().unwrap(), "hello backend");
    let res = agent.get(&format!("http://{addr}/hello")).call().unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let mut res = agent
        .get(&format!("http://{metrics_addr}/metrics"))
        .call()
        .unwrap();
    let text = res.body_mut().read_to_string().unwrap();
    assert!(text.contains("signet_guard_accepted_total 1"), "{text}");
    assert!(
        text.contains("signet_guard_revocations_followed 1"),
        "{text}"
    );
    assert!(text.contains("policy=\"keep_serving\""), "{text}");
    let _ = proxy.kill();
    let _ = proxy.wait();
}

#[test]
fn proxy_that_would_fail_open_on_revocation_refuses_to_start() {
    let out = crate::signet()
        .args([
            "proxy",
            "--issuer-url",
            "http://127.0.0.1:9",
            "--audience",
            "api",
            "--upstream",
            "http://127.0.0.1:9",
        ])
        .env_remove("SIGNET_CLIENT_ID")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--insecure-no-revocation"), "{err}");
    // A secret given as a flag value would show in `ps`: there is no such flag.
    let flag = crate::signet()
        .args(["proxy", "--client-secret", "x"])
        .output()
        .unwrap();
    assert!(!flag.status.success());
}

/// The value of cookie `name` among `Set-Cookie` headers.
fn set_cookie_value(res: &ureq::http::Response<ureq::Body>, name: &str) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix(&format!("{name}="))?
                .split(';')
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

#[test]
fn debug_logs_never_carry_a_password_token_or_secret() {
    let d = crate::dir();
    let data = d.path().join("data");
    let data_arg = data.to_str().unwrap();
    let password = "debug-log-password-471";
    let secret = crate::seed_issuer(data_arg, password, "backend");
    let log_path = d.path().join("serve.log");
    let (mut child, base) = crate::serve_logged(&data, &log_path, &[], &[("SIGNET_LOG", "trace")]);
    let url = |p: &str| format!("{base}{p}");
    let mut seen: Vec<String> = vec![password.into(), secret.clone()];
    let (_, login) = form(
        &url("/oauth2/token"),
        &[
            ("grant_type", "password"),
            ("client_id", "web"),
            ("username", "alice"),
            ("password", password),
        ],
    );
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    seen.push(login["access_token"].as_str().unwrap().into());
    let (_, refreshed) = form(
        &url("/oauth2/token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "web"),
            ("refresh_token", &refresh),
        ],
    );
    seen.push(refresh);
    let access = refreshed["access_token"].as_str().unwrap().to_owned();
    seen.push(refreshed["refresh_token"].as_str().unwrap().into());
    let (_, cc) = form(
        &url("/oauth2/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "backend"),
            ("client_secret", &secret),
        ],
    );
    seen.push(cc["access_token"].as_str().unwrap().into());
    form(
        &url("/oauth2/introspect"),
        &[
            ("client_id", "backend"),
            ("client_secret", &secret),
            ("token", &access),
        ],
    );
    form(
        &url("/oauth2/revoke"),
        &[("client_id", "web"), ("token", &access)],
    );
    seen.push(access);
    // A browser session: login, refresh with the CSRF header, logout.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let res = agent
        .post(&url("/session/login"))
        .header("origin", &base)
        .header("content-type", "application/json")
        .send(
            serde_json::json!({"client_id": "web", "username": "alice", "password": password})
                .to_string(),
        )
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let (cookie, csrf) = (
        set_cookie_value(&res, "signet-refresh"),
        set_cookie_value(&res, "signet-csrf"),
    );
    let jar = format!("signet-refresh={cookie}; signet-csrf={csrf}");
    let res = agent
        .post(&url("/session/refresh"))
        .header("origin", &base)
        .header("cookie", &jar)
        .header("x-csrf-token", &csrf)
        .send_empty()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let (cookie2, csrf2) = (
        set_cookie_value(&res, "signet-refresh"),
        set_cookie_value(&res, "signet-csrf"),
    );
    let res = agent
        .post(&url("/session/logout"))
        .header("origin", &base)
        .header(
            "cookie",
            &format!("signet-refresh={cookie2}; signet-csrf={csrf2}"),
        )
        .header("x-csrf-token", &csrf2)
        .send_empty()
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    seen.extend([cookie, csrf, cookie2, csrf2]);
    let master = std::fs::read_to_string(data.join("master.key")).unwrap();
    seen.push(master.trim().to_owned());
    let _ = child.kill();
    let _ = child.wait();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(logs.lines().count() > 20, "trace logging was on:\n{logs}");
    assert!(
        !logs.contains("\"d\":\""),
        "private key material (a JWK's d) is in the logs"
    );
    for secret in &seen {
        assert!(!secret.is_empty());
        assert!(
            !logs.contains(secret.as_str()),
            "a secret ({} chars) is in the logs",
            secret.len()
        );
    }
}

#[test]
fn compromised_key_revoked_from_the_cli_leaves_the_jwks_of_the_running_issuer() {
    let d = crate::dir();
    let data = d.path().join("data");
    let data_arg = data.to_str().unwrap();
    let server = Serve::start(&data);
    let jwks_url = format!("{}/.well-known/jwks.json", server.base);
    let kids = || -> Vec<String> {
        let (_, body) = get(&jwks_url);
        body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = kids();
    assert_eq!(first.len(), 1);
    let refused = signet()
        .args(["key", "revoke", &first[0], "--data-dir", data_arg])
        .output()
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(1),
        "the signing key needs --force"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    let out = ok(&[
        "key",
        "revoke",
        &first[0],
        "--force",
        "--data-dir",
        data_arg,
    ]);
    assert!(out.contains("revoked key"), "{out}");
    let started = std::time::Instant::now();
    while kids().contains(&first[0]) {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "still published"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(kids().len(), 1, "a new key signs");
    assert!(
        fails(&["key", "revoke", "no-such-kid", "--data-dir", data_arg], 1)
            .contains("no signing key"),
    );
}

fn get(url: &str) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut res = agent.get(url).call().unwrap();
    (
        res.status().as_u16(),
        serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap_or_default(),
    )
}

#[test]
fn two_issuers_starting_at_once_on_a_fresh_data_directory_both_come_up() {
    let d = crate::dir();
    let data = d.path().join("data");
    let starts: Vec<_> = (0..2)
        .map(|i| {
            let (data, log) = (data.clone(), d.path().join(format!("serve-{i}.log")));
            std::thread::spawn(move || crate::serve_logged(&data, &log, &[], &[]))
        })
        .collect();
    let mut running: Vec<(Child, String)> = starts.into_iter().map(|h| h.join().unwrap()).collect();
    // One of them made the first signing key; both publish exactly that key.
    let published: Vec<serde_json::Value> = running
        .iter()
        .map(|(_, base)| {
            let (status, jwks) = get(&format!("{base}/.well-known/jwks.json"));
            assert_eq!(status, 200);
            jwks
        })
        .collect();
    assert_eq!(
        published[0]["keys"].as_array().unwrap().len(),
        1,
        "{:?}",
        published
    );
    assert_eq!(published[0], published[1]);
    for (child, _) in &mut running {
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[test]
fn database_url_migrate_and_no_migrate() {
    let d = crate::dir();
    let data = d.path().join("data");
    let db = d.path().join("elsewhere/issuer.db");
    let url = format!("sqlite://{}", db.display());
    let data_arg = data.to_str().unwrap();
    // --no-migrate on a fresh database is refused with what to do.
    let log = d.path().join("serve.log");
    let out = signet()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-migrate",
            "--data-dir",
            data_arg,
        ])
        .args(["--database-url", &url])
        .env("SIGNET_METRICS_LISTEN", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signet migrate"));
    assert!(ok(&["migrate", "--data-dir", data_arg, "--database-url", &url]).contains("migrated"));
    ok(&[
        "client",
        "add",
        "web",
        "--public",
        "--audience",
        "api",
        "--data-dir",
        data_arg,
        "--database-url",
        &url,
    ]);
    assert!(db.exists(), "the database is where the URL says");
    let (mut child, base) =
        crate::serve_logged(&data, &log, &["--no-migrate", "--database-url", &url], &[]);
    assert_eq!(get(&format!("{base}/readyz")).0, 200);
    let _ = child.kill();
    let _ = child.wait();
    let listed = ok(&[
        "client",
        "list",
        "--data-dir",
        data_arg,
        "--database-url",
        &url,
    ]);
    assert!(listed.starts_with("web\t"), "{listed}");
    let refused = fails(
        &["migrate", "--database-url", "postgres://127.0.0.1:1/x"],
        1,
    );
    assert!(
        refused.contains("cannot connect to PostgreSQL"),
        "{refused}"
    );
    let refused = fails(&["migrate", "--database-url", "mysql://127.0.0.1/x"], 1);
    assert!(refused.contains("postgres://"), "{refused}");
}
