//! PEM armour and SPKI parsing for key loading.

use pkcs1::der::Decode;
use spki::ObjectIdentifier;
use spki::der::asn1::ObjectIdentifier as Oid;

use crate::{Algorithm, KeyError};

const RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
const EC: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
const ED25519: Oid = Oid::new_unwrap("1.3.101.112");
const CURVES: [(Oid, Algorithm); 4] = [
    (Oid::new_unwrap("1.2.840.10045.3.1.7"), Algorithm::ES256),
    (Oid::new_unwrap("1.3.132.0.34"), Algorithm::ES384),
    (Oid::new_unwrap("1.3.132.0.35"), Algorithm::ES512),
    (Oid::new_unwrap("1.3.132.0.10"), Algorithm::ES256K),
];

/// Decodes one PEM block, returning its label and DER body.
pub(crate) fn decode(pem: &str) -> Result<(String, Vec<u8>), KeyError> {
    pem_rfc7468::decode_vec(pem.trim().as_bytes())
        .map(|(label, der)| (label.to_owned(), der))
        .map_err(|_| KeyError::Parse("not a PEM document".into()))
}

/// Encodes DER as one PEM block.
pub(crate) fn encode(label: &str, der: &[u8]) -> Result<String, KeyError> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
        .map_err(|_| KeyError::Parse("cannot encode PEM".into()))
}

/// The public components a SubjectPublicKeyInfo holds, once its type is checked against `alg`.
pub(crate) enum SpkiParts {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    EcPoint(Vec<u8>),
    Ed25519(Vec<u8>),
}

pub(crate) fn spki_parts(
    alg: Algorithm,
    spki: &spki::SubjectPublicKeyInfoRef<'_>,
) -> Result<SpkiParts, KeyError> {
    let oid: ObjectIdentifier = spki.algorithm.oid;
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or(KeyError::Invalid("SPKI key bits are not whole bytes"))?;
    let wrong = KeyError::WrongAlgorithm(alg);
    if oid == RSA {
        if alg.family() != crate::alg::KeyFamily::Rsa {
            return Err(wrong);
        }
        let rsa = pkcs1::RsaPublicKey::from_der(bits)
            .map_err(|_| KeyError::Invalid("bad RSA public key"))?;
        Ok(SpkiParts::Rsa {
            n: rsa.modulus.as_bytes().to_vec(),
            e: rsa.public_exponent.as_bytes().to_vec(),
        })
    } else if oid == EC {
        let curve: Oid = spki
            .algorithm
            .parameters_oid()
            .map_err(|_| KeyError::Invalid("EC key without a named curve"))?;
        match CURVES.iter().find(|(c, _)| *c == curve) {
            Some((_, a)) if *a == alg => Ok(SpkiParts::EcPoint(bits.to_vec())),
            _ => Err(wrong),
        }
    } else if oid == ED25519 {
        if alg != Algorithm::EdDSA {
            return Err(wrong);
        }
        Ok(SpkiParts::Ed25519(bits.to_vec()))
    } else {
        Err(KeyError::Invalid("unsupported public key type"))
    }
}
