//! Revocation fan-out benchmark: one `signet serve` (release binary, SQLite) with N revocation
//! streams open over loopback (default 10,000), then R revocations one after another. Reports
//! how many of the N x R deliveries arrived, their latency (from just before the revoke
//! request to the event's arrival) at p50/p99/max, the issuer's CPU while the streams are open
//! and idle, and its memory per open stream. Prints a Markdown table.
//!
//! With a PostgreSQL URL as a third argument, two instances share a fresh schema of that
//! database: the streams are held at instance B and the revocations taken at instance A.
//!
//! Run: `cargo build --release -p signet-cli && cargo run --release --manifest-path
//! bench/Cargo.toml --bin fanout-bench -- [streams] [revocations] [postgres-url]` (needs
//! `ulimit -n` above the stream count; `psql` for the PostgreSQL run).

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// Instance A (revocations) and B (streams); the same instance on SQLite.
const PORT_A: u16 = 18282;
const PORT_B: u16 = 18283;
const SECRET: &str = "a-bench-client-secret-of-at-least-32-chars";

fn signet() -> Command {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = root.join("target/release/signet");
    assert!(bin.exists(), "build it first: cargo build --release -p signet-cli");
    Command::new(bin)
}

/// The issuer's CPU time so far (user + system), from /proc.
fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// The issuer's resident memory, in KiB.
fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn basic() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("backend:{SECRET}"))
}

/// One follower: opens the stream and records when each revocation's `jti` arrives.
async fn follow(
    port: u16,
    arrivals: Arc<Mutex<Vec<(String, Instant)>>>,
    opened: tokio::sync::mpsc::Sender<()>,
) {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request = format!(
        "GET /oauth2/revocations HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nAuthorization: Basic {}\r\n\r\n",
        basic()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let mut text = String::new();
    let mut answered = false;
    loop {
        let n = match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let now = Instant::now();
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
        if !answered {
            if !text.contains("\r\n\r\n") {
                continue;
            }
            assert!(text.starts_with("HTTP/1.1 200"), "stream refused: {text}");
            answered = true;
            opened.send(()).await.unwrap();
        }
        while let Some(end) = text.find('\n') {
            let line: String = text.drain(..=end).collect();
            if let Some(at) = line.find("\"jti\":\"") {
                let jti = line[at + 7..].split('"').next().unwrap().to_owned();
                arrivals.lock().await.push((jti, now));
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let streams: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let revocations: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let database = args.get(3).map(|base| {
        let schema = format!("signet_fanout_{}", std::process::id());
        let made = Command::new("psql")
            .args(["-q", base, "-c"])
            .arg(format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
            .status()
            .unwrap();
        assert!(made.success(), "psql could not make the schema");
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-c%20search_path%3D{schema}")
    });
    let on_db = |cmd: &mut Command| {
        if let Some(url) = &database {
            cmd.env("SIGNET_DATABASE_URL", url);
        }
    };

    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let mut add = signet();
    on_db(&mut add);
    let mut add = add
        .args(["client", "add", "backend", "--secret-stdin", "--audience", "api", "--scope", "a"])
        .arg("--data-dir")
        .arg(&data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin.take().unwrap().write_all(SECRET.as_bytes()).unwrap();
    assert!(add.wait().unwrap().success());
    let cap = (streams + 100).to_string();
    let start = |port: u16| -> Child {
        let mut cmd = signet();
        on_db(&mut cmd);
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--metrics-listen", "off"])
            .args(["--issuer", "http://signet.bench"])
            .args(["--max-connections", &cap, "--max-streams", &cap, "--max-streams-per-client", &cap])
            .arg("--data-dir")
            .arg(&data)
            .env("SIGNET_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let http = reqwest::Client::new();
    let ready = |port: u16| {
        let http = http.clone();
        async move {
            for _ in 0..100 {
                if http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("the issuer on {port} did not start");
        }
    };
    let mut issuer = start(PORT_A);
    ready(PORT_A).await;
    // On PostgreSQL the streams are held at a second instance.
    let (mut holder, stream_port) = match &database {
        Some(_) => (Some(start(PORT_B)), PORT_B),
        None => (None, PORT_A),
    };
    ready(stream_port).await;
    let pid = holder.as_ref().map_or(issuer.id(), Child::id);
    let base = format!("http://127.0.0.1:{PORT_A}");
    let rss_before = rss_of(pid);

    let arrivals = Arc::new(Mutex::new(Vec::with_capacity(streams * revocations)));
    let (opened_tx, mut opened) = tokio::sync::mpsc::channel(streams);
    let started = Instant::now();
    for i in 0..streams {
        tokio::spawn(follow(stream_port, Arc::clone(&arrivals), opened_tx.clone()));
        if i % 500 == 499 {
            // Open in waves, as followers reconnecting after a deploy would.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for _ in 0..streams {
        opened.recv().await.unwrap();
    }
    let open_time = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_open = rss_of(pid);

    // Idle: streams open, nothing revoked (keep-alives only).
    let idle_secs = 10;
    let cpu0 = cpu_of(pid);
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let idle_cpu = (cpu_of(pid) - cpu0).as_secs_f64() / idle_secs as f64;

    // Revocations, one after another.
    let mut sent = Vec::new();
    for _ in 0..revocations {
        let text = http
            .post(format!("{base}/oauth2/token"))
            .header("authorization", format!("Basic {}", basic()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        let token = body["access_token"].as_str().unwrap().to_owned();
        let payload = token.split('.').nth(1).unwrap();
        let claims: serde_json::Value = {
            use base64::Engine;
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
        };
        let jti = claims["jti"].as_str().unwrap().to_owned();
        let at = Instant::now();
        let status = http
            .post(format!("{base}/oauth2/revoke"))
            .header("authorization", format!("Basic {}", basic()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success());
        sent.push((jti, at));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = arrivals.lock().await;
    let mut latencies: Vec<Duration> = Vec::with_capacity(got.len());
    for (jti, at) in &got[..] {
        if let Some((_, sent_at)) = sent.iter().find(|(j, _)| j == jti) {
            latencies.push(at.saturating_duration_since(*sent_at));
        }
    }
    latencies.sort();
    let _ = issuer.kill();
    let _ = issuer.wait();
    if let Some(b) = holder.as_mut() {
        let _ = b.kill();
        let _ = b.wait();
    }
    let setup = if database.is_some() {
        "PostgreSQL, revoked at A, streams at B"
    } else {
        "SQLite, one instance"
    };

    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    println!("| setup | streams | revocations | delivered | p50 | p99 | max | idle issuer CPU | memory per stream | all open after |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {setup} | {streams} | {revocations} | {} of {} | {} | {} | {} | {:.1} % of a core | {:.1} KiB | {:.1} s |",
        latencies.len(),
        streams * revocations,
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap()),
        idle_cpu * 100.0,
        (rss_open.saturating_sub(rss_before)) as f64 / streams as f64,
        open_time.as_secs_f64(),
    );
}
