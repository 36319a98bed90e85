//! `signet token sign` and `signet token verify`, offline.

use crate::{AUD, ISS, dir, fails, keyfile, ok, sign, signet, verify_args};

fn verify_key<'a>(key: &'a str, token: &'a str) -> Vec<&'a str> {
    verify_args("--key", key, ISS, &[], token)
}

#[test]
fn verify_against_a_jwks_with_several_keys_picks_by_kid() {
    let d = dir();
    let keys: Vec<_> = ["ES256", "EdDSA", "RS256", "ES256"]
        .iter()
        .enumerate()
        .map(|(i, alg)| keyfile(d.path(), &format!("k{i}.jwk"), alg, "jwk"))
        .collect();
    let names: Vec<&str> = keys.iter().map(|k| k.to_str().unwrap()).collect();
    let mut args = vec!["key", "jwks"];
    args.extend_from_slice(&names);
    let jwks = d.path().join("jwks.json");
    std::fs::write(&jwks, ok(&args)).unwrap();
    for key in &keys {
        let token = sign(key, &[]);
        let out = ok(&verify_args(
            "--jwks",
            jwks.to_str().unwrap(),
            ISS,
            &[],
            &token,
        ));
        assert!(out.contains("\"sub\": \"alice\""));
    }
    // A key that is not in the set: refused by its kid.
    let stranger = keyfile(d.path(), "x.jwk", "ES256", "jwk");
    let err = fails(
        &verify_args(
            "--jwks",
            jwks.to_str().unwrap(),
            ISS,
            &[],
            &sign(&stranger, &[]),
        ),
        1,
    );
    assert!(err.starts_with("signet: unknown kid"), "{err}");
}

#[test]
fn refusals_say_why_in_one_line() {
    let d = dir();
    let key = keyfile(d.path(), "k.jwk", "ES256", "jwk");
    let k = key.to_str().unwrap();
    let good = sign(&key, &["--typ", "at+jwt"]);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "token", "verify", "--key", k, "--iss", ISS, "--aud", "billing", &good,
            ],
            "wrong audience: the token says \"api\", expected \"billing\"",
        ),
        (
            vec![
                "token",
                "verify",
                "--key",
                k,
                "--iss",
                "https://other.example",
                "--aud",
                AUD,
                &good,
            ],
            "wrong issuer",
        ),
        (
            verify_args("--key", k, ISS, &["--typ", "id_token+jwt"], &good),
            "wrong token type",
        ),
        (
            verify_args("--key", k, ISS, &["--require", "scope"], &good),
            "missing required claim `scope`",
        ),
    ];
    for (args, expected) in cases {
        let err = fails(&args, 1);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let tampered = format!("{}A", &good[..good.len() - 1]);
    let tampered = if tampered == good {
        format!("{}B", &good[..good.len() - 1])
    } else {
        tampered
    };
    let err = fails(&verify_key(k, &tampered), 1);
    assert!(
        err.contains("invalid signature") || err.contains("base64"),
        "{err}"
    );
    let other = keyfile(d.path(), "o.jwk", "ES256", "jwk");
    let other_pub = d.path().join("o.pub.jwk");
    std::fs::write(&other_pub, ok(&["key", "public", other.to_str().unwrap()])).unwrap();
    let err = fails(&verify_key(other_pub.to_str().unwrap(), &good), 1);
    assert_eq!(err.trim(), "signet: invalid signature");
    let hs = keyfile(d.path(), "h.jwk", "HS256", "jwk");
    let err = fails(&verify_key(k, &sign(&hs, &[])), 1);
    assert!(err.contains("algorithm mismatch"), "{err}");
}

