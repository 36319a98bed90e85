//! An off-the-shelf OpenID Connect relying party (panva's `openid-client`, OpenID Certified,
//! installed by `.ci/run` into `target/interop-node`) against a running `signet serve`:
//! discovery, an authorization URL with PKCE and nonce, the login form, the code exchange with
//! ID token validation, userinfo, refresh, revocation, a nonce mismatch it must catch, and the
//! end-session URL. Without node and the package the test prints a notice and passes, except
//! under CI.

use std::path::PathBuf;
use std::process::Command;

use crate::{dir, ok, serve_logged};

#[test]
fn openid_client_logs_in_refreshes_revokes_and_logs_out_against_signet_serve() {
    let prefix = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/interop-node");
    if !prefix.join("node_modules/openid-client").is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install openid-client (see .ci/run)"
        );
        eprintln!("NOTICE: openid-client test skipped: not installed in target/interop-node");
        return;
    }
    let d = dir();
    let data = d.path().join("data");
    let data_arg = data.to_str().unwrap();
    crate::signet()
        .args([
            "user",
            "add",
            "alice",
            "--password-stdin",
            "--email",
            "alice@example.com",
        ])
        .args(["--email-verified", "--data-dir", data_arg])
        .write_stdin("correct horse battery\n")
        .assert()
        .success();
    ok(&[
        "client",
        "add",
        "rp",
        "--public",
        "--grant",
        "authorization_code",
        "--grant",
        "refresh_token",
        "--redirect-uri",
        "http://127.0.0.1:9/cb",
        "--post-logout-redirect-uri",
        "http://127.0.0.1:9/bye",
        "--scope",
        "openid profile email",
        "--first-party",
        "--data-dir",
        data_arg,
    ]);
    let (mut child, base) = serve_logged(&data, &d.path().join("serve.log"), &[], &[]);
    let script = prefix.join("oidc_rp.mjs");
    std::fs::write(&script, include_str!("oidc_rp.mjs")).unwrap();
    let out = Command::new("node")
        .arg(&script)
        .args([
            &base,
            "rp",
            "http://127.0.0.1:9/cb",
            "http://127.0.0.1:9/bye",
        ])
        .args(["alice", "correct horse battery"])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        out.status.success(),
        "openid-client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["id_token_email"], "alice@example.com", "{seen}");
    assert_eq!(seen["userinfo_email"], "alice@example.com");
    assert_eq!(seen["refreshed"], true);
    assert_eq!(seen["revoked"], true);
    assert_eq!(seen["nonce_mismatch_detected"], true);
    assert_eq!(seen["logout_status"], 303);
    assert_eq!(seen["logout_location"], "http://127.0.0.1:9/bye?state=bye");
    assert_eq!(seen["session_cookie_left"], false);
}
