//! The one table of JWS algorithms Signet supports.
//!
//! Every property of an algorithm (its name, its key family, its hash, the aws-lc-rs primitive
//! behind it) is read from [`Algorithm`]'s methods, which all match on the same enum; there is
//! no module per algorithm.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::{digest, hmac, signature};

/// A JWS signature algorithm (RFC 7518 §3, RFC 8037, RFC 8812).
///
/// `none` is not an algorithm here and cannot be named.
///
/// # Examples
///
/// ```
/// use signet::{Algorithm, KeyFamily};
/// let alg: Algorithm = "ES256".parse()?;
/// assert_eq!(alg, Algorithm::ES256);
/// assert_eq!(alg.family(), KeyFamily::Ec);
/// assert!("none".parse::<Algorithm>().is_err());
/// # Ok::<(), signet::UnknownAlgorithm>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512.
    ES512,
    /// ECDSA on secp256k1 with SHA-256 (RFC 8812).
    ES256K,
    /// EdDSA on Ed25519 (RFC 8037).
    EdDSA,
}

/// The kind of key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyFamily {
    /// A shared secret (`kty: oct`).
    Hmac,
    /// An RSA key pair (`kty: RSA`), PKCS#1 v1.5 or PSS padding.
    Rsa,
    /// An elliptic-curve key pair (`kty: EC`).
    Ec,
    /// An Edwards-curve key pair (`kty: OKP`).
    Okp,
}

impl KeyFamily {
    /// The JWK `kty` of this family.
    pub const fn kty(self) -> &'static str {
        match self {
            Self::Hmac => "oct",
            Self::Rsa => "RSA",
            Self::Ec => "EC",
            Self::Okp => "OKP",
        }
    }
}

impl Algorithm {
    /// Every supported algorithm, in a stable order.
    pub const ALL: [Algorithm; 14] = [
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::ES512,
        Self::ES256K,
        Self::EdDSA,
    ];

