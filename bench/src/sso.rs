//! Single sign-on load driver: the round trip a relying party makes for a browser that already
//! has an SSO session (authorization request with the session cookie, the code from the
//! redirect, the code exchanged with its PKCE verifier for an ID token), or, with `--login`, a
//! whole password login (a fresh browser, the login form submitted, the code exchanged).
//!
//! It speaks only the protocol, found through discovery, and the issuer's HTML forms: any form
//! on the way (login, consent) is submitted with its hidden fields, the first named button and
//! the credentials filled into the field names it has (`username`/`login` and `password`). So
//! one driver measures `signet serve` and oidc-provider's development interactions alike.
//!
//! One tokio thread, `--connections` browsers each looping on its own cookie jar for
//! `--seconds`. With `--pid`, the server's CPU time over the run is read from /proc, for round
//! trips per CPU-second. Prints one line of JSON.
//!
//! Usage: sso-bench ISSUER CLIENT_ID REDIRECT_URI USER PASSWORD [--login] [--connections N]
//! [--seconds S] [--pid PID]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_lc_rs::{digest, rand::SecureRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};

/// What a run is given on its command line.
struct Args {
    issuer: String,
    client_id: String,
    redirect_uri: String,
    user: String,
    password: String,
    login: bool,
    connections: usize,
    seconds: u64,
    pid: Option<u32>,
}

fn args() -> Args {
    let mut pos = Vec::new();
    let mut login = false;
    let mut connections = 16;
    let mut seconds = 10;
    let mut pid = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--login" => login = true,
            "--connections" => connections = it.next().and_then(|v| v.parse().ok()).expect("--connections N"),
            "--seconds" => seconds = it.next().and_then(|v| v.parse().ok()).expect("--seconds S"),
            "--pid" => pid = it.next().and_then(|v| v.parse().ok()),
            _ => pos.push(a),
        }
    }
    let [issuer, client_id, redirect_uri, user, password] = <[String; 5]>::try_from(pos)
        .unwrap_or_else(|_| panic!("usage: sso-bench ISSUER CLIENT_ID REDIRECT_URI USER PASSWORD [--login] [--connections N] [--seconds S] [--pid PID]"));
    Args { issuer, client_id, redirect_uri, user, password, login, connections, seconds, pid }
}

/// The endpoints discovery names.
#[derive(serde::Deserialize)]
struct Discovery {
    authorization_endpoint: String,
    token_endpoint: String,
}

/// One browser: its cookies, by name.
#[derive(Default)]
struct Jar(HashMap<String, String>);

impl Jar {
    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep(&mut self, res: &reqwest::Response) {
        for c in res.headers().get_all(SET_COOKIE) {
            let Ok(c) = c.to_str() else { continue };
            let pair = c.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else { continue };
            let gone = c.split(';').any(|a| {
                let a = a.trim().to_ascii_lowercase();
                a == "max-age=0" || a.starts_with("expires=thu, 01 jan 1970")
            });
            if gone || value.is_empty() {
                self.0.remove(name.trim());
            } else {
                self.0.insert(name.trim().to_owned(), value.to_owned());
            }
        }
    }
}

/// The first form of `html` that posts: its action (resolved against `base`) and the fields a
/// browser would send, with the credentials filled in.
fn form(html: &str, base: &reqwest::Url, user: &str, password: &str) -> Option<(reqwest::Url, Vec<(String, String)>)> {
    let start = html.find("<form")?;
    let end = html[start..].find("</form>").map_or(html.len(), |e| start + e);
    let body = &html[start..end];
    let tag_end = body.find('>')?;
    let action = attr(&body[..tag_end], "action").unwrap_or_default();
    let url = base.join(&unescape(&action)).ok()?;
    let mut fields = Vec::new();
    let mut button = None;
    for (i, _) in body.match_indices('<') {
        let tag = &body[i..i + body[i..].find('>').unwrap_or(body.len() - i)];
        let name = attr(tag, "name");
        if tag.starts_with("<input") {
            let Some(name) = name else { continue };
            let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
            let value = match (name.as_str(), kind.as_str()) {
                ("username" | "login", _) => user.to_owned(),
                (_, "password") => password.to_owned(),
                (_, "hidden") => unescape(&attr(tag, "value").unwrap_or_default()),
                _ => continue,
            };
            fields.push((name, value));
        } else if tag.starts_with("<button") && button.is_none() {
            if let Some(name) = name {
                button = Some((name, unescape(&attr(tag, "value").unwrap_or_default())));
            }
        }
    }
    fields.extend(button);
    Some((url, fields))
}

/// The value of attribute `name` in an HTML tag, quoted with `"`.
fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    let len = tag[at..].find('"')?;
    Some(tag[at..at + len].to_owned())
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::SystemRandom::new().fill(&mut bytes).expect("random bytes");
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    (verifier, challenge)
}

