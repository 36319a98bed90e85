//! `signet key ...`

use std::os::unix::fs::PermissionsExt;

use crate::{AUD, ISS, dir, fails, keyfile, ok, sign, signet, verify_args};

const ALL: [&str; 14] = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
    "ES384", "ES512", "ES256K", "EdDSA",
];

#[test]
fn generate_sign_verify_round_trips_for_every_algorithm() {
    let d = dir();
    for alg in ALL {
        let key = keyfile(d.path(), &format!("{alg}.jwk"), alg, "jwk");
        let token = sign(&key, &[]);
        let claims = ok(&verify_args(
            "--key",
            key.to_str().unwrap(),
            ISS,
            &[],
            &token,
        ));
        let claims: serde_json::Value = serde_json::from_str(&claims).unwrap();
        assert_eq!(claims["sub"], "alice", "{alg}");
        if !alg.starts_with("HS") {
            // The public JWK alone verifies, and so does a PEM key for EC/OKP without --alg.
            let public = d.path().join(format!("{alg}.pub.jwk"));
            std::fs::write(&public, ok(&["key", "public", key.to_str().unwrap()])).unwrap();
            ok(&verify_args(
                "--key",
                public.to_str().unwrap(),
                ISS,
                &[],
                &token,
            ));
            let pem = keyfile(d.path(), &format!("{alg}.pem"), alg, "pem");
            let alg_arg: &[&str] = if alg.starts_with('R') || alg.starts_with('P') {
                &["--alg", alg]
            } else {
                &[]
            };
            let mut args = vec![
                "token",
                "sign",
                "--key",
                pem.to_str().unwrap(),
                "--iss",
                ISS,
                "--aud",
                AUD,
            ];
            args.extend_from_slice(alg_arg);
            let t = ok(&args);
            let mut args = verify_args("--key", pem.to_str().unwrap(), ISS, &[], t.trim());
            args.extend_from_slice(alg_arg);
            ok(&args);
        }
    }
}

#[test]
fn generated_key_file_is_private_and_never_overwritten_silently() {
    let d = dir();
    let key = keyfile(d.path(), "k.jwk", "ES256", "jwk");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let before = std::fs::read_to_string(&key).unwrap();
    let err = fails(
        &[
            "key",
            "generate",
            "--alg",
            "ES256",
            "--out",
            key.to_str().unwrap(),
        ],
        1,
    );
    assert!(err.contains("exists") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), before);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    ok(&[
        "key",
        "generate",
        "--alg",
        "ES256",
        "--out",
        key.to_str().unwrap(),
        "--force",
    ]);
    assert_ne!(std::fs::read_to_string(&key).unwrap(), before);
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn kid_defaults_to_the_thumbprint_and_can_be_set() {
    let d = dir();
    let key = keyfile(d.path(), "k.jwk", "EdDSA", "jwk");
    let jwk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&key).unwrap()).unwrap();
    assert_eq!(
        ok(&["key", "thumbprint", key.to_str().unwrap()]).trim(),
        jwk["kid"]
    );
    let named = ok(&["key", "generate", "--alg", "ES384", "--kid", "2026-11"]);
    assert!(named.contains("\"kid\": \"2026-11\""));
}

#[test]
fn public_key_of_an_hmac_key_is_refused() {
    let d = dir();
    let key = keyfile(d.path(), "h.jwk", "HS256", "jwk");
    let err = fails(&["key", "public", key.to_str().unwrap()], 1);
    assert!(
        err.contains("HMAC") && err.contains("no public half"),
        "{err}"
    );
    let err = fails(&["key", "generate", "--alg", "HS256", "--format", "pem"], 1);
    assert!(err.contains("no PEM form"), "{err}");
}

#[test]
fn jwks_of_several_keys_and_stdin_input() {
    let d = dir();
    let a = keyfile(d.path(), "a.jwk", "ES256", "jwk");
    let b = keyfile(d.path(), "b.pem", "RS256", "pem");
    let jwks = ok(&[
        "key",
        "jwks",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--alg",
        "RS256",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    assert_eq!(doc["keys"].as_array().unwrap().len(), 2);
    assert!(
        doc["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("d").is_none()),
        "public halves only"
    );
    let out = signet()
        .args(["key", "public", "-"])
        .write_stdin(std::fs::read(&a).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    let thumb = signet()
        .args(["key", "thumbprint"])
        .write_stdin(std::fs::read(&a).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(thumb.stdout).unwrap().trim(),
        ok(&["key", "thumbprint", a.to_str().unwrap()]).trim()
    );
}

#[test]
fn unreadable_or_malformed_key_file_says_which_and_what() {
    let d = dir();
    let missing = d.path().join("nope.jwk");
    let err = fails(&["key", "public", missing.to_str().unwrap()], 1);
    assert!(
        err.contains("cannot read key file") && err.contains("nope.jwk"),
        "{err}"
    );
    let garbage = d.path().join("garbage.txt");
    std::fs::write(&garbage, "hello").unwrap();
    let err = fails(&["key", "public", garbage.to_str().unwrap()], 1);
    assert!(
        err.contains("garbage.txt") && err.contains("not a JWK, JWKS or PEM"),
        "{err}"
    );
    let bad_json = d.path().join("bad.jwk");
    std::fs::write(
        &bad_json,
        r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA","alg":"ES256"}"#,
    )
    .unwrap();
    let err = fails(&["key", "public", bad_json.to_str().unwrap()], 1);
    assert!(
        err.contains("bad.jwk") && err.contains("invalid key"),
        "{err}"
    );
    let short = d.path().join("short.jwk");
    std::fs::write(&short, r#"{"kty":"oct","k":"c2VjcmV0","alg":"HS256"}"#).unwrap();
    let err = fails(
        &[
            "token",
            "sign",
            "--key",
            short.to_str().unwrap(),
            "--aud",
            "x",
        ],
        1,
    );
    assert!(
        err.contains("short.jwk") && err.contains("too weak"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}
