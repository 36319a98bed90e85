//! Interoperability of the CLI's keys and tokens with PyJWT and jwcrypto (Python) and panva's
//! `jose` (Node.js), in both directions, for every algorithm each supports.
//!
//! The peers are installed by `.ci/run` (pip, and npm into `target/interop-node`). Without them
//! the test prints a notice and passes, except under CI, where their absence is a failure.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use crate::{ISS, dir, fails, keyfile, ok, sign_as, verify_args};

const ALGS: [&str; 14] = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
    "ES384", "ES512", "ES256K", "EdDSA",
];

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn missing(what: &str) -> bool {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install {what} (see .ci/run)"
    );
    eprintln!("NOTICE: interop test skipped: {what} is not installed");
    true
}

/// The command that runs a peer: python3 with the library's interop.py, or node with jose.
fn peer(name: &str) -> Option<Command> {
    match name {
        "python" => {
            let ready = Command::new("python3")
                .args(["-c", "import jwt, jwcrypto"])
                .output()
                .is_ok_and(|o| o.status.success());
            if !ready && missing("python3 with PyJWT and jwcrypto") {
                return None;
            }
            let mut cmd = Command::new("python3");
            cmd.arg(workspace().join("crates/signet/tests/conformance/interop.py"));
            Some(cmd)
        }
        _ => {
            let prefix = workspace().join("target/interop-node");
            if !prefix.join("node_modules/jose").is_dir()
                && missing("node with jose in target/interop-node")
            {
                return None;
            }
            // Run the script from the prefix so that `import 'jose'` resolves there.
            let script = prefix.join("interop.mjs");
            std::fs::write(&script, include_str!("interop.mjs")).unwrap();
            let mut cmd = Command::new("node");
            cmd.arg(script);
            Some(cmd)
        }
    }
}

fn run(mut cmd: Command, args: &[&str]) -> Value {
    let out = cmd.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn cli_tokens_verify_in_pyjwt_jwcrypto_and_jose() {
    let d = dir();
    let mut cases = Vec::new();
    for alg in ALGS {
        let key = keyfile(d.path(), &format!("{alg}.jwk"), alg, "jwk");
        let sub = format!("cli-{alg}");
        let token = sign_as(&key, &sub, &[]);
        let jwk = if alg.starts_with("HS") {
            std::fs::read_to_string(&key).unwrap()
        } else {
            ok(&["key", "public", key.to_str().unwrap()])
        };
        let jwk: Value = serde_json::from_str(&jwk).unwrap();
        cases.push(json!({"alg": alg, "jwk": jwk, "token": token, "sub": sub}));
    }
    let file = d.path().join("cases.json");
    std::fs::write(&file, serde_json::to_vec(&cases).unwrap()).unwrap();
    let mut failures = Vec::new();
    for (name, libs) in [
        ("python", &["pyjwt", "jwcrypto"][..]),
        ("node", &["jose"][..]),
    ] {
        let Some(cmd) = peer(name) else { continue };
        let results = run(cmd, &["verify", file.to_str().unwrap()]);
        for r in results.as_array().unwrap() {
            for lib in libs {
                if r[*lib] != "ok" {
                    failures.push(format!("{} in {lib}: {}", r["alg"], r[*lib]));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn keys_and_tokens_from_pyjwt_jwcrypto_and_jose_verify_in_the_cli() {
    let d = dir();
    let mut checked = 0;
    for name in ["python", "node"] {
        let Some(cmd) = peer(name) else { continue };
        for case in run(cmd, &["sign"]).as_array().unwrap() {
            let alg = case["alg"].as_str().unwrap();
            let key = d.path().join(format!("{name}-{alg}.jwk"));
            std::fs::write(&key, case["jwk"].to_string()).unwrap();
            for (lib, token) in case["tokens"].as_object().unwrap() {
                let token = token.as_str().unwrap();
                let out = ok(&verify_args(
                    "--key",
                    key.to_str().unwrap(),
                    ISS,
                    &[],
                    token,
                ));
                assert!(out.contains("\"sub\""), "{alg} from {lib}");
                // The same token under the wrong audience is refused.
                let err = fails(
                    &[
                        "token",
                        "verify",
                        "--key",
                        key.to_str().unwrap(),
                        "--iss",
                        ISS,
                        "--aud",
                        "other",
                        token,
                    ],
                    1,
                );
                assert!(err.contains("wrong audience"), "{alg} from {lib}: {err}");
                checked += 1;
            }
        }
    }
    if checked > 0 {
        assert!(checked >= ALGS.len(), "only {checked} peer tokens checked");
    }
}
