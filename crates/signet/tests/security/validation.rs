//! Claim validation: times, issuer, audience, type, subjects, required claims, and the
//! insecure opt-outs.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use signet::{Algorithm, Error, FixedClock, TokenBuilder, UnverifiedToken, Validation, dangerous};

use crate::{AUD, ISS, NOW, forge, key, payload, token, validation};

fn at(now: u64) -> Validation {
    Validation::builder()
        .issuer(ISS)
        .audience(AUD)
        .clock(Arc::new(FixedClock(now)))
        .build()
}

fn check(body: &str, v: &Validation) -> Result<(), Error> {
    let k = key(Algorithm::HS256);
    k.verifying_key()
        .verify(&forge(k, r#"{"alg":"HS256","typ":"JWT"}"#, body), v)
        .map(|_| ())
}

#[test]
fn expired_token_is_refused_after_the_leeway() {
    let body = payload("");
    let exp = NOW + 300;
    assert_eq!(check(&body, &at(exp - 1)), Ok(()));
    assert_eq!(
        check(&body, &at(exp + 59)),
        Ok(()),
        "within the 60 s default leeway"
    );
    assert_eq!(
        check(&body, &at(exp + 60)),
        Err(Error::Expired { ago_secs: 60 })
    );
    let strict = Validation::builder()
        .issuer(ISS)
        .audience(AUD)
        .leeway(Duration::ZERO)
        .clock(Arc::new(FixedClock(exp)))
        .build();
    assert_eq!(check(&body, &strict), Err(Error::Expired { ago_secs: 0 }));
}

#[test]
fn token_without_exp_is_refused_unless_insecurely_allowed() {
    let body = format!(r#"{{"iss":"{ISS}","aud":"{AUD}"}}"#);
    assert_eq!(
        check(&body, &validation()),
        Err(Error::MissingClaim("exp".into()))
    );
    let lax = Validation::builder()
        .issuer(ISS)
        .audience(AUD)
        .insecure_allow_missing_exp()
        .clock(Arc::new(FixedClock(NOW)))
        .build();
    assert_eq!(check(&body, &lax), Ok(()));
}

#[test]
fn not_yet_valid_token_is_refused() {
    let body = payload(&format!(r#""nbf":{}"#, NOW + 120));
    assert_eq!(
        check(&body, &at(NOW)),
        Err(Error::NotYetValid { in_secs: 120 })
    );
    assert_eq!(check(&body, &at(NOW + 60)), Ok(()));
}

#[test]
fn token_issued_in_the_future_is_refused() {
    let body = format!(
        r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"iat":{}}}"#,
        NOW + 3600,
        NOW + 600
    );
    assert_eq!(check(&body, &at(NOW)), Err(Error::IssuedInFuture));
}

#[test]
fn token_older_than_max_age_is_refused() {
    let v = |now| {
        Validation::builder()
            .issuer(ISS)
            .audience(AUD)
            .max_age(Duration::from_secs(100))
            .clock(Arc::new(FixedClock(now)))
            .build()
    };
    let body = payload("");
    assert_eq!(check(&body, &v(NOW + 150)), Ok(()));
    assert_eq!(check(&body, &v(NOW + 161)), Err(Error::TooOld));
    let no_iat = format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{}}}"#, NOW + 300);
    assert_eq!(
        check(&no_iat, &v(NOW)),
        Err(Error::MissingClaim("iat".into()))
    );
}

#[test]
fn token_from_another_issuer_is_refused() {
    let body = payload("").replace(ISS, "https://evil.example");
    assert_eq!(check(&body, &validation()), Err(Error::WrongIssuer));
    let no_iss = format!(r#"{{"aud":"{AUD}","exp":{}}}"#, NOW + 300);
    assert_eq!(check(&no_iss, &validation()), Err(Error::WrongIssuer));
    let several = Validation::builder()
        .issuers(["https://a.example", "https://evil.example"])
        .audience(AUD)
        .clock(Arc::new(FixedClock(NOW)))
        .build();
    assert_eq!(check(&body, &several), Ok(()));
    let any = Validation::builder()
        .insecure_any_issuer()
        .audience(AUD)
        .clock(Arc::new(FixedClock(NOW)))
        .build();
    assert_eq!(check(&no_iss, &any), Ok(()));
}

#[test]
fn token_for_another_audience_is_refused() {
    let body = payload("").replace(r#""aud":"api""#, r#""aud":"billing""#);
    assert_eq!(check(&body, &validation()), Err(Error::WrongAudience));
    let none = format!(r#"{{"iss":"{ISS}","exp":{}}}"#, NOW + 300);
    assert_eq!(check(&none, &validation()), Err(Error::WrongAudience));
    let any = Validation::builder()
        .issuer(ISS)
        .insecure_any_audience()
        .clock(Arc::new(FixedClock(NOW)))
        .build();
    assert_eq!(check(&none, &any), Ok(()));
}

#[test]
fn id_token_or_other_typ_is_refused_where_an_access_token_is_required() {
    let k = key(Algorithm::ES256);
    let v = Validation::builder()
        .issuer(ISS)
        .audience(AUD)
        .required_typ("at+jwt")
        .clock(Arc::new(FixedClock(NOW)))
        .build();
    let make = |typ: &str| {
        TokenBuilder::new()
            .issuer(ISS)
            .audience(AUD)
            .typ(typ.to_owned())
            .clock(std::sync::Arc::new(FixedClock(NOW)))
            .sign(k)
            .unwrap()
    };
    for ok in ["at+jwt", "AT+JWT", "application/at+jwt"] {
        assert!(k.verifying_key().verify(&make(ok), &v).is_ok(), "{ok}");
    }
    for bad in ["JWT", "id_token+jwt", "application/jwt"] {
        assert_eq!(
            k.verifying_key().verify(&make(bad), &v),
            Err(Error::WrongType),
            "{bad}"
        );
    }
    let untyped = forge(key(Algorithm::HS256), r#"{"alg":"HS256"}"#, &payload(""));
    assert_eq!(
        key(Algorithm::HS256).verifying_key().verify(&untyped, &v),
        Err(Error::WrongType)
    );
}

#[test]
fn missing_required_claim_and_unlisted_subject_are_refused() {
    let v = Validation::builder()
        .issuer(ISS)
        .audience(AUD)
        .require_claim("sub")
        .require_claim("scope")
        .allowed_subjects(["alice", "bob"])
        .clock(Arc::new(FixedClock(NOW)))
        .build();
    assert_eq!(
        check(&payload(r#""sub":"alice""#), &v),
        Err(Error::MissingClaim("scope".into()))
    );
    assert_eq!(
        check(&payload(r#""scope":"read""#), &v),
        Err(Error::MissingClaim("sub".into()))
    );
    assert_eq!(
        check(&payload(r#""sub":"mallory","scope":"read""#), &v),
        Err(Error::WrongSubject)
    );
    assert_eq!(check(&payload(r#""sub":"bob","scope":"read""#), &v), Ok(()));
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Custom<'a> {
    scope: &'a str,
    roles: Vec<String>,
    #[serde(default)]
    tenant: Option<u32>,
}

#[test]
fn custom_claims_round_trip_and_borrow_from_the_token() {
    let k = key(Algorithm::EdDSA);
    let custom = Custom {
        scope: "read write",
        roles: vec!["admin".into()],
        tenant: Some(7),
    };
    let t = TokenBuilder::with_custom(&custom)
        .issuer(ISS)
        .audience(AUD)
        .audience("second")
        .subject("alice")
        .not_before_in(Duration::ZERO)
        .clock(std::sync::Arc::new(FixedClock(NOW)))
        .sign(k)
        .unwrap();
    let parsed = UnverifiedToken::parse(&t).unwrap();
    let verified = parsed
        .verify_as::<Custom<'_>>(k.verifying_key(), &validation())
        .unwrap();
    let c = verified.claims();
    assert_eq!(c.custom, custom);
    assert_eq!(c.sub.as_deref(), Some("alice"));
    assert!(
        matches!(c.sub, Some(std::borrow::Cow::Borrowed(_))),
        "strings without escapes borrow"
    );
    assert_eq!(
        c.aud.as_ref().unwrap().iter().collect::<Vec<_>>(),
        ["api", "second"]
    );
    assert_eq!(c.iat.unwrap().as_secs(), NOW);
    assert_eq!(c.exp.unwrap().as_secs(), NOW + 900, "15 minutes by default");
    assert_eq!(
        c.jti.as_ref().unwrap().len(),
        22,
        "128 random bits in base64url"
    );
    assert_eq!(verified.header().kid(), k.kid());
    // A map type sees every custom member and no registered one.
    let as_map = parsed
        .verify_as::<std::collections::BTreeMap<String, serde_json::Value>>(
            k.verifying_key(),
            &validation(),
        )
        .unwrap();
    assert_eq!(
        as_map.claims().custom.keys().collect::<Vec<_>>(),
        ["roles", "scope", "tenant"]
    );
}

#[test]
fn dangerous_decode_reads_claims_without_verifying() {
    let t = token(key(Algorithm::HS256));
    let tampered = t.rsplit_once('.').unwrap().0.to_owned() + ".AAAA";
    let parsed = UnverifiedToken::parse(&tampered).unwrap();
    let claims = dangerous::insecure_decode_claims::<()>(&parsed).unwrap();
    assert_eq!(claims.sub.as_deref(), Some("alice"));
    assert!(
        parsed
            .verify(key(Algorithm::HS256).verifying_key(), &validation())
            .is_err()
    );
}

#[test]
fn jti_can_be_set_or_left_out() {
    let k = key(Algorithm::HS256);
    let with = TokenBuilder::new()
        .issuer(ISS)
        .audience(AUD)
        .jti("id-1")
        .clock(std::sync::Arc::new(FixedClock(NOW)))
        .sign(k)
        .unwrap();
    let c = k.verifying_key().verify(&with, &validation()).unwrap();
    assert_eq!(c.jti.as_deref(), Some("id-1"));
    let without = TokenBuilder::new()
        .issuer(ISS)
        .audience(AUD)
        .no_jti()
        .clock(std::sync::Arc::new(FixedClock(NOW)))
        .sign(k)
        .unwrap();
    assert_eq!(
        k.verifying_key()
            .verify(&without, &validation())
            .unwrap()
            .jti,
        None
    );
}

#[test]
fn oversized_token_limit_is_configurable() {
    let t = token(key(Algorithm::HS256));
    let tight = Validation::builder()
        .issuer(ISS)
        .audience(AUD)
        .max_token_size(t.len() - 1)
        .clock(Arc::new(FixedClock(NOW)))
        .build();
    assert_eq!(
        key(Algorithm::HS256).verifying_key().verify(&t, &tight),
        Err(Error::TooLarge { limit: t.len() - 1 })
    );
}

#[test]
fn error_messages_never_echo_the_token() {
    let k = key(Algorithm::HS256);
    let secretish = "SECRET-MARKER-1234567890";
    let body = payload(&format!(r#""sub":"{secretish}","exp":"x""#));
    let t = forge(
        k,
        &format!(r#"{{"alg":"HS256","kid":"{secretish}"}}"#),
        &body,
    );
    let err = k.verifying_key().verify(&t, &validation()).unwrap_err();
    assert!(!err.to_string().contains(secretish));
    assert!(!format!("{err:?}").contains(secretish));
}