    /// The registered `alg` name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::ES512 => "ES512",
            Self::ES256K => "ES256K",
            Self::EdDSA => "EdDSA",
        }
    }

    /// Looks an `alg` name up, exactly and case-sensitively (RFC 7515 §4.1.1).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Looks up the `alg` member of a JWK: a registered name, or `ES521`, a misspelling of
    /// `ES512` that some issuers have published in their key sets and that other JOSE
    /// libraries read as `ES512`. The key is still pinned to `ES512` and its curve must be
    /// P-521. A token header is never read this way: there only [`Algorithm::from_name`]
    /// applies.
    pub(crate) fn from_jwk_name(name: &str) -> Option<Self> {
        match name {
            "ES521" => Some(Self::ES512),
            _ => Self::from_name(name),
        }
    }

    /// The key family this algorithm signs with.
    pub const fn family(self) -> KeyFamily {
        match self {
            Self::HS256 | Self::HS384 | Self::HS512 => KeyFamily::Hmac,
            Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512 => {
                KeyFamily::Rsa
            }
            Self::ES256 | Self::ES384 | Self::ES512 | Self::ES256K => KeyFamily::Ec,
            Self::EdDSA => KeyFamily::Okp,
        }
    }

    /// The JWK curve name (`crv`) for EC and OKP algorithms.
    pub const fn curve(self) -> Option<&'static str> {
        match self {
            Self::ES256 => Some("P-256"),
            Self::ES384 => Some("P-384"),
            Self::ES512 => Some("P-521"),
            Self::ES256K => Some("secp256k1"),
            Self::EdDSA => Some("Ed25519"),
            _ => None,
        }
    }

    /// The algorithm a curve name pins, for EC and OKP keys that carry no `alg`.
    pub fn from_curve(crv: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.curve() == Some(crv))
    }

    /// The byte length of a field element (EC coordinate) or of an Ed25519 public key, and of
    /// the shortest acceptable HMAC secret (the hash output length).
    pub(crate) const fn size(self) -> usize {
        match self {
            Self::HS256 | Self::ES256 | Self::ES256K | Self::EdDSA => 32,
            Self::HS384 | Self::ES384 => 48,
            Self::HS512 => 64,
            Self::ES512 => 66,
            Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512 => {
                256
            }
        }
    }

    pub(crate) fn hmac(self) -> Option<hmac::Algorithm> {
        match self {
            Self::HS256 => Some(hmac::HMAC_SHA256),
            Self::HS384 => Some(hmac::HMAC_SHA384),
            Self::HS512 => Some(hmac::HMAC_SHA512),
            _ => None,
        }
    }

    /// The hash an RSA or ECDSA signature is computed over. Verification hashes the signing
    /// input once itself and hands aws-lc the digest, which skips a streaming digest context
    /// per call. EdDSA hashes inside the primitive and has none.
    pub(crate) fn prehash(self) -> Option<&'static digest::Algorithm> {
        match self {
            Self::RS256 | Self::PS256 | Self::ES256 | Self::ES256K => Some(&digest::SHA256),
            Self::RS384 | Self::PS384 | Self::ES384 => Some(&digest::SHA384),
            Self::RS512 | Self::PS512 | Self::ES512 => Some(&digest::SHA512),
            Self::HS256 | Self::HS384 | Self::HS512 | Self::EdDSA => None,
        }
    }

    pub(crate) fn ecdsa_signing(self) -> Option<&'static signature::EcdsaSigningAlgorithm> {
        match self {
            Self::ES256 => Some(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
            Self::ES384 => Some(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
            Self::ES512 => Some(&signature::ECDSA_P521_SHA512_FIXED_SIGNING),
            Self::ES256K => Some(&signature::ECDSA_P256K1_SHA256_FIXED_SIGNING),
            _ => None,
        }
    }

    pub(crate) fn rsa_signing(self) -> Option<&'static dyn signature::RsaEncoding> {
        match self {
            Self::RS256 => Some(&signature::RSA_PKCS1_SHA256),
            Self::RS384 => Some(&signature::RSA_PKCS1_SHA384),
            Self::RS512 => Some(&signature::RSA_PKCS1_SHA512),
            Self::PS256 => Some(&signature::RSA_PSS_SHA256),
            Self::PS384 => Some(&signature::RSA_PSS_SHA384),
            Self::PS512 => Some(&signature::RSA_PSS_SHA512),
            _ => None,
        }
    }

    pub(crate) fn rsa_verification(self) -> Option<&'static signature::RsaParameters> {
        match self {
            Self::RS256 => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
            Self::RS384 => Some(&signature::RSA_PKCS1_2048_8192_SHA384),
            Self::RS512 => Some(&signature::RSA_PKCS1_2048_8192_SHA512),
            Self::PS256 => Some(&signature::RSA_PSS_2048_8192_SHA256),
            Self::PS384 => Some(&signature::RSA_PSS_2048_8192_SHA384),
            Self::PS512 => Some(&signature::RSA_PSS_2048_8192_SHA512),
            _ => None,
        }
    }

    /// The aws-lc-rs verification algorithm for the asymmetric algorithms.
    pub(crate) fn public_verification(
        self,
    ) -> Option<&'static dyn signature::VerificationAlgorithm> {
        match self {
            Self::ES256 => Some(&signature::ECDSA_P256_SHA256_FIXED),
            Self::ES384 => Some(&signature::ECDSA_P384_SHA384_FIXED),
            Self::ES512 => Some(&signature::ECDSA_P521_SHA512_FIXED),
            Self::ES256K => Some(&signature::ECDSA_P256K1_SHA256_FIXED),
            Self::EdDSA => Some(&signature::ED25519),
            other => other
                .rsa_verification()
                .map(|p| p as &'static dyn signature::VerificationAlgorithm),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an algorithm name that Signet does not support.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported algorithm")]
pub struct UnknownAlgorithm;

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or(UnknownAlgorithm)
    }
}

impl serde::Serialize for Algorithm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Algorithm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Self::from_name(&name).ok_or_else(|| serde::de::Error::custom("unsupported algorithm"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_is_not_an_algorithm() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
            assert!(alg.hmac().is_some() || alg.public_verification().is_some());
        }
        for none in ["none", "None", "NONE", "nOnE", "", "hs256"] {
            assert_eq!(Algorithm::from_name(none), None);
        }
    }
}
