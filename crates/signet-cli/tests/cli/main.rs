//! The real `signet` binary, run for every command and failure mode.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

mod browser;
mod decode;
mod durability;
mod interop;
mod keys;
mod lint;
mod oidc;
mod remote;
mod revocation;
mod scale;
mod serve;
mod ssf;
mod tokens;
mod usage;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use base64::Engine;

pub(crate) const ISS: &str = "https://issuer.example";
pub(crate) const AUD: &str = "api";

/// The `signet` binary with a clean environment for the variables it reads.
pub(crate) fn signet() -> Command {
    let mut cmd = Command::cargo_bin("signet").unwrap();
    cmd.env_remove("SIGNET_KEY")
        .env_remove("SIGNET_ISSUER_URL")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs `signet args...`, asserting success, and returns standard output.
pub(crate) fn ok(args: &[&str]) -> String {
    let out = signet().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "signet {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `signet args...`, asserting the exit code, and returns standard error.
pub(crate) fn fails(args: &[&str], code: i32) -> String {
    let out = signet().args(args).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(code), "signet {args:?}: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    stderr
}

/// Runs `signet client add ARGS` for a confidential client; returns its generated secret.
pub(crate) fn add_confidential(args: &[&str]) -> String {
    let mut all = vec!["client", "add"];
    all.extend_from_slice(args);
    secret_of(&ok(&all))
}

/// The secret a `signet client add` or `rotate-secret` printed once.
pub(crate) fn secret_of(printed: &str) -> String {
    printed
        .split("(shown once): ")
        .nth(1)
        .expect("a generated secret")
        .trim()
        .to_owned()
}

/// Seeds an issuer's data directory: user `alice` with `password`, a public client `web` and a
/// confidential resource server `rs_id` (both for audience `api`, scope `a`); returns the
/// resource server's secret.
pub(crate) fn seed_issuer(data_arg: &str, password: &str, rs_id: &str) -> String {
    signet()
        .args([
            "user",
            "add",
            "alice",
            "--password-stdin",
            "--data-dir",
            data_arg,
        ])
        .write_stdin(password)
        .assert()
        .success();
    ok(&[
        "client",
        "add",
        "web",
        "--public",
        "--audience",
        "api",
        "--scope",
        "a",
        "--data-dir",
        data_arg,
    ]);
    add_confidential(&[
        rs_id,
        "--audience",
        "api",
        "--scope",
        "a",
        "--introspect",
        "--data-dir",
        data_arg,
    ])
}

/// Starts `signet serve` on an ephemeral port over `data` with `extra` arguments and
/// environment, its standard error written to `log`; returns the process and its base URL.
pub(crate) fn serve_logged(
    data: &Path,
    log: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Child, String) {
    let file = std::fs::File::create(log).unwrap();
    #[allow(clippy::zombie_processes)] // the caller kills and waits for it
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("signet"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .arg("--data-dir")
        .arg(data)
        .env_remove("SIGNET_ISSUER")
        .env("SIGNET_METRICS_LISTEN", "off")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stderr(std::process::Stdio::from(file))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(addr) = text.lines().find_map(|l| l.split("addr=").nth(1)) {
            return (
                child,
                format!("http://{}", addr.split_whitespace().next().unwrap()),
            );
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("signet serve stopped ({status}):\n{text}");
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no address logged"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A temporary directory for key files.
pub(crate) fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Generates a key for `alg` into `dir/name`, returning its path.
pub(crate) fn keyfile(dir: &Path, name: &str, alg: &str, format: &str) -> PathBuf {
    let path = dir.join(name);
    ok(&[
        "key",
        "generate",
        "--alg",
        alg,
        "--format",
        format,
        "--out",
        path.to_str().unwrap(),
    ]);
    path
}

/// The arguments of `signet token verify FLAG SOURCE --iss ISS --aud AUD EXTRA... TOKEN`, where
/// `FLAG SOURCE` says where the keys come from (`--key FILE`, `--jwks-url URL`, ...).
pub(crate) fn verify_args<'a>(
    flag: &'a str,
    source: &'a str,
    iss: &'a str,
    extra: &[&'a str],
    token: &'a str,
) -> Vec<&'a str> {
    let mut args = vec!["token", "verify", flag, source, "--iss", iss, "--aud", AUD];
    args.extend_from_slice(extra);
    args.push(token);
    args
}

/// A token for `ISS` and `AUD` about `alice`, signed by `key`.
pub(crate) fn sign(key: &Path, extra: &[&str]) -> String {
    sign_as(key, "alice", extra)
}

/// A token for `ISS` and `AUD` about `sub`, signed by `key`.
pub(crate) fn sign_as(key: &Path, sub: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "token",
        "sign",
        "--key",
        key.to_str().unwrap(),
        "--iss",
        ISS,
        "--aud",
        AUD,
        "--sub",
        sub,
    ];
    args.extend_from_slice(extra);
    ok(&args).trim().to_owned()
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with exactly this header and payload, and a dummy signature.
pub(crate) fn raw_token(header: &str, payload: &str) -> String {
    format!(
        "{}.{}.{}",
        b64(header.as_bytes()),
        b64(payload.as_bytes()),
        b64(&[7u8; 32])
    )
}
