//! Each test is named after the attack it stops.

use signet::{
    Algorithm, Error, JwkSet, KeySet, Malformed, SigningKey, UnverifiedToken, VerifyingKey,
};

use crate::{b64, forge, key, payload, token, unb64, validation};

fn verify(token: &str, key: &VerifyingKey) -> Result<(), Error> {
    key.verify(token, &validation()).map(|_| ())
}

#[test]
fn alg_none_in_every_casing_is_refused() {
    let body = b64(payload("").as_bytes());
    for none in ["none", "None", "NONE", "nOnE", "NoNe", "none "] {
        let header = b64(format!(r#"{{"alg":"{none}","typ":"JWT"}}"#).as_bytes());
        for sig in ["", "AAAA"] {
            let t = format!("{header}.{body}.{sig}");
            assert_eq!(
                UnverifiedToken::parse(&t).unwrap_err(),
                Error::UnsupportedAlgorithm,
                "{none}"
            );
            assert_eq!(
                verify(&t, key(Algorithm::HS256).verifying_key()),
                Err(Error::UnsupportedAlgorithm)
            );
        }
    }
}

#[test]
fn hs256_token_signed_with_the_rsa_or_ec_public_key_is_refused() {
    // The classic confusion: the attacker HMACs with the server's public key bytes as the
    // secret and says `alg: HS256`, hoping the verifier feeds its "key" to HMAC.
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let victim = key(alg);
        let public_pem = victim.verifying_key().to_spki_pem().unwrap();
        let attacker =
            SigningKey::from_hmac_secret(Algorithm::HS256, public_pem.as_bytes()).unwrap();
        let kid = victim.kid().unwrap();
        let forged = forge(
            &attacker,
            &format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#),
            &payload(""),
        );
        assert_eq!(
            verify(&forged, victim.verifying_key()),
            Err(Error::AlgorithmMismatch {
                expected: alg,
                found: Algorithm::HS256
            })
        );
        let set = KeySet::new([victim.verifying_key().clone()]);
        assert!(matches!(
            set.verify(&forged, &validation()),
            Err(Error::AlgorithmMismatch { .. })
        ));
        // And a public key can never be turned into an HMAC key by loading it as one.
        assert!(VerifyingKey::from_pem(&public_pem, Algorithm::HS256).is_err());
        let jwk = victim.public_jwk().unwrap();
        assert!(VerifyingKey::from_jwk_with_alg(&jwk, Algorithm::HS256).is_err());
    }
}

#[test]
fn embedded_jwk_header_is_never_used_as_the_key() {
    let attacker = SigningKey::generate(Algorithm::ES256).unwrap();
    let jwk = attacker.public_jwk().unwrap().to_json().unwrap();
    let forged = forge(
        &attacker,
        &format!(r#"{{"alg":"ES256","jwk":{jwk}}}"#),
        &payload(""),
    );
    let parsed = UnverifiedToken::parse(&forged).unwrap();
    assert_eq!(parsed.header().key_references(), ["jwk"]);
    let real = key(Algorithm::ES256).verifying_key();
    assert_eq!(verify(&forged, real), Err(Error::InvalidSignature));
    let set = KeySet::new([real.clone()]);
    assert!(set.verify(&forged, &validation()).is_err());
}

#[test]
fn jku_and_x5u_headers_are_never_fetched_or_used() {
    let attacker = SigningKey::generate(Algorithm::RS256).unwrap();
    for header in [
        r#"{"alg":"RS256","jku":"https://attacker.example/jwks.json","kid":"evil"}"#,
        r#"{"alg":"RS256","x5u":"https://attacker.example/cert.pem"}"#,
        r#"{"alg":"RS256","x5c":["MIIB"]}"#,
    ] {
        let forged = forge(&attacker, header, &payload(""));
        let real = key(Algorithm::RS256).verifying_key();
        assert_eq!(
            verify(&forged, real),
            Err(Error::InvalidSignature),
            "{header}"
        );
        let set = KeySet::new([real.clone()]);
        let got = set.verify(&forged, &validation());
        assert!(
            matches!(got, Err(Error::UnknownKey | Error::InvalidSignature)),
            "{header}: {got:?}"
        );
    }
}

#[test]
fn kid_with_path_traversal_or_sql_only_misses_the_key_set() {
    let attacker = SigningKey::from_hmac_secret(Algorithm::HS256, &[0u8; 32]).unwrap();
    let set = KeySet::new([key(Algorithm::HS256)
        .verifying_key()
        .clone()
        .with_kid("real")]);
    for kid in [
        "../../../../dev/null",
        "/etc/passwd",
        "' OR '1'='1",
        "x'; DROP TABLE keys;--",
        "\u{0000}",
        "",
    ] {
        let header = serde_json::json!({"alg": "HS256", "kid": kid}).to_string();
        let forged = forge(&attacker, &header, &payload(""));
        assert_eq!(
            set.verify(&forged, &validation()),
            Err(Error::UnknownKey),
            "{kid:?}"
        );
    }
}

#[test]
fn ecdsa_signature_with_r_and_s_zero_is_refused() {
    for alg in [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::ES256K,
    ] {
        let good = token(key(alg));
        let (signing_input, _) = good.rsplit_once('.').unwrap();
        let len = UnverifiedToken::parse(&good)
            .map(|_| unb64(good.rsplit_once('.').unwrap().1).len())
            .unwrap();
        let zero = format!("{signing_input}.{}", b64(&vec![0u8; len]));
        assert_eq!(
            verify(&zero, key(alg).verifying_key()),
            Err(Error::InvalidSignature),
            "{alg}"
        );
    }
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` of a fixed-size signature.
fn to_der(fixed: &[u8]) -> Vec<u8> {
    let int = |x: &[u8]| {
        let x = &x[x.iter().position(|b| *b != 0).unwrap_or(x.len() - 1)..];
        let mut v = vec![0x02];
        let pad = x[0] & 0x80 != 0;
        v.push((x.len() + usize::from(pad)) as u8);
        if pad {
            v.push(0);
        }
        v.extend_from_slice(x);
        v
    };
    let (r, s) = fixed.split_at(fixed.len() / 2);
    let body = [int(r), int(s)].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

#[test]
fn der_encoded_ecdsa_signature_is_refused() {
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::ES256K] {
        let good = token(key(alg));
        let (signing_input, sig) = good.rsplit_once('.').unwrap();
        let der = format!("{signing_input}.{}", b64(&to_der(&unb64(sig))));
        assert_eq!(
            verify(&der, key(alg).verifying_key()),
            Err(Error::InvalidSignature),
            "{alg}"
        );
    }
}

#[test]
fn stripped_signature_is_refused() {
    for alg in Algorithm::ALL {
        let good = token(key(alg));
        let (signing_input, _) = good.rsplit_once('.').unwrap();
        let stripped = format!("{signing_input}.");
        assert_eq!(
            verify(&stripped, key(alg).verifying_key()),
            Err(Error::InvalidSignature),
            "{alg}"
        );
        assert_eq!(
            UnverifiedToken::parse(signing_input).unwrap_err(),
            Error::Malformed(Malformed::Segments)
        );
    }
}

#[test]
fn swapped_header_alg_is_refused() {
    let es256 = key(Algorithm::ES256);
    let good = token(es256);
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    for other in ["ES384", "HS256", "RS256", "PS256", "EdDSA"] {
        let header = String::from_utf8(unb64(&parts[0]))
            .unwrap()
            .replace("ES256", other);
        parts[0] = b64(header.as_bytes());
        let swapped = parts.join(".");
        assert!(
            matches!(
                verify(&swapped, es256.verifying_key()),
                Err(Error::AlgorithmMismatch { .. })
            ),
            "{other}"
        );
    }
    // PS256 and RS256 share a key type; the key still allows only its own algorithm.
    let rs = key(Algorithm::RS256);
    let ps_key = SigningKey::from_jwk_with_alg(
        &{
            let mut j = rs.to_jwk().unwrap();
            j.alg = None;
            j
        },
        Algorithm::PS256,
    )
    .unwrap();
    let ps_token = token(&ps_key);
    assert_eq!(
        verify(&ps_token, rs.verifying_key()),
        Err(Error::AlgorithmMismatch {
            expected: Algorithm::RS256,
            found: Algorithm::PS256
        })
    );
}

#[test]
fn padded_or_non_canonical_base64url_is_refused() {
    let good = token(key(Algorithm::HS256));
    let parts: Vec<&str> = good.split('.').collect();
    let vk = key(Algorithm::HS256).verifying_key();
    for (i, _) in parts.iter().enumerate() {
        let mut padded: Vec<String> = parts.iter().map(|s| (*s).to_owned()).collect();
        padded[i].push('=');
        // The header is decoded while parsing; the payload only after the signature, which
        // covers the payload's exact characters; the signature is decoded before it is checked.
        let got = verify(&padded.join("."), vk);
        let expected = if i == 1 {
            Error::InvalidSignature
        } else {
            Error::Malformed(Malformed::Base64)
        };
        assert_eq!(got, Err(expected), "segment {i}");
        let mut std_alphabet: Vec<String> = parts.iter().map(|s| (*s).to_owned()).collect();
        std_alphabet[i] = std_alphabet[i].replace('-', "+").replace('_', "/") + "+";
        assert!(verify(&std_alphabet.join("."), vk).is_err(), "segment {i}");
    }
    // The 32-byte HS256 tag ends in a character with two unused bits; setting them gives a
    // different encoding of the same bytes, which a strict decoder must refuse.
    let sig = parts[2];
    let last = sig.chars().last().unwrap();
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = ALPHABET.find(last).unwrap();
    let tweaked = ALPHABET.as_bytes()[idx ^ 1] as char;
    let non_canonical = format!(
        "{}.{}.{}{}",
        parts[0],
        parts[1],
        &sig[..sig.len() - 1],
        tweaked
    );
    assert_eq!(
        verify(&non_canonical, vk),
        Err(Error::Malformed(Malformed::Base64))
    );
}

#[test]
fn duplicate_claims_and_duplicate_header_members_are_refused() {
    let k = key(Algorithm::HS256);
    let exp = crate::NOW + 300;
    for body in [
        payload(&format!(r#""exp":{exp}"#)),
        payload(r#""sub":"alice","sub":"admin""#),
        payload(r#""role":"user","role":"admin""#),
        // An escaped name is the same name.
        payload(&format!(r#""\u0065xp":{exp}"#)),
        payload(r#""role":"user","\u0072ole":"admin""#),
        payload(r#""\u0072ole":"user","role":"admin""#),
        // Past the names kept inline, the record still refuses a repeat.
        payload(&format!(
            "{},\"c0\":\"again\"",
            (0..20)
                .map(|i| format!("\"c{i}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        )),
    ] {
        let t = forge(k, r#"{"alg":"HS256"}"#, &body);
        assert_eq!(
            verify(&t, k.verifying_key()),
            Err(Error::Malformed(Malformed::DuplicateMember)),
            "{body}"
        );
    }
    for header in [
        r#"{"alg":"HS256","alg":"HS256"}"#,
        r#"{"alg":"HS256","kid":"a","\u006bid":"b"}"#,
    ] {
        let t = forge_unchecked(k, header);
        assert_eq!(
            UnverifiedToken::parse(&t).unwrap_err(),
            Error::Malformed(Malformed::DuplicateMember)
        );
    }
}

#[test]
fn custom_claims_smuggling_a_second_registered_claim_are_refused_when_signing() {
    use std::collections::BTreeMap;

    #[derive(serde::Serialize)]
    struct Sneaky {
        role: &'static str,
        exp: u64,
    }
    let k = key(Algorithm::HS256);
    let mut claims = signet::Claims::with_custom(Sneaky {
        role: "admin",
        exp: u64::MAX,
    });
    claims.exp = signet::NumericDate::from_secs(crate::NOW + 60);
    let err = k.sign(&claims).unwrap_err();
    assert!(
        matches!(&err, signet::SignError::Claims(m) if m.contains("`exp` is a registered claim")),
        "{err}"
    );

    let map: BTreeMap<&str, &str> = [("role", "user"), ("iss", "https://evil.example")].into();
    let err = k.sign(&signet::Claims::with_custom(map)).unwrap_err();
    assert!(
        matches!(&err, signet::SignError::Claims(m) if m.contains("`iss` is a registered claim")),
        "{err}"
    );

    // Custom claims are members of the payload: a list or a bare string is not.
    for err in [
        k.sign(&signet::Claims::with_custom(vec![1, 2]))
            .unwrap_err(),
        k.sign(&signet::Claims::with_custom("loose")).unwrap_err(),
        k.sign(&signet::Claims::with_custom(BTreeMap::from([(1, 2)])))
            .unwrap_err(),
    ] {
        assert!(matches!(err, signet::SignError::Claims(_)), "{err}");
    }

    // Nothing, nothing optional, and a JSON object all sign, and round-trip.
    let value = serde_json::json!({"role": "user", "tenant": {"id": 7}});
    for token in [
        k.sign(&signet::Claims::with_custom(())).unwrap(),
        k.sign(&signet::Claims::with_custom(None::<BTreeMap<String, u8>>))
            .unwrap(),
        k.sign(&signet::Claims::with_custom(value.clone())).unwrap(),
    ] {
        let parsed = signet::UnverifiedToken::parse(&token).unwrap();
        let got: serde_json::Value =
            serde_json::from_slice(signet::dangerous::insecure_payload(&parsed).unwrap()).unwrap();
        assert!(got.is_object());
    }
    let signed = k.sign(&signet::Claims::with_custom(value.clone())).unwrap();
    let parsed = signet::UnverifiedToken::parse(&signed).unwrap();
    let got = signet::dangerous::insecure_decode_claims::<serde_json::Value>(&parsed).unwrap();
    assert_eq!(got.custom, value);
}

#[test]
fn exp_as_a_string_or_out_of_range_is_refused() {
    let k = key(Algorithm::HS256);
    for (exp, claim) in [
        (r#""exp":"9999999999""#, "exp"),
        (r#""exp":-1"#, "exp"),
        (r#""exp":1e400"#, "exp"),
        (r#""exp":99999999999999999999"#, "exp"),
        (r#""exp":null"#, "exp"),
        (r#""exp":true"#, "exp"),
    ] {
        let body = format!(r#"{{"iss":"{}","aud":"{}",{exp}}}"#, crate::ISS, crate::AUD);
        let t = forge(k, r#"{"alg":"HS256"}"#, &body);
        let got = verify(&t, k.verifying_key());
        assert!(
            matches!(got, Err(Error::InvalidClaim(c)) if c == claim)
                || matches!(got, Err(Error::Malformed(_))),
            "{exp}: {got:?}"
        );
    }
    let t = forge(k, r#"{"alg":"HS256"}"#, &payload(r#""nbf":"0""#));
    assert_eq!(
        verify(&t, k.verifying_key()),
        Err(Error::InvalidClaim("nbf"))
    );
}

#[test]
fn aud_array_without_our_audience_is_refused() {
    let k = key(Algorithm::HS256);
    let body = format!(
        r#"{{"iss":"{}","aud":["other","apis","API"],"exp":{}}}"#,
        crate::ISS,
        crate::NOW + 60
    );
    let t = forge(k, r#"{"alg":"HS256"}"#, &body);
    assert_eq!(verify(&t, k.verifying_key()), Err(Error::WrongAudience));
    let ok = body.replace(r#""API""#, r#""api""#);
    assert_eq!(
        verify(&forge(k, r#"{"alg":"HS256"}"#, &ok), k.verifying_key()),
        Ok(())
    );
}

#[test]
fn a_one_megabyte_token_is_refused_before_parsing() {
    let huge = format!(
        "{}.{}.{}",
        "e".repeat(1000),
        "A".repeat(1 << 20),
        "B".repeat(100)
    );
    assert_eq!(
        UnverifiedToken::parse(&huge).unwrap_err(),
        Error::TooLarge { limit: 16 * 1024 }
    );
    assert_eq!(
        verify(&huge, key(Algorithm::HS256).verifying_key()),
        Err(Error::TooLarge { limit: 16 * 1024 })
    );
}

#[test]
fn a_token_of_ten_thousand_dots_is_refused() {
    let dots = ".".repeat(10_000);
    assert_eq!(
        UnverifiedToken::parse(&dots).unwrap_err(),
        Error::Malformed(Malformed::Segments)
    );
    for t in ["", ".", "..", "a.b", "a.b.c.d", "...."] {
        assert!(UnverifiedToken::parse(t).is_err(), "{t:?}");
    }
}

#[test]
fn critical_header_extension_is_refused() {
    let k = key(Algorithm::HS256);
    for header in [
        r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
        r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
        r#"{"alg":"HS256","b64":false}"#,
    ] {
        let t = forge_unchecked(k, header);
        assert_eq!(
            UnverifiedToken::parse(&t).unwrap_err(),
            Error::UnsupportedCritical,
            "{header}"
        );
    }
    let t = forge_unchecked(k, r#"{"alg":"HS256","crit":[]}"#);
    assert_eq!(
        UnverifiedToken::parse(&t).unwrap_err(),
        Error::Malformed(Malformed::Header)
    );
}

/// A token whose header Signet itself refuses to write.
fn forge_unchecked(_k: &SigningKey, header: &str) -> String {
    format!(
        "{}.{}.{}",
        b64(header.as_bytes()),
        b64(payload("").as_bytes()),
        b64(&[0u8; 32])
    )
}

#[test]
fn header_that_is_not_a_json_object_is_refused() {
    for header in [
        "[]",
        "\"HS256\"",
        "{",
        "{\"alg\":\"HS256\"} x",
        "{\"typ\":\"JWT\"}",
        "{\"alg\":256}",
    ] {
        let t = format!(
            "{}.{}.AAAA",
            b64(header.as_bytes()),
            b64(payload("").as_bytes())
        );
        assert_eq!(
            UnverifiedToken::parse(&t).unwrap_err(),
            Error::Malformed(Malformed::Header),
            "{header}"
        );
    }
    let bad_utf8 = format!(
        "{}.{}.AAAA",
        b64(b"{\"alg\":\"HS256\",\"kid\":\"\xff\"}"),
        b64(b"{}")
    );
    assert!(UnverifiedToken::parse(&bad_utf8).is_err());
}

#[test]
fn claims_that_are_not_a_json_object_are_refused() {
    let k = key(Algorithm::HS256);
    for body in [
        "[]",
        "\"claims\"",
        "{",
        "{} {}",
        "null",
        "{\"sub\":\"\\ud800\"}",
    ] {
        let t = forge(k, r#"{"alg":"HS256"}"#, body);
        let got = verify(&t, k.verifying_key());
        assert!(
            matches!(got, Err(Error::Malformed(_) | Error::InvalidClaim("sub"))),
            "{body}: {got:?}"
        );
    }
    for body in [
        &b"{\"sub\":\"\xff\"}"[..],
        b"{\"role\":\"\xc3\"}",
        b"{\xff:1}",
    ] {
        let t = k.sign_jws_with_header(br#"{"alg":"HS256"}"#, body).unwrap();
        let got = verify(&t, k.verifying_key());
        assert!(
            matches!(got, Err(Error::Malformed(_) | Error::InvalidClaim("sub"))),
            "not UTF-8: {got:?}"
        );
    }
}

#[test]
fn public_key_set_with_a_shared_secret_uses_only_the_public_keys() {
    // A published JWKS carrying an HMAC secret would let anyone mint tokens; such entries are
    // left out, visibly.
    let rsa = key(Algorithm::RS256).public_jwk().unwrap();
    let secret = key(Algorithm::HS256)
        .with_kid_copy("hmac")
        .to_jwk()
        .unwrap();
    let jwks = format!(
        r#"{{"keys":[{},{}]}}"#,
        rsa.to_json().unwrap(),
        secret.to_json().unwrap()
    );
    let set = KeySet::from_jwks_json(jwks.as_bytes()).unwrap();
    assert_eq!(set.keys().len(), 1);
    assert_eq!(set.skipped().len(), 1);
    let forged = forge(
        key(Algorithm::HS256),
        r#"{"alg":"HS256","kid":"hmac"}"#,
        &payload(""),
    );
    assert_eq!(set.verify(&forged, &validation()), Err(Error::UnknownKey));
    let _ = JwkSet::default();
}

trait WithKidCopy {
    fn with_kid_copy(&self, kid: &str) -> SigningKey;
}

impl WithKidCopy for SigningKey {
    fn with_kid_copy(&self, kid: &str) -> SigningKey {
        SigningKey::from_jwk(&self.to_jwk().unwrap())
            .unwrap()
            .with_kid(kid)
    }
}

#[test]
fn oversized_token_is_refused_on_the_two_step_path_under_the_callers_limit() {
    // The caller set a tighter limit than the 16 KiB default; parsing first and verifying
    // after must not fall back to the default.
    let k = key(Algorithm::HS256);
    let big = "x".repeat(3000);
    let t = forge(
        k,
        r#"{"alg":"HS256"}"#,
        &payload(&format!(r#""pad":"{big}""#)),
    );
    let tight = signet::Validation::builder()
        .issuer(crate::ISS)
        .audience(crate::AUD)
        .clock(std::sync::Arc::new(signet::FixedClock(crate::NOW)))
        .max_token_size(1024)
        .build();
    let parsed = UnverifiedToken::parse(&t).unwrap();
    assert_eq!(
        parsed.verify(k.verifying_key(), &tight).map(|_| ()),
        Err(Error::TooLarge { limit: 1024 })
    );
    assert_eq!(
        k.verifying_key().verify(&t, &tight).map(|_| ()),
        Err(Error::TooLarge { limit: 1024 })
    );
}

/// A caller's own key source that hands out one key whatever the header says.
struct Careless(VerifyingKey);

impl signet::KeySource for Careless {
    fn key_for(&self, _header: &signet::Header) -> Result<&VerifyingKey, Error> {
        Ok(&self.0)
    }
}

#[test]
fn algorithm_swap_through_a_careless_custom_key_source_is_refused() {
    // The key is HS384; the token says HS256 and is signed with the same secret under HS256.
    let secret = [7u8; 64];
    let hs384 = VerifyingKey::from_hmac_secret(Algorithm::HS384, &secret).unwrap();
    let hs256 = SigningKey::from_hmac_secret(Algorithm::HS256, &secret).unwrap();
    let t = token(&hs256);
    let parsed = UnverifiedToken::parse(&t).unwrap();
    assert_eq!(
        parsed.verify(&Careless(hs384), &validation()).map(|_| ()),
        Err(Error::AlgorithmMismatch {
            expected: Algorithm::HS384,
            found: Algorithm::HS256
        })
    );
}
