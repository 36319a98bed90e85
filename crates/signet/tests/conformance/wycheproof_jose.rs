//! Wycheproof's JOSE-level vectors: `json_web_signature_test.json` and
//! `json_web_key_test.json`.

use serde_json::Value;
use signet::{JwkSet, KeySet, UnverifiedToken, VerifyingKey};

use crate::{jwk, vector};

/// Tests the file calls valid that Signet refuses on purpose, by test id, with the reason.
const STRICTER_THAN_WYCHEPROOF: [(u64, &str); 4] = [
    // The key's JWK says `alg: PS256` and the token is PS384: a key carries exactly one
    // algorithm, so this is algorithm substitution. (The same file's JWK tests refuse a key
    // whose `alg` disagrees with its use.)
    (346, "Figure20: PS384 token, key pinned to PS256"),
    (
        350,
        "Figure20 with key_ops: PS384 token, key pinned to PS256",
    ),
    // Some libraries skip characters outside the base64url alphabet; RFC 7515 §2 and Signet do
    // not, so a `?` inside a segment makes the token malformed.
    (372, "InvalidCharacterInsertedInHeader"),
    (373, "InvalidCharacterInsertedInPayload"),
];

/// Tests the file calls invalid whose token is byte for byte the same as a token the same file
/// calls valid under the same key (`ValidMac`): no verifier can give both answers. The padding
/// these tests meant to add is absent from the stored token.
const CONTRADICTED_BY_THE_FILE: [u64; 2] = [367, 370];

enum Keys {
    One(VerifyingKey),
    Set(KeySet),
    /// The group's key itself is unusable, so every token in it must be refused.
    Refused,
}

fn keys_of(group: &Value) -> Keys {
    let material = if group["public"].is_object() {
        &group["public"]
    } else {
        &group["private"]
    };
    if material.get("keys").is_some() {
        let set: JwkSet = serde_json::from_value(material.clone()).unwrap();
        Keys::Set(KeySet::from_jwks(&set))
    } else {
        VerifyingKey::from_jwk(&jwk(material)).map_or(Keys::Refused, Keys::One)
    }
}

fn accepts(keys: &Keys, jws: &str) -> bool {
    let Ok(token) = UnverifiedToken::parse(jws) else {
        return false;
    };
    match keys {
        Keys::One(k) => token.verify_jws(k).is_ok(),
        Keys::Set(s) => token.verify_jws(s).is_ok(),
        Keys::Refused => false,
    }
}

/// Runs every test of a Wycheproof JOSE file and returns (tests run, deliberate deviations).
fn run(file: &str) -> (usize, usize) {
    let doc = vector(file);
    let mut failures = Vec::new();
    let (mut run, mut stricter, mut contradicted) = (0, 0, 0);
    for group in doc["testGroups"].as_array().unwrap() {
        let keys = keys_of(group);
        for test in group["tests"].as_array().unwrap() {
            run += 1;
            let id = test["tcId"].as_u64().unwrap();
            let comment = test["comment"].as_str().unwrap();
            let jws = test["jws"].as_str().unwrap_or("");
            let accepted = accepts(&keys, jws);
            let expected = match test["result"].as_str().unwrap() {
                "valid" => true,
                "invalid" => false,
                other => panic!("unexpected result {other}"),
            };
            if expected && !accepted && STRICTER_THAN_WYCHEPROOF.iter().any(|(i, _)| *i == id) {
                stricter += 1;
                continue;
            }
            if CONTRADICTED_BY_THE_FILE.contains(&id) {
                let twin = &group["tests"].as_array().unwrap()[0];
                assert_eq!(
                    (twin["comment"].as_str(), twin["jws"].as_str()),
                    (Some("ValidMac"), Some(jws))
                );
                contradicted += 1;
                continue;
            }
            if accepted != expected {
                failures.push(format!(
                    "{} #{} {comment}: expected {expected}",
                    group["comment"], test["tcId"]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{file}: {} wrong results:\n{}",
        failures.len(),
        failures.join("\n")
    );
    (run, stricter + contradicted)
}

#[test]
fn wycheproof_json_web_signature_all_401_tests() {
    let (run, stricter) = run("wycheproof/json_web_signature_test.json");
    assert_eq!(run, 401);
    // 395 agree with the file; 4 are refused on purpose and 2 contradict the file itself.
    assert_eq!(
        stricter,
        STRICTER_THAN_WYCHEPROOF.len() + CONTRADICTED_BY_THE_FILE.len()
    );
}

#[test]
fn wycheproof_json_web_key_all_tests() {
    let (run, stricter) = run("wycheproof/json_web_key_test.json");
    assert_eq!(run, 26);
    assert_eq!(stricter, 0);
}
