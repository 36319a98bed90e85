//! The real `signet` binary, run for every command and failure mode.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

mod decode;
mod durability;
mod interop;
mod keys;
mod lint;
mod remote;
mod serve;
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
