//! Revocation everywhere, with the real binaries: each trigger (`signet user disable`,
//! `set-password`, `revoke`, `signet client rotate-secret`, `delete`, `signet key revoke`, and
//! the `/admin` API) kills every outstanding access token it covers at an in-process guard and
//! at `signet proxy` within a second, while tokens it does not cover keep passing and the
//! covered refresh tokens are dead.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use crate::serve::{Serve, address_from};
use crate::{ok, secret_of, signet};

const API: &str = "orders-api";
const PORTAL_CB: &str = "http://127.0.0.1:9/portal/callback";

/// An issuer, `signet proxy` in front of an upstream, and a guard in this process.
struct World {
    _dir: tempfile::TempDir,
    data: String,
    server: Serve,
    proxy: Child,
    proxy_url: String,
    guard: signet_guard::Guard,
    rt: tokio::runtime::Runtime,
    http: ureq::Agent,
    /// The confidential clients' secrets.
    secrets: std::collections::HashMap<&'static str, String>,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.proxy.kill();
        let _ = self.proxy.wait();
    }
}

fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

impl World {
    fn start() -> Self {
        let dir = crate::dir();
        let data = dir.path().join("data").to_str().unwrap().to_owned();
        for user in ["alice", "bob", "carol", "dave", "erin"] {
            let out = signet()
                .args(["user", "add", user, "--password-stdin", "--data-dir", &data])
                .write_stdin(format!("{user}-password-1\n"))
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
        }
        ok(&[
            "client",
            "add",
            "app",
            "--public",
            "--grant",
            "password",
            "--grant",
            "refresh_token",
            "--audience",
            API,
            "--data-dir",
            &data,
        ]);
        ok(&[
            "client",
            "add",
            "portal",
            "--public",
            "--grant",
            "authorization_code",
            "--grant",
            "refresh_token",
            "--redirect-uri",
            PORTAL_CB,
            "--scope",
            "openid",
            "--audience",
            API,
            "--first-party",
            "--data-dir",
            &data,
        ]);
        let secrets: std::collections::HashMap<&'static str, String> =
            ["backend", "batch", "reports"]
                .into_iter()
                .map(|id| {
                    let mut args = vec!["client", "add", id, "--audience", API];
                    if id == "batch" {
                        // A confidential client with logins of its own (refresh tokens).
                        args.extend(["--grant", "client_credentials", "--grant", "password"]);
                        args.extend(["--grant", "refresh_token"]);
                    }
                    args.extend(["--data-dir", &data]);
                    (id, secret_of(&ok(&args)))
                })
                .collect();
        let backend = secrets["backend"].clone();
        let server = Serve::start(std::path::Path::new(&data));

        let upstream = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let upstream_addr = upstream.server_addr().to_ip().unwrap();
        std::thread::spawn(move || {
            for request in upstream.incoming_requests() {
                let _ = request.respond(tiny_http::Response::from_string("upstream"));
            }
        });
        let secret_file = dir.path().join("feed-secret");
        std::fs::write(&secret_file, &backend).unwrap();
        let mut proxy = Command::new(assert_cmd::cargo::cargo_bin("signet"))
            .args(["proxy", "--listen", "127.0.0.1:0", "--audience", API])
            .args(["--issuer-url", &server.base])
            .args(["--upstream", &format!("http://{upstream_addr}")])
            .args(["--client-id", "backend", "--client-secret-file"])
            .arg(&secret_file)
            .args(["--metrics-listen", "127.0.0.1:0"])
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let proxy_url = format!("http://{}/orders", address_from(&mut proxy));

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut options = signet_guard::IssuerOptions::new(server.base.clone(), API);
        options.client = Some(("backend".into(), signet::SecretString::new(backend)));
        let guard = rt
            .block_on(signet_guard::Guard::from_issuer(options))
            .unwrap();
        std::thread::sleep(Duration::from_millis(300)); // the followers connect
        Self {
            _dir: dir,
            data,
            server,
            proxy,
            proxy_url,
            guard,
            rt,
            http: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
            secrets,
        }
    }

