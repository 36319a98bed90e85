//! `signet token lint`: each finding triggered by a crafted token, none on a clean one.

use aws_lc_rs::hmac;

use crate::{AUD, ISS, b64, dir, keyfile, raw_token, sign, signet};

/// Runs the linter with `--json`, returning (exit code, finding codes).
fn lint(token: &str, key: Option<&str>) -> (i32, Vec<String>) {
    let mut cmd = signet();
    cmd.args(["token", "lint", "--json", token]);
    if let Some(k) = key {
        cmd.args(["--key", k]);
    }
    let out = cmd.output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let codes = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect();
    (out.status.code().unwrap(), codes)
}

const NOW: u64 = 1_900_000_000;

fn payload(extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    format!(
        r#"{{"iss":"{ISS}","aud":"{AUD}","sub":"user-1","iat":{NOW},"exp":{}{sep}{extra}}}"#,
        NOW + 600
    )
}

const HEADER: &str = r#"{"alg":"ES256","typ":"at+jwt","kid":"k1"}"#;

#[test]
fn a_clean_token_has_no_findings() {
    let d = dir();
    let key = keyfile(d.path(), "k.jwk", "ES256", "jwk");
    let token = sign(&key, &["--typ", "at+jwt"]);
    assert_eq!(lint(&token, None), (0, vec![]));
    assert_eq!(lint(&raw_token(HEADER, &payload("")), None), (0, vec![]));
    let text = signet().args(["token", "lint", &token]).output().unwrap();
    assert_eq!(
        String::from_utf8(text.stdout).unwrap().trim(),
        "0 error(s), 0 warning(s)"
    );
}