#[test]
fn expired_token_says_how_long_ago() {
    let d = dir();
    let key = keyfile(d.path(), "k.jwk", "EdDSA", "jwk");
    let token = sign(&key, &["--exp", "1s"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let err = fails(
        &verify_args(
            "--key",
            key.to_str().unwrap(),
            ISS,
            &["--leeway", "0s"],
            &token,
        ),
        1,
    );
    assert!(
        err.starts_with("signet: token expired ") && err.trim_end().ends_with("s ago"),
        "{err}"
    );
    let nbf = sign(&key, &["--nbf", "1h", "--exp", "2h"]);
    let err = fails(
        &verify_args("--key", key.to_str().unwrap(), ISS, &[], &nbf),
        1,
    );
    assert!(
        err.contains("not valid yet (valid in 59m)") || err.contains("not valid yet (valid in 1h)"),
        "{err}"
    );
}

#[test]
fn lifetimes_over_a_day_need_an_explicit_flag() {
    let d = dir();
    let key = keyfile(d.path(), "k.jwk", "ES256", "jwk");
    let k = key.to_str().unwrap();
    let err = fails(
        &["token", "sign", "--key", k, "--aud", AUD, "--exp", "2d"],
        1,
    );
    assert!(
        err.contains("over 24h are refused") && err.contains("--allow-long-lived"),
        "{err}"
    );
    let out = signet()
        .args([
            "token",
            "sign",
            "--key",
            k,
            "--aud",
            AUD,
            "--exp",
            "2d",
            "--allow-long-lived",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning"));
    let err = fails(
        &["token", "sign", "--key", k, "--aud", AUD, "--exp", "soon"],
        1,
    );
    assert!(err.contains("invalid duration `soon`"), "{err}");
}

#[test]
fn claims_come_from_json_a_file_or_stdin() {
    let d = dir();
    let key = keyfile(d.path(), "k.jwk", "ES256", "jwk");
    let k = key.to_str().unwrap();
    let check = |token: &str| {
        let out = ok(&verify_args(
            "--key",
            k,
            ISS,
            &["--require", "scope"],
            token,
        ));
        let claims: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(claims["scope"], "orders:read");
        assert_eq!(claims["sub"], "from-json");
        assert!(claims.get("jti").is_none(), "--no-jti");
    };
    let json = format!(
        r#"{{"scope":"orders:read","sub":"from-json","iss":"{ISS}","aud":["{AUD}","other"]}}"#
    );
    check(ok(&["token", "sign", "--key", k, "--claims", &json, "--no-jti"]).trim());
    let file = d.path().join("claims.json");
    std::fs::write(&file, &json).unwrap();
    check(
        ok(&[
            "token",
            "sign",
            "--key",
            k,
            "--claims",
            &format!("@{}", file.display()),
            "--no-jti",
        ])
        .trim(),
    );
    let out = signet()
        .args(["token", "sign", "--key", k, "--claims", "-", "--no-jti"])
        .write_stdin(json.clone())
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout).unwrap();
    check(token.trim());
    // The token itself can come from standard input too.
    let out = signet()
        .args(["token", "verify", "--key", k, "--iss", ISS, "--aud", AUD])
        .write_stdin(token)
        .output()
        .unwrap();
    assert!(out.status.success());
    for bad in [r#"[1,2]"#, "{", r#"{"exp": 5}"#, r#"{"aud": 5}"#] {
        let err = fails(&["token", "sign", "--key", k, "--claims", bad], 1);
        assert!(err.starts_with("signet: --claims"), "{bad}: {err}");
    }
}

#[test]
fn typ_and_kid_can_be_set() {
    let d = dir();
    let key = keyfile(d.path(), "k.jwk", "ES256", "jwk");
    let token = sign(&key, &["--typ", "at+jwt", "--kid", "custom-kid"]);
    let header = ok(&["token", "decode", "--json", &token]);
    let doc: serde_json::Value = serde_json::from_str(&header).unwrap();
    assert_eq!(doc["header"]["typ"], "at+jwt");
    assert_eq!(doc["header"]["kid"], "custom-kid");
}

#[test]
fn max_age_refuses_tokens_issued_too_long_ago() {
    let d = dir();
    let key = keyfile(d.path(), "k.jwk", "ES256", "jwk");
    let token = sign(&key, &[]);
    let k = key.to_str().unwrap();
    ok(&verify_args("--key", k, ISS, &["--max-age", "1h"], &token));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let err = fails(
        &verify_args(
            "--key",
            k,
            ISS,
            &["--max-age", "0s", "--leeway", "0s"],
            &token,
        ),
        1,
    );
    assert!(err.contains("older than the maximum age"), "{err}");
}
