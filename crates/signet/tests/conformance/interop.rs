//! Interoperability with the Python JOSE libraries PyJWT and jwcrypto, in both directions,
//! for every algorithm. Runs `interop.py` beside this file with `python3`.
//!
//! Without those packages the test prints a notice and passes, except under CI (`CI` set),
//! where `.ci/run` installs them and their absence is a failure.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};
use signet::{Algorithm, FixedClock, Jwk, SigningKey, TokenBuilder, Validation, VerifyingKey};

const ISS: &str = "https://issuer.example";
const AUD: &str = "api";

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/interop.py")
}

/// Whether the Python peers can run here; panics under CI when they cannot.
fn python_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import jwt, jwcrypto, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install PyJWT and jwcrypto (see .ci/run)"
        );
        eprintln!(
            "NOTICE: interop tests skipped: python3 with PyJWT and jwcrypto is not installed"
        );
    }
    ok
}

fn run_python(args: &[&str]) -> Value {
    let out = Command::new("python3")
        .arg(script())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "interop.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn tokens_signed_by_signet_verify_in_pyjwt_and_jwcrypto() {
    if !python_ready() {
        return;
    }
    let mut cases = Vec::new();
    for alg in Algorithm::ALL {
        let key = SigningKey::generate(alg).unwrap();
        let sub = format!("signet-{alg}");
        let token = TokenBuilder::new()
            .issuer(ISS)
            .audience(AUD)
            .subject(sub.as_str())
            .sign(&key)
            .unwrap();
        // An HMAC key is shared as its secret JWK; any other as its public JWK only.
        let jwk = if alg.family() == signet::KeyFamily::Hmac {
            key.to_jwk()
        } else {
            key.public_jwk()
        }
        .unwrap();
        cases.push(json!({"alg": alg.name(), "jwk": jwk, "token": token, "sub": sub}));
    }
    let file = std::env::temp_dir().join(format!("signet-interop-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&cases).unwrap()).unwrap();
    let results = run_python(&["verify", file.to_str().unwrap()]);
    let _ = std::fs::remove_file(&file);
    let failures: Vec<String> = results
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            ["pyjwt", "jwcrypto"]
                .into_iter()
                .filter(|lib| r[*lib] != "ok")
                .map(move |lib| format!("{} in {lib}: {}", r["alg"], r[lib]))
        })
        .collect();
    assert_eq!(results.as_array().unwrap().len(), Algorithm::ALL.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn tokens_and_keys_from_pyjwt_and_jwcrypto_verify_in_signet() {
    if !python_ready() {
        return;
    }
    let cases = run_python(&["sign"]);
    let validation = Validation::builder().issuer(ISS).audience(AUD).build();
    let mut checked = 0;
    for case in cases.as_array().unwrap() {
        let alg: Algorithm = case["alg"].as_str().unwrap().parse().unwrap();
        let jwk: Jwk = serde_json::from_value(case["jwk"].clone()).unwrap();
        let key =
            VerifyingKey::from_jwk(&jwk).unwrap_or_else(|e| panic!("{alg}: key refused: {e}"));
        assert_eq!(key.alg(), alg);
        for (lib, token) in case["tokens"].as_object().unwrap() {
            let claims = key
                .verify(token.as_str().unwrap(), &validation)
                .unwrap_or_else(|e| panic!("{alg} token from {lib}: {e}"));
            assert_eq!(claims.sub.as_deref(), Some(format!("py-{alg}").as_str()));
            checked += 1;
        }
        // A token from the peer is refused when it has expired, with an injected clock.
        let later = Validation::builder()
            .issuer(ISS)
            .audience(AUD)
            .clock(Arc::new(FixedClock(u64::MAX / 4)))
            .build();
        let token = case["tokens"]["pyjwt"].as_str().unwrap();
        assert!(matches!(
            key.verify(token, &later),
            Err(signet::Error::Expired { .. })
        ));
    }
    assert_eq!(checked, 2 * Algorithm::ALL.len());
}
