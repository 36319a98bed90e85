//! RFC 7515 Appendix A and RFC 7520 §3 and §4.1 to §4.4 (with the RFC 8037 Ed25519 example).

use signet::{Algorithm, Error, SigningKey, UnverifiedToken, VerifyingKey};

use crate::{jwk, vector};

fn b64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

/// Verifies `compact` with the public half of `private`, and with a verifying key loaded from
/// the public members alone.
fn verify_both_ways(key: &SigningKey, public_only: &VerifyingKey, compact: &str) -> Vec<u8> {
    let token = UnverifiedToken::parse(compact).unwrap();
    let a = token.verify_jws(key.verifying_key()).unwrap().to_vec();
    let b = token.verify_jws(public_only).unwrap().to_vec();
    assert_eq!(a, b);
    a
}

fn public_of(j: &signet::Jwk, alg: Algorithm) -> VerifyingKey {
    let mut public = j.clone();
    for secret in [
        &mut public.d,
        &mut public.p,
        &mut public.q,
        &mut public.dp,
        &mut public.dq,
        &mut public.qi,
    ] {
        *secret = None;
    }
    if public.k.is_some() {
        return VerifyingKey::from_jwk_with_alg(j, alg).unwrap();
    }
    VerifyingKey::from_jwk_with_alg(&public, alg).unwrap()
}

#[test]
fn rfc7515_appendix_a_verifies_and_reproduces_deterministic_signatures() {
    let doc = vector("rfc7515/appendix-a.json");
    let mut checked = 0;
    for ex in doc["examples"].as_array().unwrap() {
        let section = ex["section"].as_str().unwrap();
        let compact = ex["compact"].as_str().unwrap();
        if ex["expect"] == "reject" {
            // A.5: an unsecured JWS (`alg: none`) is refused at parse time, before any key.
            assert_eq!(
                UnverifiedToken::parse(compact).unwrap_err(),
                Error::UnsupportedAlgorithm,
                "{section}"
            );
            checked += 1;
            continue;
        }
        let alg: Algorithm = ex["alg"].as_str().unwrap().parse().unwrap();
        let j = jwk(&ex["jwk"]);
        let key = SigningKey::from_jwk_with_alg(&j, alg).unwrap();
        let payload = verify_both_ways(&key, &public_of(&j, alg), compact);
        let protected = ex["protected"].as_str().unwrap();
        let again = key
            .sign_jws_with_header(protected.as_bytes(), &payload)
            .unwrap();
        if matches!(
            alg.family(),
            signet::KeyFamily::Hmac | signet::KeyFamily::Rsa
        ) {
            assert_eq!(again, compact, "{section}: byte-for-byte reproduction");
        } else {
            UnverifiedToken::parse(&again)
                .unwrap()
                .verify_jws(key.verifying_key())
                .unwrap();
        }
        checked += 1;
    }
    assert_eq!(checked, 5);
}

#[test]
fn rfc7520_section3_every_signing_key_loads_and_the_encryption_key_is_refused() {
    let cases = [
        (
            "jose-cookbook/jwk/3_1.ec_public_key.json",
            Algorithm::ES512,
            false,
        ),
        (
            "jose-cookbook/jwk/3_2.ec_private_key.json",
            Algorithm::ES512,
            true,
        ),
        (
            "jose-cookbook/jwk/3_3.rsa_public_key.json",
            Algorithm::RS256,
            false,
        ),
        (
            "jose-cookbook/jwk/3_4.rsa_private_key.json",
            Algorithm::RS256,
            true,
        ),
        (
            "jose-cookbook/jwk/3_5.symmetric_key_mac_computation.json",
            Algorithm::HS256,
            true,
        ),
    ];
    for (file, alg, private) in cases {
        let j = jwk(&vector(file));
        let verifying =
            VerifyingKey::from_jwk_with_alg(&j, alg).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(verifying.kid(), j.kid.as_deref());
        if private {
            let signing = SigningKey::from_jwk_with_alg(&j, alg).unwrap();
            // The private JWK written back is the one read, member for member.
            let round = signing.to_jwk().unwrap();
            for (a, b) in [
                (&round.d, &j.d),
                (&round.k, &j.k),
                (&round.p, &j.p),
                (&round.qi, &j.qi),
            ] {
                assert_eq!(
                    a.as_ref().map(|s| s.expose()),
                    b.as_ref().map(|s| s.expose()),
                    "{file}"
                );
            }
        }
        if alg.family() != signet::KeyFamily::Hmac {
            let public = verifying.to_jwk().unwrap();
            assert_eq!(
                (&public.x, &public.y, &public.n, &public.e),
                (&j.x, &j.y, &j.n, &j.e),
                "{file}"
            );
        }
    }
    // 3.1 has no `alg`: an EC key's curve pins it.
    let ec =
        VerifyingKey::from_jwk(&jwk(&vector("jose-cookbook/jwk/3_1.ec_public_key.json"))).unwrap();
    assert_eq!(ec.alg(), Algorithm::ES512);
    // 3.6 is an AES key for encryption (`use: enc`, `alg: A256GCM`): not a signing key.
    let enc = jwk(&vector(
        "jose-cookbook/jwk/3_6.symmetric_key_encryption.json",
    ));
    assert!(VerifyingKey::from_jwk(&enc).is_err());
    assert!(VerifyingKey::from_jwk_with_alg(&enc, Algorithm::HS256).is_err());
}

#[test]
fn rfc7520_section4_signatures_verify_and_deterministic_ones_are_reproduced() {
    let files = [
        "jose-cookbook/jws/4_1.rsa_v15_signature.json",
        "jose-cookbook/jws/4_2.rsa-pss_signature.json",
        "jose-cookbook/jws/4_3.ecdsa_signature.json",
        "jose-cookbook/jws/4_4.hmac-sha2_integrity_protection.json",
        "jose-cookbook/curve25519/jws.json",
    ];
    for file in files {
        let v = vector(file);
        let alg: Algorithm = v["input"]["alg"].as_str().unwrap().parse().unwrap();
        let j = jwk(&v["input"]["key"]);
        let key = SigningKey::from_jwk_with_alg(&j, alg).unwrap_or_else(|e| panic!("{file}: {e}"));
        let compact = v["output"]["compact"].as_str().unwrap();
        let payload = verify_both_ways(&key, &public_of(&j, alg), compact);
        assert_eq!(
            payload,
            v["input"]["payload"].as_str().unwrap().as_bytes(),
            "{file}"
        );
        let protected = b64_decode(v["signing"]["protected_b64u"].as_str().unwrap());
        let again = key.sign_jws_with_header(&protected, &payload).unwrap();
        let deterministic = matches!(alg, Algorithm::RS256 | Algorithm::HS256 | Algorithm::EdDSA);
        if deterministic {
            assert_eq!(again, compact, "{file}: byte-for-byte reproduction");
        } else {
            UnverifiedToken::parse(&again)
                .unwrap()
                .verify_jws(key.verifying_key())
                .unwrap();
        }
    }
}

#[test]
fn rfc8037_ed25519_key_thumbprint_matches_the_rfc() {
    // RFC 8037 §A.3 gives the thumbprint of the §A.1 key, which is the cookbook's Ed25519 key.
    let j = jwk(&vector("jose-cookbook/curve25519/jws.json")["input"]["key"]);
    let key = VerifyingKey::from_jwk(&j).unwrap();
    assert_eq!(
        key.thumbprint().unwrap(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
}
