//! `signet demo` in headless Chromium (Debian's `chromium`, driven by `playwright-core`, both
//! installed by `.ci/run`): the seed's client storage advice, working, and single sign-on into a
//! second client. Screenshots of the login, demo, consent, partner and logout pages are kept
//! under `target/screenshots/`. Without Chromium and
//! the package the test prints a notice and passes, except under CI.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn demo_in_chromium_keeps_the_token_in_memory_refreshes_by_cookie_and_logs_out_everywhere() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let prefix = root.join("target/interop-node");
    let chromium = std::path::Path::new("/usr/bin/chromium");
    if !prefix.join("node_modules/playwright-core").is_dir() || !chromium.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium and playwright-core (see .ci/run)"
        );
        eprintln!("NOTICE: browser test skipped: chromium or playwright-core is not installed");
        return;
    }
    #[allow(clippy::zombie_processes)] // killed and waited for below
    let mut demo = Command::new(assert_cmd::cargo::cargo_bin("signet"))
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--api-listen",
            "127.0.0.1:0",
        ])
        .env("SIGNET_METRICS_LISTEN", "off")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = demo.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut app = None;
    let mut password = None;
    while app.is_none() || password.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("signet demo printed its URL and credentials");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["app", url] => app = Some((*url).to_owned()),
            ["password", p] => password = Some((*p).to_owned()),
            _ => {}
        }
    }
    let shots = root.join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let script = prefix.join("browser.mjs");
    std::fs::write(&script, include_str!("browser.mjs")).unwrap();
    let out = Command::new("node")
        .arg(&script)
        .args([app.unwrap(), "demo".into(), password.unwrap()])
        .arg(&shots)
        .output()
        .unwrap();
    let _ = demo.kill();
    let _ = demo.wait();
    assert!(
        out.status.success(),
        "the browser run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["focus_on_username"], true, "{seen}");
    assert!(seen["login_title"].as_str().unwrap().contains("Sign in"));
    assert_eq!(seen["script_sees_refresh_cookie"], false, "HttpOnly");
    assert_eq!(seen["script_sees_sso_cookie"], false, "HttpOnly");
    assert_eq!(seen["refresh_cookie_http_only"], true);
    assert!(
        !seen["stored"].as_str().unwrap().contains("eyJ"),
        "no token in web storage: {}",
        seen["stored"]
    );
    assert!(seen["api"].as_str().unwrap().starts_with("200"), "{seen}");
    assert_eq!(seen["signed_in_after_reload"], true);
    assert_eq!(seen["sso_without_password"], true);
    // The second client: consent, never a password, an ID token of the same user for it.
    assert_eq!(seen["consent_names_client"], true, "{seen}");
    assert!(
        seen["consent_title"]
            .as_str()
            .unwrap()
            .contains("Allow access")
    );
    assert_eq!(seen["partner_asked_for_password"], false, "{seen}");
    assert_eq!(seen["partner_aud"], "demo-partner", "{seen}");
    assert_eq!(seen["partner_nonce"], "n-partner", "{seen}");
    assert!(
        seen["api"]
            .as_str()
            .unwrap()
            .contains(seen["partner_sub"].as_str().unwrap()),
        "the partner's ID token names the user the API saw: {seen}"
    );
    assert_eq!(seen["partner_again_with_code"], true, "consent remembered");
    assert_eq!(seen["old_token_status"], 401, "{seen}");
    assert!(seen["refused_after_ms"].as_u64().unwrap() < 5000);
    for shot in [
        "login.png",
        "demo.png",
        "consent.png",
        "partner.png",
        "logout.png",
    ] {
        assert!(shots.join(shot).is_file(), "{shot}");
    }
}