/// What one browser shares with the others.
struct Shared {
    http: reqwest::Client,
    args: Args,
    discovery: Discovery,
    origin: String,
}

/// One code flow in `jar`: the authorization request, any forms on the way, the code exchange.
/// Returns an error naming the step that went wrong.
async fn round_trip(s: &Shared, jar: &mut Jar) -> Result<(), String> {
    let (verifier, challenge) = pkce();
    let mut url = reqwest::Url::parse(&s.discovery.authorization_endpoint).map_err(|e| e.to_string())?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &s.args.client_id)
        .append_pair("redirect_uri", &s.args.redirect_uri)
        .append_pair("scope", "openid")
        .append_pair("state", &challenge[..16])
        .append_pair("nonce", &challenge[16..32])
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let mut post: Option<Vec<(String, String)>> = None;
    let code = loop {
        let req = match post.take() {
            Some(fields) => s.http.post(url.clone()).header(ORIGIN, &s.origin).form(&fields),
            None => s.http.get(url.clone()),
        };
        let res = req.header(COOKIE, jar.header()).send().await.map_err(|e| e.to_string())?;
        jar.keep(&res);
        let status = res.status();
        if status.is_redirection() {
            let to = res.headers().get(LOCATION).and_then(|l| l.to_str().ok()).ok_or("redirect without Location")?;
            let next = url.join(to).map_err(|e| e.to_string())?;
            if next.as_str().starts_with(&s.args.redirect_uri) {
                let code = next.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned());
                break code.ok_or_else(|| format!("redirected without a code: {next}"))?;
            }
            url = next;
        } else if status.is_success() {
            let html = res.text().await.map_err(|e| e.to_string())?;
            let (action, fields) = form(&html, &url, &s.args.user, &s.args.password).ok_or("a page without a form")?;
            url = action;
            post = Some(fields);
        } else {
            return Err(format!("{status} at {url}"));
        }
    };
    let res = s
        .http
        .post(&s.discovery.token_endpoint)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &s.args.redirect_uri),
            ("client_id", &s.args.client_id),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status();
    let body: serde_json::Value = res.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() || !body["id_token"].is_string() {
        return Err(format!("token exchange: {status} {body}"));
    }
    Ok(())
}

/// The CPU time (user + system) process `pid` has used, from /proc.
fn cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[i]) / 1000.0
}

fn main() {
    let args = args();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(args.connections)
            .build()
            .expect("http client");
        let discovery: Discovery = http
            .get(format!("{}/.well-known/openid-configuration", args.issuer.trim_end_matches('/')))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("discovery")
            .json()
            .await
            .expect("discovery JSON");
        let origin = reqwest::Url::parse(&discovery.authorization_endpoint).expect("URL").origin().ascii_serialization();
        let shared = std::sync::Arc::new(Shared { http, args, discovery, origin });
        // Each browser logs in once; the round trips then ride on its session.
        let mut jars = Vec::new();
        for _ in 0..shared.args.connections {
            let mut jar = Jar::default();
            if !shared.args.login {
                round_trip(&shared, &mut jar).await.unwrap_or_else(|e| panic!("first login: {e}"));
            }
            jars.push(jar);
        }
        let cpu_before = shared.args.pid.and_then(cpu);
        let started = Instant::now();
        let until = started + Duration::from_secs(shared.args.seconds);
        let mut tasks = Vec::new();
        for mut jar in jars {
            let s = std::sync::Arc::clone(&shared);
            tasks.push(tokio::spawn(async move {
                let (mut times, mut errors, mut last) = (Vec::new(), 0u64, None);
                while Instant::now() < until {
                    if s.args.login {
                        jar = Jar::default();
                    }
                    let t = Instant::now();
                    match round_trip(&s, &mut jar).await {
                        Ok(()) => times.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX)),
                        Err(e) => {
                            errors += 1;
                            last = Some(e);
                        }
                    }
                }
                (times, errors, last)
            }));
        }
        let (mut times, mut errors, mut last) = (Vec::new(), 0, None);
        for t in tasks {
            let (t, e, l) = t.await.expect("a browser task");
            times.extend(t);
            errors += e;
            last = last.or(l);
        }
        let elapsed = started.elapsed().as_secs_f64();
        let cpu_used = shared.args.pid.and_then(cpu).zip(cpu_before).map(|(a, b)| (a - b).as_secs_f64());
        times.sort_unstable();
        let n = times.len() as f64;
        let out = serde_json::json!({
            "flows": times.len(),
            "errors": errors,
            "last_error": last,
            "per_second": n / elapsed,
            "p50_ms": percentile(&times, 0.50),
            "p99_ms": percentile(&times, 0.99),
            "server_cpu_seconds": cpu_used,
            "per_cpu_second": cpu_used.filter(|c| *c > 0.0).map(|c| n / c),
        });
        println!("{out}");
    });
}