    fn token_request(&self, form: &[(&str, &str)], auth: Option<&str>) -> (u16, Value) {
        let mut req = self.http.post(format!("{}/oauth2/token", self.server.base));
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        let mut res = req.send_form(form.iter().copied()).unwrap();
        let status = res.status().as_u16();
        let body = res.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&body).unwrap_or_default())
    }

    /// A password login at the public client: (access token, refresh token).
    fn log_in(&self, user: &str, password: &str) -> (String, String) {
        let (status, body) = self.token_request(
            &[
                ("grant_type", "password"),
                ("client_id", "app"),
                ("username", user),
                ("password", password),
            ],
            None,
        );
        assert_eq!(status, 200, "{body}");
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    fn refresh_status(&self, refresh: &str) -> u16 {
        self.token_request(
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "app"),
                ("refresh_token", refresh),
            ],
            None,
        )
        .0
    }

    fn client_token(&self, id: &str, secret: &str) -> Result<String, u16> {
        let (status, body) = self.token_request(
            &[("grant_type", "client_credentials")],
            Some(&basic(id, secret)),
        );
        match body["access_token"].as_str() {
            Some(t) if status == 200 => Ok(t.to_owned()),
            _ => Err(status),
        }
    }

    /// The guard's and the proxy's answers: (guard accepts, proxy status).
    fn check(&self, token: &str) -> (bool, u16) {
        let guard = self.rt.block_on(self.guard.verify(token)).is_ok();
        let proxy = self
            .http
            .get(&self.proxy_url)
            .header("authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .status()
            .as_u16();
        (guard, proxy)
    }

    fn passes(&self, token: &str, what: &str) {
        assert_eq!(self.check(token), (true, 200), "{what} should pass");
    }

    /// Waits until both the guard and the proxy refuse `token`; returns how long that took
    /// since `since` (when the trigger started: the command's start, which includes the
    /// process start and the command's wait for the cutoff's second to pass).
    fn refused_within(&self, token: &str, what: &str, since: Instant) -> Duration {
        let started = Instant::now();
        loop {
            if self.check(token) == (false, 401) {
                let took = since.elapsed();
                eprintln!(
                    "{what}: refused by the guard and the proxy {took:?} after the trigger started, {:?} after it returned",
                    started.elapsed()
                );
                return took;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{what}: still accepted after 5 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Registers the client `ops` with the admin role; returns its Basic authorization.
    fn add_admin(&self) -> String {
        let added = ok(&[
            "client",
            "add",
            "ops",
            "--role",
            "admin",
            "--data-dir",
            &self.data,
        ]);
        basic("ops", &secret_of(&added))
    }

    fn admin_post(&self, path: &str, auth: &str, body: Option<&str>) -> (u16, Value) {
        let req = self
            .http
            .post(format!("{}{path}", self.server.base))
            .header("authorization", auth)
            .header("content-type", "application/json");
        let mut res = match body {
            Some(b) => req.send(b).unwrap(),
            None => req.send_empty().unwrap(),
        };
        let status = res.status().as_u16();
        let text = res.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&text).unwrap_or_default())
    }
}

#[test]
fn disabled_user_changed_password_and_logged_out_everywhere_lose_every_token_at_once() {
    let w = World::start();
    let (alice, alice_refresh) = w.log_in("alice", "alice-password-1");
    let (bob, bob_refresh) = w.log_in("bob", "bob-password-1");
    let (bob_second, _) = w.log_in("bob", "bob-password-1");
    let (carol, carol_refresh) = w.log_in("carol", "carol-password-1");
    let (dave, _) = w.log_in("dave", "dave-password-1");
    for t in [&alice, &bob, &bob_second, &carol, &dave] {
        w.passes(t, "a live login");
    }
    let mut took = Vec::new();

    // A disabled user: every token of theirs, and their logins, die.
    let t0 = Instant::now();
    ok(&["user", "disable", "alice", "--data-dir", &w.data]);
    took.push(w.refused_within(&alice, "user disable", t0));
    assert_eq!(w.refresh_status(&alice_refresh), 400);
    w.passes(&dave, "another user's token");

    // A changed password: both of bob's logins die; a login with the new password works.
    let t0 = Instant::now();
    let out = signet()
        .args(["user", "set-password", "bob", "--password-stdin"])
        .args(["--data-dir", &w.data])
        .write_stdin("bob-password-2\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    took.push(w.refused_within(&bob, "user set-password", t0));
    took.push(w.refused_within(&bob_second, "user set-password (second login)", t0));
    assert_eq!(w.refresh_status(&bob_refresh), 400);
    let (bob_new, _) = w.log_in("bob", "bob-password-2");
    w.passes(&bob_new, "a login after the password change");
    let (status, _) = w.token_request(
        &[
            ("grant_type", "password"),
            ("client_id", "app"),
            ("username", "bob"),
            ("password", "bob-password-1"),
        ],
        None,
    );
    assert_eq!(status, 400, "the old password is refused");

    // Logged out everywhere: carol's tokens die, and she may log in again.
    let t0 = Instant::now();
    ok(&["user", "revoke", "carol", "--data-dir", &w.data]);
    took.push(w.refused_within(&carol, "user revoke", t0));
    assert_eq!(w.refresh_status(&carol_refresh), 400);
    let (carol_new, _) = w.log_in("carol", "carol-password-1");
    w.passes(&carol_new, "a login after logging out everywhere");
    w.passes(&dave, "another user's token");

    let slowest = took.iter().max().unwrap();
    eprintln!("slowest user trigger: {slowest:?}");
    // Held by the guard: one subject entry per user, plus the logins' own jti entries.
    assert!(w.guard.revocations().len() >= 3);
}

#[test]
fn leaked_client_secret_deleted_client_and_compromised_key_kill_the_tokens_they_cover() {
    let w = World::start();
    let batch_secret = w.secrets["batch"].clone();
    let reports_secret = w.secrets["reports"].clone();
    let batch = w.client_token("batch", &batch_secret).unwrap();
    let (status, login) = w.token_request(
        &[
            ("grant_type", "password"),
            ("username", "erin"),
            ("password", "erin-password-1"),
        ],
        Some(&basic("batch", &batch_secret)),
    );
    assert_eq!(status, 200, "{login}");
    let batch_refresh = login["refresh_token"].as_str().unwrap().to_owned();
    let reports = w.client_token("reports", &reports_secret).unwrap();
    let (erin, _) = w.log_in("erin", "erin-password-1");
    w.passes(&batch, "batch");
    w.passes(&reports, "reports");

    // A leaked secret, rotated: the client's tokens die; the new secret's tokens pass.
    let t0 = Instant::now();
    let new_secret = secret_of(&ok(&[
        "client",
        "rotate-secret",
        "batch",
        "--data-dir",
        &w.data,
    ]));
    w.refused_within(&batch, "client rotate-secret", t0);
    w.passes(&reports, "another client's token");
    let started = Instant::now();
    let fresh = loop {
        // The issuer's client cache learns the new secret within a couple of seconds.
        match w.client_token("batch", &new_secret) {
            Ok(t) => break t,
            Err(_) if started.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(status) => panic!("the new secret is refused: {status}"),
        }
    };
    w.passes(&fresh, "a token of the new secret");
    let (status, _) = w.token_request(
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &batch_refresh),
        ],
        Some(&basic("batch", &new_secret)),
    );
    assert_eq!(status, 400, "the client's logins ended with its old secret");
    let started = Instant::now();
    while w.client_token("batch", &batch_secret).is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the leaked secret still works"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // A deleted client.
    let t0 = Instant::now();
    ok(&["client", "delete", "reports", "--data-dir", &w.data]);
    w.refused_within(&reports, "client delete", t0);
    w.passes(&fresh, "another client's token");

    // A compromised signing key: the one signing now needs --force, then every token it
    // signed dies at once and a new key signs.
    let kid = signet::UnverifiedToken::parse(&erin)
        .unwrap()
        .header()
        .kid()
        .unwrap()
        .to_owned();
    let refused = crate::fails(&["key", "revoke", &kid, "--data-dir", &w.data], 1);
    assert!(refused.contains("--force"), "{refused}");
    let t0 = Instant::now();
    ok(&["key", "revoke", &kid, "--force", "--data-dir", &w.data]);
    w.refused_or_unknown_within(&erin, t0);
    w.refused_or_unknown_within(&fresh, t0);
    let started = Instant::now();
    let (after, _) = loop {
        let login = w.log_in("erin", "erin-password-1");
        let signer = signet::UnverifiedToken::parse(&login.0)
            .unwrap()
            .header()
            .kid()
            .map(str::to_owned);
        if signer.as_deref() != Some(kid.as_str()) {
            break login;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the old key still signs"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let started = Instant::now();
    while w.check(&after) != (true, 200) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a token of the new key is refused"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // A rotation honours the lead time it is given (the issuer's key_lead_time setting).
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let out = ok(&["key", "rotate", "--lead-time", "90s", "--data-dir", &w.data]);
    assert!(out.contains("signs in 90 s"), "{out}");
    let listed = ok(&["key", "list", "--data-dir", &w.data]);
    let next: u64 = listed
        .lines()
        .find(|l| l.contains("\tnext\t"))
        .and_then(|l| l.split("active_from=").nth(1))
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or_else(|| panic!("no next key in {listed}"));
    assert!((before + 89..=before + 92).contains(&next), "{listed}");
    // Or from the issuer's configuration file, as `signet serve --config` reads it.
    let toml = std::path::Path::new(&w.data).join("../signet.toml");
    std::fs::write(&toml, "key_lead_time = \"2m\"\n").unwrap();
    let out = ok(&[
        "key",
        "rotate",
        "--config",
        toml.to_str().unwrap(),
        "--data-dir",
        &w.data,
    ]);
    assert!(out.contains("signs in 120 s"), "{out}");
}

impl World {
    /// A withdrawn key's tokens are refused however the verifier learns of it: as revoked, or
    /// as signed by a key no longer published.
    fn refused_or_unknown_within(&self, token: &str, since: Instant) {
        while self.check(token) != (false, 401) {
            assert!(
                since.elapsed() < Duration::from_secs(5),
                "a token of the withdrawn key is still accepted"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "key revoke: refused {:?} after the trigger started",
            since.elapsed()
        );
    }
}

#[test]
fn admin_api_revokes_a_user_for_an_admin_client_only() {
    let w = World::start();
    let ops = w.add_admin();
    let (dave, dave_refresh) = w.log_in("dave", "dave-password-1");
    let (erin, _) = w.log_in("erin", "erin-password-1");
    // The issuer learns of the new client from the store within a couple of seconds.
    let started = Instant::now();
    let mut t0;
    let (status, body) = loop {
        t0 = Instant::now();
        let answer = w.admin_post("/admin/users/dave/revoke", &ops, None);
        if answer.0 != 401 || started.elapsed() > Duration::from_secs(5) {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["action"], "user logged out everywhere");
    w.refused_within(&dave, "POST /admin/users/dave/revoke", t0);
    assert_eq!(w.refresh_status(&dave_refresh), 400);
    w.passes(&erin, "another user's token");

    // Unknown names, bad bodies and clients without the role get RFC-shaped errors.
    let (status, body) = w.admin_post("/admin/users/nobody/revoke", &ops, None);
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (status, body) = w.admin_post("/admin/users/erin/password", &ops, Some("{\"pw\": 1}"));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, body) = w.admin_post(
        "/admin/users/erin/password",
        &ops,
        Some("{\"password\": \"short\"}"),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    w.passes(&erin, "a refused password change changes nothing");
    let add = signet()
        .args(["client", "add", "plain", "--data-dir", &w.data])
        .output()
        .unwrap();
    let plain = basic("plain", &secret_of(&String::from_utf8(add.stdout).unwrap()));
    std::thread::sleep(Duration::from_millis(2500));
    let (status, body) = w.admin_post("/admin/users/erin/revoke", &plain, None);
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("access_denied"))
    );
    let (status, _) = w.admin_post("/admin/users/erin/revoke", "Basic b3BzOndyb25n", None);
    assert_eq!(status, 401);
    w.passes(&erin, "nothing was revoked by the refused calls");

    // The API is documented.
    let mut res = w
        .http
        .get(format!("{}/openapi.json", w.server.base))
        .call()
        .unwrap();
    let doc: Value = serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
    for path in [
        "/admin/users/{name}/disable",
        "/admin/users/{name}/revoke",
        "/admin/users/{name}/password",
        "/admin/clients/{id}/rotate-secret",
        "/admin/sessions/{sid}/revoke",
        "/admin/keys/{kid}/revoke",
        "/admin/keys/rotate",
    ] {
        assert!(
            doc["paths"][path]["post"].is_object(),
            "{path} undocumented"
        );
    }
    let _ = std::io::stderr().flush();
}

#[test]
fn revocation_commands_on_unknown_names_or_without_their_flags_fail_with_one_line() {
    let d = crate::dir();
    let data = d.path().join("data");
    let data = data.to_str().unwrap();
    ok(&["client", "add", "web", "--public", "--data-dir", data]);
    for (args, expected) in [
        (vec!["user", "revoke", "nobody"], "no user nobody"),
        (vec!["user", "disable", "nobody"], "no user nobody"),
        (
            vec!["client", "rotate-secret", "nobody"],
            "no client nobody",
        ),
        (
            vec!["client", "rotate-secret", "web"],
            "web is a public client: it has no secret",
        ),
        (
            vec!["key", "revoke", "no-such-kid"],
            "no signing key no-such-kid",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["--data-dir", data]);
        let err = crate::fails(&all, 1);
        assert_eq!(err.trim(), format!("signet: {expected}"), "{args:?}");
    }
    // The password is only ever read from standard input.
    let err = crate::fails(&["user", "set-password", "alice", "--data-dir", data], 2);
    assert!(err.contains("--password-stdin"), "{err}");
    let err = crate::fails(
        &[
            "client",
            "add",
            "spa",
            "--public",
            "--role",
            "admin",
            "--data-dir",
            data,
        ],
        1,
    );
    assert!(err.contains("cannot have the admin role"), "{err}");
}

/// A browser's single sign-on at the issuer's login page, as the `portal` client.
struct Browser {
    agent: ureq::Agent,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new() -> Self {
        Self {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into(),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        pairs.join("; ")
    }

    /// Keeps the answer's cookies; returns (status, Location, body).
    fn keep(&mut self, mut res: ureq::http::Response<ureq::Body>) -> (u16, String, String) {
        for set in res.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            self.cookies.push((name.to_owned(), value.to_owned()));
        }
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (
            res.status().as_u16(),
            location,
            res.body_mut().read_to_string().unwrap(),
        )
    }

    /// Logs `user` in at the login page and exchanges the code: the token response.
    fn log_in(&mut self, base: &str, user: &str, password: &str) -> Value {
        let verifier = "a-pkce-verifier-of-enough-length-for-rfc-7636-0123456789";
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()),
        );
        // The callback URI needs no escaping in a query (RFC 3986 allows ':' and '/' there).
        let url = format!(
            "{base}/oauth2/authorize?response_type=code&client_id=portal&redirect_uri={PORTAL_CB}&scope=openid&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256"
        );
        let res = self
            .agent
            .get(&url)
            .header("cookie", &self.cookie_header())
            .call()
            .unwrap();
        let (status, _, page) = self.keep(res);
        assert_eq!(status, 200, "{page}");
        let mut form: Vec<(String, String)> = page
            .split("<input type=\"hidden\" name=\"")
            .skip(1)
            .map(|rest| {
                let (name, rest) = rest.split_once('"').unwrap();
                let value = rest
                    .split("value=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                (
                    name.to_owned(),
                    value
                        .replace("&amp;", "&")
                        .replace("&#39;", "'")
                        .replace("&quot;", "\""),
                )
            })
            .collect();
        form.push(("username".into(), user.into()));
        form.push(("password".into(), password.into()));
        let res = self
            .agent
            .post(format!("{base}/oauth2/login"))
            .header("cookie", &self.cookie_header())
            .header("origin", base)
            .send_form(form.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .unwrap();
        let (status, location, body) = self.keep(res);
        assert_eq!(status, 303, "{body}");
        // Codes are base64url: no percent-decoding needed.
        let code = location
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("code="))
            .unwrap()
            .to_owned();
        let mut res = self
            .agent
            .post(format!("{base}/oauth2/token"))
            .send_form([
                ("grant_type", "authorization_code"),
                ("client_id", "portal"),
                ("code", code.as_str()),
                ("redirect_uri", PORTAL_CB),
                ("code_verifier", verifier),
            ])
            .unwrap();
        serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap()
    }
}

