//! Key loading, export, size limits and secret hygiene.

use signet::{Algorithm, Jwk, KeyError, KeySet, SigningKey, UnverifiedToken, VerifyingKey};

use crate::{key, token, validation};

#[test]
fn every_algorithm_generates_signs_and_exports_a_loadable_jwk() {
    for alg in Algorithm::ALL {
        let k = key(alg);
        let private = k.to_jwk().unwrap();
        assert_eq!(private.alg.as_deref(), Some(alg.name()));
        let again =
            SigningKey::from_jwk(&Jwk::from_json(private.to_json().unwrap().as_bytes()).unwrap())
                .unwrap();
        assert_eq!(
            again.thumbprint().unwrap(),
            k.thumbprint().unwrap(),
            "{alg}"
        );
        // A token signed by the reloaded key verifies under the original.
        k.verifying_key()
            .verify(&token(&again), &validation())
            .unwrap();
        if alg.family() == signet::KeyFamily::Hmac {
            assert!(k.public_jwk().is_err(), "an HMAC key has no public half");
            assert_eq!(k.kid(), None);
        } else {
            let public = k.public_jwk().unwrap();
            assert!(!public.is_private());
            assert_eq!(
                k.kid(),
                Some(k.thumbprint().unwrap().as_str()),
                "kid defaults to the thumbprint"
            );
            let vk = VerifyingKey::from_jwk(&public).unwrap();
            vk.verify(&token(k), &validation()).unwrap();
        }
    }
}

#[test]
fn pem_and_der_keys_load_in_every_common_form() {
    use pkcs8::der::Decode;
    for alg in Algorithm::ALL
        .into_iter()
        .filter(|a| a.family() != signet::KeyFamily::Hmac)
    {
        let k = key(alg);
        let pem = k.to_pkcs8_pem().unwrap();
        let from_pem = SigningKey::from_pem(pem.expose(), alg).unwrap();
        assert_eq!(from_pem.thumbprint().unwrap(), k.thumbprint().unwrap());
        let spki = k.verifying_key().to_spki_pem().unwrap();
        let vk = VerifyingKey::from_pem(&spki, alg).unwrap();
        vk.verify(&token(k), &validation()).unwrap();
        assert!(
            SigningKey::from_pem(&spki, alg).is_err(),
            "a public key cannot sign"
        );
        // PKCS#8 wraps PKCS#1 (RSA) or SEC1 (EC): load the inner forms too.
        let (_, der) = pem_rfc7468::decode_vec(pem.expose().as_bytes()).unwrap();
        let inner = pkcs8::PrivateKeyInfo::from_der(&der)
            .unwrap()
            .private_key
            .to_vec();
        let label = match alg.family() {
            signet::KeyFamily::Rsa => Some("RSA PRIVATE KEY"),
            signet::KeyFamily::Ec => Some("EC PRIVATE KEY"),
            _ => None,
        };
        if let Some(label) = label {
            let inner_pem =
                pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, &inner).unwrap();
            let k2 = SigningKey::from_pem(&inner_pem, alg).unwrap();
            assert_eq!(k2.thumbprint().unwrap(), k.thumbprint().unwrap(), "{label}");
            let k3 = SigningKey::from_der(&inner, alg).unwrap();
            assert_eq!(k3.thumbprint().unwrap(), k.thumbprint().unwrap());
        }
    }
}

#[test]
fn key_of_the_wrong_type_for_the_algorithm_is_refused() {
    let ec_pem = key(Algorithm::ES256).to_pkcs8_pem().unwrap();
    for wrong in [
        Algorithm::ES384,
        Algorithm::ES256K,
        Algorithm::RS256,
        Algorithm::EdDSA,
        Algorithm::HS256,
    ] {
        assert!(
            SigningKey::from_pem(ec_pem.expose(), wrong).is_err(),
            "{wrong}"
        );
    }
    let spki = key(Algorithm::ES256).verifying_key().to_spki_pem().unwrap();
    assert!(matches!(
        VerifyingKey::from_pem(&spki, Algorithm::ES384),
        Err(KeyError::WrongAlgorithm(_))
    ));
    let rsa = key(Algorithm::RS256).public_jwk().unwrap();
    assert!(
        VerifyingKey::from_jwk_with_alg(&rsa, Algorithm::PS256).is_err(),
        "the JWK's own alg disagrees"
    );
    assert!(matches!(
        VerifyingKey::from_pem("not pem", Algorithm::RS256),
        Err(KeyError::Parse(_))
    ));
}