#[test]
fn each_pitfall_is_found_with_its_severity() {
    let cases: Vec<(String, &str, bool)> = vec![
        (
            raw_token(r#"{"alg":"none","typ":"at+jwt"}"#, &payload("")),
            "alg-none",
            true,
        ),
        (
            raw_token(r#"{"alg":"NoNe","typ":"at+jwt"}"#, &payload("")),
            "alg-none",
            true,
        ),
        (
            raw_token(r#"{"alg":"HS1","typ":"at+jwt"}"#, &payload("")),
            "alg-unknown",
            true,
        ),
        (
            raw_token(
                r#"{"alg":"RS256","typ":"at+jwt","jku":"https://evil.example/k"}"#,
                &payload(""),
            ),
            "key-in-header",
            false,
        ),
        (
            raw_token(
                r#"{"alg":"RS256","typ":"at+jwt","x5u":"https://evil.example/c"}"#,
                &payload(""),
            ),
            "key-in-header",
            false,
        ),
        (
            raw_token(
                r#"{"alg":"RS256","typ":"at+jwt","jwk":{"kty":"EC"}}"#,
                &payload(""),
            ),
            "key-in-header",
            false,
        ),
        (
            raw_token(
                r#"{"alg":"RS256","typ":"at+jwt","x5c":["MII"]}"#,
                &payload(""),
            ),
            "key-in-header",
            false,
        ),
        (
            raw_token(
                r#"{"alg":"ES256","typ":"at+jwt","kid":"../../dev/null"}"#,
                &payload(""),
            ),
            "kid-injection",
            false,
        ),
        (
            raw_token(
                r#"{"alg":"ES256","typ":"at+jwt","kid":"1' OR '1'='1"}"#,
                &payload(""),
            ),
            "kid-injection",
            false,
        ),
        (
            raw_token(r#"{"alg":"ES256"}"#, &payload("")),
            "no-typ",
            false,
        ),
        (
            raw_token(r#"{"alg":"ES256","typ":"JWT"}"#, &payload("")),
            "generic-typ",
            false,
        ),
        (
            raw_token(HEADER, &format!(r#"{{"iss":"{ISS}","aud":"{AUD}"}}"#)),
            "no-exp",
            true,
        ),
        (
            raw_token(
                HEADER,
                &format!(
                    r#"{{"iss":"{ISS}","aud":"{AUD}","iat":{NOW},"exp":{}}}"#,
                    NOW + 7200
                ),
            ),
            "lifetime-over-1h",
            false,
        ),
        (
            raw_token(
                HEADER,
                &format!(
                    r#"{{"iss":"{ISS}","aud":"{AUD}","iat":{NOW},"exp":{}}}"#,
                    NOW + 3 * 86_400
                ),
            ),
            "lifetime-over-24h",
            true,
        ),
        (
            raw_token(
                HEADER,
                &format!(r#"{{"aud":"{AUD}","iat":{NOW},"exp":{}}}"#, NOW + 60),
            ),
            "no-iss",
            false,
        ),
        (
            raw_token(
                HEADER,
                &format!(r#"{{"iss":"{ISS}","iat":{NOW},"exp":{}}}"#, NOW + 60),
            ),
            "no-aud",
            false,
        ),
        (
            raw_token(HEADER, &payload(r#""password":"hunter2""#)),
            "secret-in-payload",
            true,
        ),
        (
            raw_token(HEADER, &payload(r#""db":{"api_key":"x"}"#)),
            "secret-in-payload",
            true,
        ),
        (
            raw_token(HEADER, &payload(r#""contact":"ada@example.com""#)),
            "email",
            false,
        ),
        (
            raw_token(HEADER, &payload(r#""mobile":"+44 20 7946 0958""#)),
            "phone-number",
            false,
        ),
        (
            raw_token(HEADER, &payload(r#""home":"221B Baker Street, London""#)),
            "postal-address",
            false,
        ),
        (
            raw_token(HEADER, &payload(r#""born_on":"1990-04-01""#)),
            "birth-date",
            false,
        ),
        (
            raw_token(HEADER, &payload(r#""tax":"078-05-1120""#)),
            "national-id",
            true,
        ),
        (
            raw_token(HEADER, &payload(r#""pay":"4111 1111 1111 1111""#)),
            "card-number",
            true,
        ),
        (
            raw_token(HEADER, &payload(r#""ssn":"x""#)),
            "personal-data",
            false,
        ),
        (
            raw_token(
                HEADER,
                &payload(r#""stripe":"sk_live_4eC39HqLyjWDarjtT1zdp7dc""#),
            ),
            "high-entropy-value",
            false,
        ),
    ];
    for (token, code, is_error) in cases {
        let (exit, codes) = lint(&token, None);
        assert!(
            codes.iter().any(|c| c == code),
            "{code} not found in {codes:?}"
        );
        assert_eq!(
            exit,
            i32::from(is_error),
            "{code}: exit {exit} with {codes:?}"
        );
    }
}

fn hs256(secret: &[u8], header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

#[test]
fn weak_and_well_known_hmac_secrets_are_found() {
    let header = r#"{"alg":"HS256","typ":"at+jwt"}"#;
    // Signed with a secret from the list: found without being given the key.
    let cracked = hs256(b"your-256-bit-secret", header, &payload(""));
    let (exit, codes) = lint(&cracked, None);
    assert_eq!((exit, codes), (1, vec!["cracked-hmac-key".to_owned()]));
    // With --key: a short secret, and one from the list.
    let d = dir();
    let short = d.path().join("short.jwk");
    std::fs::write(&short, format!(r#"{{"kty":"oct","k":"{}"}}"#, b64(b"tiny"))).unwrap();
    let (exit, codes) = lint(
        &hs256(b"tiny", header, &payload("")),
        Some(short.to_str().unwrap()),
    );
    assert_eq!((exit, codes), (1, vec!["weak-hmac-key".to_owned()]));
    let known = d.path().join("known.jwk");
    std::fs::write(
        &known,
        format!(r#"{{"kty":"oct","k":"{}"}}"#, b64(b"your-256-bit-secret")),
    )
    .unwrap();
    let (_, codes) = lint(&cracked, Some(known.to_str().unwrap()));
    assert!(
        codes.contains(&"common-hmac-key".to_owned())
            && codes.contains(&"weak-hmac-key".to_owned()),
        "{codes:?}"
    );
    // A strong random secret is clean.
    let strong = keyfile(d.path(), "strong.jwk", "HS256", "jwk");
    let token = sign(&strong, &["--typ", "at+jwt"]);
    assert_eq!(lint(&token, Some(strong.to_str().unwrap())), (0, vec![]));
}

#[test]
fn human_output_has_severity_reason_and_fix() {
    let token = raw_token(r#"{"alg":"none"}"#, r#"{"email":"ada@example.com"}"#);
    let out = signet().args(["token", "lint", &token]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("error [alg-none] alg is none"), "{text}");
    assert!(text.contains("  fix: "), "{text}");
    assert!(text.contains("warning [no-typ]"), "{text}");
    assert!(text.trim_end().ends_with("warning(s)"), "{text}");
}

#[test]
fn a_payload_that_is_not_a_claims_object_is_refused_not_linted_as_empty_claims() {
    for payload in ["[1]", "not json"] {
        let token = raw_token(HEADER, payload);
        let out = signet().args(["token", "lint", &token]).output().unwrap();
        assert!(!out.status.success());
        assert!(
            out.stdout.is_empty(),
            "no findings for a payload that is not claims"
        );
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("signet: the payload is not"), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

#[test]
fn list_rules_prints_the_table_of_every_rule_with_its_severity_and_fix() {
    let out = signet()
        .args(["token", "lint", "--list-rules"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for (id, severity) in [
        ("alg-none", "error"),
        ("no-typ", "warning"),
        ("generic-typ", "info"),
        ("lifetime-over-24h", "error"),
        ("secret-in-payload", "error"),
        ("card-number", "error"),
        ("high-entropy-value", "warning"),
        ("cracked-hmac-key", "error"),
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("{id} not listed:\n{text}"));
        assert!(line.contains(severity), "{line}");
    }
    assert_eq!(
        text.lines()
            .filter(|l| l.trim_start().starts_with("fix: "))
            .count(),
        23,
        "one fix per rule:\n{text}"
    );
}