#[test]
fn sso_logout_and_a_session_revoked_by_the_admin_api_kill_that_sessions_tokens_only() {
    let w = World::start();
    let base = w.server.base.clone();
    let (mut laptop, mut phone) = (Browser::new(), Browser::new());
    let on_laptop = laptop.log_in(&base, "alice", "alice-password-1");
    let on_phone = phone.log_in(&base, "alice", "alice-password-1");
    let access = |t: &Value| t["access_token"].as_str().unwrap().to_owned();
    let sid_of = |t: &Value| {
        let payload = access(t).split('.').nth(1).unwrap().to_owned();
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        claims["sid"].as_str().unwrap().to_owned()
    };
    assert_ne!(sid_of(&on_laptop), sid_of(&on_phone), "two sessions");
    let (bob, _) = w.log_in("bob", "bob-password-1");
    for t in [access(&on_laptop), access(&on_phone), bob.clone()] {
        w.passes(&t, "a live login");
    }

    // The laptop's user logs out (RP-initiated, with the ID token as hint).
    let t0 = Instant::now();
    let logout = format!(
        "{base}/oauth2/logout?id_token_hint={}",
        on_laptop["id_token"].as_str().unwrap()
    );
    let res = laptop
        .agent
        .get(&logout)
        .header("cookie", &laptop.cookie_header())
        .call()
        .unwrap();
    assert!(res.status().as_u16() < 400, "logout: {}", res.status());
    w.refused_within(&access(&on_laptop), "SSO logout", t0);
    let refresh = on_laptop["refresh_token"].as_str().unwrap();
    let (status, _) = w.token_request(
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "portal"),
            ("refresh_token", refresh),
        ],
        None,
    );
    assert_eq!(status, 400, "the session's refresh token is dead");
    w.passes(&access(&on_phone), "the same user's other session");
    w.passes(&bob, "another user's token");

    // An administrator ends the phone's session by its sid.
    let ops = w.add_admin();
    let path = format!("/admin/sessions/{}/revoke", sid_of(&on_phone));
    let started = Instant::now();
    let mut t0;
    loop {
        t0 = Instant::now();
        let (status, body) = w.admin_post(&path, &ops, None);
        if status == 200 {
            break;
        }
        // The issuer learns of the new admin client from the store within a couple of seconds.
        assert!(
            status == 401 && started.elapsed() < Duration::from_secs(5),
            "{status} {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    w.refused_within(&access(&on_phone), "POST /admin/sessions/{sid}/revoke", t0);
    w.passes(&bob, "another user's token");
    let (status, _) = w.admin_post(&path, &ops, None);
    assert_eq!(status, 404, "the session has ended already");
}
