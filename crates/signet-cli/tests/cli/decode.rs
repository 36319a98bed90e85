//! `signet token decode`.

use crate::{fails, ok, raw_token};

#[test]
fn decode_marks_claims_not_verified_and_reads_any_well_formed_token() {
    let token = raw_token(
        r#"{"alg":"none"}"#,
        r#"{"sub":"mallory","exp":4102444800,"iat":1700000000}"#,
    );
    let text = ok(&["token", "decode", &token]);
    assert!(text.starts_with("NOT VERIFIED"), "{text}");
    assert!(text.contains("\"sub\": \"mallory\""));
    assert!(text.contains("exp: expires in "), "{text}");
    assert!(
        text.contains("iat: issued ") && text.contains(" ago"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour when not on a terminal");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["token", "decode", "--json", &token])).unwrap();
    assert_eq!(json["verified"], false);
    assert_eq!(json["header"]["alg"], "none");
    assert_eq!(json["payload"]["sub"], "mallory");
}

#[test]
fn decode_refuses_what_is_not_a_compact_jws() {
    for bad in ["not-a-token", "a.b", "....", "eyJ.eyJ.x"] {
        let err = fails(&["token", "decode", bad], 1);
        assert!(err.starts_with("signet: not a compact JWS"), "{bad}: {err}");
        assert_eq!(err.lines().count(), 1);
    }
}