#[test]
fn es521_misspelling_pins_es512_in_a_jwk_and_is_never_a_header_alg() {
    let signer = key(Algorithm::ES512);
    let mut jwk = signer.public_jwk().unwrap();
    jwk.alg = Some("ES521".into());
    let vk = VerifyingKey::from_jwk(&jwk).unwrap();
    assert_eq!(vk.alg(), Algorithm::ES512);
    let claims = signet::Claims::<()>::default();
    let t = signer.sign(&claims).unwrap();
    assert!(UnverifiedToken::parse(&t).unwrap().verify_jws(&vk).is_ok());

    // The alias cannot move a key to another curve: a P-256 key that says ES521 is refused.
    let mut p256 = key(Algorithm::ES256).public_jwk().unwrap();
    p256.alg = Some("ES521".into());
    assert!(matches!(
        VerifyingKey::from_jwk(&p256),
        Err(KeyError::WrongAlgorithm(Algorithm::ES512))
    ));

    // A token that names ES521 in its header names no algorithm.
    let rest = &t[t.find('.').unwrap()..];
    let forged = format!("{}{rest}", crate::b64(br#"{"alg":"ES521"}"#));
    assert_eq!(
        UnverifiedToken::parse(&forged).unwrap_err(),
        signet::Error::UnsupportedAlgorithm
    );
}

#[test]
fn weak_hmac_secrets_are_refused() {
    for (alg, min) in [
        (Algorithm::HS256, 32),
        (Algorithm::HS384, 48),
        (Algorithm::HS512, 64),
    ] {
        assert!(matches!(
            SigningKey::from_hmac_secret(alg, &vec![7u8; min - 1]),
            Err(KeyError::Weak(_))
        ));
        assert!(SigningKey::from_hmac_secret(alg, &vec![7u8; min]).is_ok());
        assert!(matches!(
            SigningKey::from_hmac_secret(alg, b""),
            Err(KeyError::Weak(_))
        ));
    }
}

#[test]
fn rsa_keys_under_2048_bits_are_refused() {
    // The 1024-bit key from Wycheproof's JWK tests.
    let doc = crate::vector("wycheproof/json_web_key_test.json");
    let group = doc["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["comment"] == "keysize_too_small")
        .unwrap();
    let public: Jwk = serde_json::from_value(group["public"]["keys"][0].clone()).unwrap();
    let private: Jwk = serde_json::from_value(group["private"]["keys"][0].clone()).unwrap();
    let err = VerifyingKey::from_jwk(&public).unwrap_err();
    assert!(
        matches!(
            &err,
            KeyError::Weak(signet::WeakKey::RsaModulus { bits: 1024, .. })
        ),
        "{err}"
    );
    assert!(matches!(
        SigningKey::from_jwk(&private),
        Err(KeyError::Weak(_))
    ));
    assert!(SigningKey::generate_with_rsa_bits(Algorithm::RS256, 1024).is_err());
}

#[test]
fn secrets_never_show_in_debug_output() {
    let k = key(Algorithm::HS256);
    let jwk = k.to_jwk().unwrap();
    let secret = jwk.k.as_ref().unwrap().expose().to_owned();
    for shown in [
        format!("{k:?}"),
        format!("{jwk:?}"),
        format!("{:?}", k.verifying_key()),
    ] {
        assert!(!shown.contains(&secret), "{shown}");
    }
    let ec = key(Algorithm::ES256).to_jwk().unwrap();
    let d = ec.d.as_ref().unwrap().expose().to_owned();
    assert!(!format!("{ec:?}").contains(&d));
    assert!(!format!("{:?}", ec.d).contains(&d));
}

#[test]
fn jwks_skips_unusable_entries_visibly() {
    let good = key(Algorithm::ES256)
        .public_jwk()
        .unwrap()
        .to_json()
        .unwrap();
    let jwks = format!(
        r#"{{"keys":[{good},
            {{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA","alg":"ES256","kid":"bad-point"}},
            {{"kty":"OKP","crv":"X25519","x":"AAAA","kid":"x25519"}},
            {{"kty":"RSA","alg":"RSA-OAEP","n":"AQAB","e":"AQAB","kid":"enc","use":"enc"}},
            {{"kty":"PQ","kid":"future"}},
            "not an object"]}}"#
    );
    let set = KeySet::from_jwks_json(jwks.as_bytes()).unwrap();
    assert_eq!(set.keys().len(), 1);
    let skipped: Vec<_> = set
        .skipped()
        .iter()
        .map(|s| (s.index, s.kid.clone()))
        .collect();
    assert_eq!(skipped.len(), 5, "{skipped:?}");
    assert_eq!(skipped[0], (1, Some("bad-point".into())));
    set.verify(&token(key(Algorithm::ES256)), &validation())
        .unwrap();
    assert!(matches!(
        KeySet::from_jwks_json(b"{\"keys\": 3}"),
        Err(KeyError::Parse(_))
    ));
}

#[test]
fn key_set_without_kid_needs_exactly_one_candidate() {
    let claims = signet::Claims::<()> {
        iss: Some(crate::ISS.into()),
        aud: Some(crate::AUD.into()),
        exp: signet::NumericDate::from_secs(crate::NOW + 60),
        ..Default::default()
    };
    let es = key(Algorithm::ES256);
    let anon = SigningKey::from_jwk(&es.to_jwk().unwrap())
        .unwrap()
        .without_kid();
    let t = anon.sign(&claims).unwrap();
    assert_eq!(
        signet::UnverifiedToken::parse(&t).unwrap().header().kid(),
        None
    );
    let one = KeySet::new([
        es.verifying_key().clone(),
        key(Algorithm::RS256).verifying_key().clone(),
    ]);
    assert!(one.verify(&t, &validation()).is_ok());
    let other = SigningKey::generate(Algorithm::ES256).unwrap();
    let two = KeySet::new([es.verifying_key().clone(), other.verifying_key().clone()]);
    assert_eq!(
        two.verify(&t, &validation()),
        Err(signet::Error::AmbiguousKey)
    );
    let none = KeySet::new([key(Algorithm::RS256).verifying_key().clone()]);
    assert_eq!(
        none.verify(&t, &validation()),
        Err(signet::Error::UnknownKey)
    );
    // With a kid, the kid decides: another ES256 key in the set does not make it ambiguous.
    let tagged = es.sign(&claims).unwrap();
    assert!(two.verify(&tagged, &validation()).is_ok());
}

#[test]
fn keys_key_sets_and_rules_can_be_shared_across_threads() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<SigningKey>();
    shared::<VerifyingKey>();
    shared::<KeySet>();
    shared::<signet::Validation>();
    shared::<signet::Error>();
    shared::<KeyError>();
}
