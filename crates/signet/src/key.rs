//! Keys that each carry exactly one algorithm.
//!
//! A [`SigningKey`] signs and a [`VerifyingKey`] verifies; both are pinned to one
//! [`Algorithm`] when they are made, and a token whose header names another algorithm is
//! refused before any cryptography runs. Keys load from JWK, PEM and DER, and are generated
//! for every algorithm.

use std::fmt;

use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::rsa::{KeyPairComponents, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey, RsaKeyPair,
};
use aws_lc_rs::{digest, hmac, rand};
use pkcs1::der::Decode;

use crate::alg::KeyFamily;
use crate::jwk::Jwk;
use crate::secret::{SecretBytes, SecretString};
use crate::{Algorithm, Error, KeyError, SignError, WeakKey, b64};

/// The smallest RSA modulus Signet accepts, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// The public half of an asymmetric key, as raw big-endian components.
#[derive(Clone, PartialEq, Eq)]
enum PublicParts {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { x: Vec<u8>, y: Vec<u8> },
    Okp { x: Vec<u8> },
}

#[derive(Clone)]
enum Verifier {
    Hmac {
        key: Box<hmac::Key>,
        secret: SecretBytes,
    },
    Public {
        key: ParsedPublicKey,
        parts: PublicParts,
    },
}

/// A key that verifies signatures of exactly one algorithm: a public key, or an HMAC secret.
///
/// # Examples
///
/// ```
/// use signet::{Algorithm, SigningKey, Validation, VerifyingKey};
/// let signing = SigningKey::generate(Algorithm::ES256)?;
/// // What a verifier gets from the issuer: the public JWK.
/// let public = VerifyingKey::from_jwk(&signing.public_jwk()?)?;
/// let token = signet::TokenBuilder::new().issuer("https://auth.example.com").audience("api").sign(&signing)?;
/// let rules = Validation::builder().issuer("https://auth.example.com").audience("api").build();
/// assert_eq!(public.verify(&token, &rules)?.iss.as_deref(), Some("https://auth.example.com"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    kid: Option<String>,
    inner: Verifier,
}

enum Signer {
    Hmac(Box<hmac::Key>),
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A key that signs with exactly one algorithm: a private key, or an HMAC secret.
///
/// Its `Debug` output never shows secret material.
///
/// # Examples
///
/// ```
/// use signet::{Algorithm, SigningKey};
/// let key = SigningKey::generate(Algorithm::EdDSA)?;
/// assert_eq!(key.alg(), Algorithm::EdDSA);
/// assert!(key.kid().is_some()); // the RFC 7638 thumbprint unless told otherwise
/// // An HMAC key must be at least as long as its hash output.
/// assert!(SigningKey::from_hmac_secret(Algorithm::HS256, b"short").is_err());
/// # Ok::<(), signet::KeyError>(())
/// ```
pub struct SigningKey {
    alg: Algorithm,
    inner: Signer,
    /// The matching verifying key, made once.
    public: VerifyingKey,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

fn rejected(what: &'static str) -> impl Fn(aws_lc_rs::error::KeyRejected) -> KeyError {
    move |_| KeyError::Invalid(what)
}

fn unb64(v: Option<&str>, what: &'static str) -> Result<Vec<u8>, KeyError> {
    let v = v.ok_or(KeyError::Invalid(what))?;
    b64::decode(v.as_bytes()).ok_or(KeyError::Invalid(what))
}

fn unb64_secret(v: Option<&SecretString>, what: &'static str) -> Result<SecretBytes, KeyError> {
    unb64(v.map(SecretString::expose), what).map(SecretBytes::new)
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

fn rsa_bits(n: &[u8]) -> usize {
    let n = strip_leading_zeros(n);
    n.first()
        .map_or(0, |&top| n.len() * 8 - top.leading_zeros() as usize)
}

fn check_rsa_size(bits: usize) -> Result<(), KeyError> {
    if bits < MIN_RSA_BITS {
        return Err(KeyError::Weak(WeakKey::RsaModulus {
            bits,
            min: MIN_RSA_BITS,
        }));
    }
    Ok(())
}

/// Refuses public exponents that make RSA insecure (even, or 1) and moduli with the ROCA
/// fingerprint (CVE-2017-15361).
fn check_rsa_public(n: &[u8], e: &[u8]) -> Result<(), KeyError> {
    let e_is_one = e == [1];
    if e_is_one || e.last().is_none_or(|low| low % 2 == 0) {
        return Err(KeyError::Weak(WeakKey::RsaExponent));
    }
    if crate::roca::has_fingerprint(n) {
        return Err(KeyError::Weak(WeakKey::Roca));
    }
    Ok(())
}

fn check_hmac_size(alg: Algorithm, secret: &[u8]) -> Result<(), KeyError> {
    if secret.len() < alg.size() {
        return Err(KeyError::Weak(WeakKey::HmacSecret {
            alg,
            bytes: secret.len(),
            min: alg.size(),
        }));
    }
    Ok(())
}

/// Checks `use` and `key_ops`, and works out which algorithm the JWK is for.
fn jwk_algorithm(
    jwk: &Jwk,
    alg: Option<Algorithm>,
    op: &'static str,
) -> Result<Algorithm, KeyError> {
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err(KeyError::Usage("signatures"));
    }
    if let Some(ops) = &jwk.key_ops
        && !ops.iter().any(|o| o == op)
    {
        return Err(KeyError::Usage(if op == "sign" {
            "signing"
        } else {
            "verification"
        }));
    }
    let named = match jwk.alg.as_deref() {
        Some(name) => Some(
            Algorithm::from_jwk_name(name)
                .ok_or_else(|| KeyError::Algorithm(name.chars().take(32).collect()))?,
        ),
        None => None,
    };
    let alg = match (named, alg) {
        (Some(n), Some(a)) if n != a => return Err(KeyError::WrongAlgorithm(a)),
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => jwk
            .crv
            .as_deref()
            .and_then(Algorithm::from_curve)
            .filter(|a| a.family().kty() == jwk.kty)
            .ok_or_else(|| {
                KeyError::Algorithm(format!(
                    "a {} JWK without `alg`",
                    jwk.kty.chars().take(8).collect::<String>()
                ))
            })?,
    };
    if alg.family().kty() != jwk.kty {
        return Err(KeyError::WrongAlgorithm(alg));
    }
    if alg.curve().is_some() && jwk.crv.as_deref() != alg.curve() {
        return Err(KeyError::WrongAlgorithm(alg));
    }
    Ok(alg)
}

impl PublicParts {
    fn from_jwk(alg: Algorithm, jwk: &Jwk) -> Result<Self, KeyError> {
        Ok(match alg.family() {
            KeyFamily::Rsa => Self::Rsa {
                n: unb64(jwk.n.as_deref(), "RSA modulus `n`")?,
                e: unb64(jwk.e.as_deref(), "RSA exponent `e`")?,
            },
            KeyFamily::Ec => Self::Ec {
                x: unb64(jwk.x.as_deref(), "EC coordinate `x`")?,
                y: unb64(jwk.y.as_deref(), "EC coordinate `y`")?,
            },
            KeyFamily::Okp => Self::Okp {
                x: unb64(jwk.x.as_deref(), "Ed25519 public key `x`")?,
            },
            KeyFamily::Hmac => return Err(KeyError::Misuse("an HMAC key has no public half")),
        })
    }

    fn ec_point(x: &[u8], y: &[u8]) -> Vec<u8> {
        let mut point = Vec::with_capacity(1 + x.len() + y.len());
        point.push(4);
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        point
    }

    fn from_ec_point(alg: Algorithm, point: &[u8]) -> Result<Self, KeyError> {
        let size = alg.size();
        match point.split_first() {
            Some((4, xy)) if xy.len() == 2 * size => {
                let (x, y) = xy.split_at(size);
                Ok(Self::Ec {
                    x: x.to_vec(),
                    y: y.to_vec(),
                })
            }
            _ => Err(KeyError::Invalid(
                "EC public key must be an uncompressed point",
            )),
        }
    }

    fn parse(&self, alg: Algorithm) -> Result<ParsedPublicKey, KeyError> {
        match self {
            Self::Rsa { n, e } => {
                let n = strip_leading_zeros(n);
                let e = strip_leading_zeros(e);
                check_rsa_size(rsa_bits(n))?;
                check_rsa_public(n, e)?;
                let params = alg
                    .rsa_verification()
                    .ok_or(KeyError::WrongAlgorithm(alg))?;
                PublicKeyComponents { n, e }
                    .to_parsed_public_key(params)
                    .map_err(rejected("not a valid RSA public key"))
            }
            Self::Ec { x, y } => {
                if x.len() != alg.size() || y.len() != alg.size() {
                    return Err(KeyError::Invalid("EC coordinates of the wrong length"));
                }
                let v = alg
                    .public_verification()
                    .ok_or(KeyError::WrongAlgorithm(alg))?;
                ParsedPublicKey::new(v, Self::ec_point(x, y))
                    .map_err(rejected("not a point on the curve"))
            }
            Self::Okp { x } => {
                if x.len() != alg.size() {
                    return Err(KeyError::Invalid("Ed25519 public key of the wrong length"));
                }
                ParsedPublicKey::new(&signature::ED25519, x)
                    .map_err(rejected("not an Ed25519 public key"))
            }
        }
    }

    fn write_jwk(&self, alg: Algorithm, jwk: &mut Jwk) {
        jwk.kty = alg.family().kty().to_owned();
        jwk.crv = alg.curve().map(str::to_owned);
        match self {
            Self::Rsa { n, e } => {
                jwk.n = Some(b64::encode(strip_leading_zeros(n)));
                jwk.e = Some(b64::encode(strip_leading_zeros(e)));
            }
            Self::Ec { x, y } => {
                jwk.x = Some(b64::encode(x));
                jwk.y = Some(b64::encode(y));
            }
            Self::Okp { x } => jwk.x = Some(b64::encode(x)),
        }
    }
}

impl VerifyingKey {
    fn from_parts(alg: Algorithm, parts: PublicParts) -> Result<Self, KeyError> {
        let key = parts.parse(alg)?;
        let mut k = Self {
            alg,
            kid: None,
            inner: Verifier::Public { key, parts },
        };
        k.kid = Some(k.thumbprint()?);
        Ok(k)
    }

    /// An HMAC verifying key from the shared secret. Secrets shorter than the hash output
    /// (32, 48 or 64 bytes) are refused. HMAC keys have no default `kid`.
    pub fn from_hmac_secret(alg: Algorithm, secret: &[u8]) -> Result<Self, KeyError> {
        let h = alg.hmac().ok_or(KeyError::WrongAlgorithm(alg))?;
        check_hmac_size(alg, secret)?;
        Ok(Self {
            alg,
            kid: None,
            inner: Verifier::Hmac {
                key: Box::new(hmac::Key::new(h, secret)),
                secret: SecretBytes::new(secret.to_vec()),
            },
        })
    }

    /// A verifying key from a JWK whose `alg` (or, for EC and OKP keys, `crv`) says which
    /// algorithm it is for. The JWK's `kid` is kept; without one the RFC 7638 thumbprint is used.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        Self::jwk_inner(jwk, None)
    }

    /// A verifying key from a JWK, pinned to `alg` (which must agree with the JWK's own `alg`).
    pub fn from_jwk_with_alg(jwk: &Jwk, alg: Algorithm) -> Result<Self, KeyError> {
        Self::jwk_inner(jwk, Some(alg))
    }

    fn jwk_inner(jwk: &Jwk, alg: Option<Algorithm>) -> Result<Self, KeyError> {
        let alg = jwk_algorithm(jwk, alg, "verify")?;
        let mut key = if alg.family() == KeyFamily::Hmac {
            Self::from_hmac_secret(
                alg,
                unb64_secret(jwk.k.as_ref(), "HMAC secret `k`")?.expose(),
            )?
        } else {
            Self::from_parts(alg, PublicParts::from_jwk(alg, jwk)?)?
        };
        if jwk.kid.is_some() {
            key.kid.clone_from(&jwk.kid);
        }
        Ok(key)
    }

    /// A verifying key from PEM: `PUBLIC KEY` (SPKI), `RSA PUBLIC KEY` (PKCS#1), or a private
    /// key (whose public half is taken).
    pub fn from_pem(pem: &str, alg: Algorithm) -> Result<Self, KeyError> {
        let (label, der) = crate::pem::decode(pem)?;
        match label.as_str() {
            "PUBLIC KEY" | "RSA PUBLIC KEY" => Self::from_der(&der, alg),
            _ => Ok(SigningKey::from_der(&der, alg)?.public),
        }
    }

    /// A verifying key from DER: SPKI, PKCS#1 `RSAPublicKey`, or a private key in any form
    /// [`SigningKey::from_der`] reads.
    pub fn from_der(der: &[u8], alg: Algorithm) -> Result<Self, KeyError> {
        if alg.family() == KeyFamily::Hmac {
            return Err(KeyError::Misuse(
                "an HMAC key has no DER form; use from_hmac_secret",
            ));
        }
        if let Ok(spki) = spki::SubjectPublicKeyInfoRef::from_der(der) {
            let parts = match crate::pem::spki_parts(alg, &spki)? {
                crate::pem::SpkiParts::Rsa { n, e } => PublicParts::Rsa { n, e },
                crate::pem::SpkiParts::EcPoint(point) => PublicParts::from_ec_point(alg, &point)?,
                crate::pem::SpkiParts::Ed25519(x) => PublicParts::Okp { x },
            };
            return Self::from_parts(alg, parts);
        }
        if let Ok(rsa) = pkcs1::RsaPublicKey::from_der(der) {
            if alg.family() != KeyFamily::Rsa {
                return Err(KeyError::WrongAlgorithm(alg));
            }
            let parts = PublicParts::Rsa {
                n: rsa.modulus.as_bytes().to_vec(),
                e: rsa.public_exponent.as_bytes().to_vec(),
            };
            return Self::from_parts(alg, parts);
        }
        Ok(SigningKey::from_der(der, alg)?.public)
    }

    /// The algorithm this key verifies.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The key id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// This key with another key id.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// This key with no key id.
    #[must_use]
    pub fn without_kid(mut self) -> Self {
        self.kid = None;
        self
    }

    /// The public JWK (with `alg`, `kid` and `use: sig`). An HMAC key has no public half and
    /// is refused.
    pub fn to_jwk(&self) -> Result<Jwk, KeyError> {
        match &self.inner {
            Verifier::Hmac { .. } => Err(KeyError::Misuse("an HMAC key has no public half")),
            Verifier::Public { parts, .. } => {
                let mut jwk = Jwk {
                    alg: Some(self.alg.name().to_owned()),
                    kid: self.kid.clone(),
                    use_: Some("sig".to_owned()),
                    ..Jwk::default()
                };
                parts.write_jwk(self.alg, &mut jwk);
                Ok(jwk)
            }
        }
    }

    /// The public key as SubjectPublicKeyInfo PEM (`PUBLIC KEY`). Refused for HMAC keys.
    pub fn to_spki_pem(&self) -> Result<String, KeyError> {
        match &self.inner {
            Verifier::Hmac { .. } => Err(KeyError::Misuse("an HMAC key has no public half")),
            Verifier::Public { key, .. } => {
                let der: aws_lc_rs::encoding::PublicKeyX509Der<'_> =
                    key.as_der().map_err(|_| KeyError::Crypto)?;
                crate::pem::encode("PUBLIC KEY", der.as_ref())
            }
        }
    }

    /// The RFC 7638 thumbprint of this key.
    pub fn thumbprint(&self) -> Result<String, KeyError> {
        match &self.inner {
            Verifier::Hmac { secret, .. } => Jwk {
                kty: "oct".into(),
                k: Some(SecretString::new(b64::encode(secret.expose()))),
                ..Jwk::default()
            }
            .thumbprint(),
            Verifier::Public { parts, .. } => {
                let mut jwk = Jwk::default();
                parts.write_jwk(self.alg, &mut jwk);
                jwk.thumbprint()
            }
        }
    }

    /// Verifies a raw JWS signature (for ECDSA, the fixed-size `R || S` form) over `message`
    /// with this key's algorithm. Token verification uses exactly this, after checking that
    /// the token's `alg` is the key's; call it directly only for detached content.
    pub fn verify_signature(&self, message: &[u8], sig: &[u8]) -> Result<(), Error> {
        match &self.inner {
            Verifier::Hmac { key, .. } => hmac::verify(key, message, sig),
            Verifier::Public { key, .. } => {
                if self.alg.family() == KeyFamily::Ec && sig.len() != 2 * self.alg.size() {
                    // Only the fixed-size JOSE form (R || S) is a valid ECDSA signature here.
                    return Err(Error::InvalidSignature);
                }
                match self.alg.prehash() {
                    Some(hash) => key.verify_digest_sig(&digest::digest(hash, message), sig),
                    None => key.verify_sig(message, sig),
                }
            }
        }
        .map_err(|_| Error::InvalidSignature)
    }
}

impl SigningKey {
    fn new(alg: Algorithm, inner: Signer, public: VerifyingKey) -> Self {
        Self { alg, inner, public }
    }

    fn from_asymmetric(alg: Algorithm, inner: Signer) -> Result<Self, KeyError> {
        let parts = match &inner {
            Signer::Rsa(kp) => {
                check_rsa_size(kp.public_modulus_len() * 8)?;
                // The public half is checked again (exponent, ROCA) when it is parsed below.
                let pk = kp.public_key();
                PublicParts::Rsa {
                    n: pk.modulus().big_endian_without_leading_zero().to_vec(),
                    e: pk.exponent().big_endian_without_leading_zero().to_vec(),
                }
            }
            Signer::Ec(kp) => PublicParts::from_ec_point(alg, kp.public_key().as_ref())?,
            Signer::Ed(kp) => PublicParts::Okp {
                x: kp.public_key().as_ref().to_vec(),
            },
            Signer::Hmac(_) => return Err(KeyError::Misuse("not an asymmetric key")),
        };
        let public = VerifyingKey::from_parts(alg, parts)?;
        Ok(Self::new(alg, inner, public))
    }

    /// An HMAC signing key from the shared secret. Secrets shorter than the hash output
    /// (32, 48 or 64 bytes) are refused. HMAC keys have no default `kid`.
    pub fn from_hmac_secret(alg: Algorithm, secret: &[u8]) -> Result<Self, KeyError> {
        let public = VerifyingKey::from_hmac_secret(alg, secret)?;
        let Verifier::Hmac { key, .. } = &public.inner else {
            return Err(KeyError::WrongAlgorithm(alg));
        };
        Ok(Self::new(alg, Signer::Hmac(key.clone()), public))
    }

    /// A new random key for `alg`: 2048-bit RSA, the algorithm's curve, or an HMAC secret as
    /// long as the hash output.
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        Self::generate_with_rsa_bits(alg, MIN_RSA_BITS)
    }

    /// A new random key for `alg`, with an RSA modulus of `rsa_bits` (2048, 3072 or 4096; the
    /// size is ignored for other families).
    pub fn generate_with_rsa_bits(alg: Algorithm, rsa_bits: usize) -> Result<Self, KeyError> {
        match alg.family() {
            KeyFamily::Hmac => {
                let mut secret = zeroize::Zeroizing::new(vec![0u8; alg.size()]);
                rand::fill(&mut secret).map_err(|_| KeyError::Crypto)?;
                Self::from_hmac_secret(alg, &secret)
            }
            KeyFamily::Rsa => {
                let size = match rsa_bits {
                    2048 => KeySize::Rsa2048,
                    3072 => KeySize::Rsa3072,
                    4096 => KeySize::Rsa4096,
                    _ => {
                        return Err(KeyError::Invalid(
                            "RSA key size must be 2048, 3072 or 4096 bits",
                        ));
                    }
                };
                Self::from_asymmetric(
                    alg,
                    Signer::Rsa(RsaKeyPair::generate(size).map_err(|_| KeyError::Crypto)?),
                )
            }
            KeyFamily::Ec => {
                let s = alg.ecdsa_signing().ok_or(KeyError::WrongAlgorithm(alg))?;
                Self::from_asymmetric(
                    alg,
                    Signer::Ec(EcdsaKeyPair::generate(s).map_err(|_| KeyError::Crypto)?),
                )
            }
            KeyFamily::Okp => Self::from_asymmetric(
                alg,
                Signer::Ed(Ed25519KeyPair::generate().map_err(|_| KeyError::Crypto)?),
            ),
        }
    }

    /// A signing key from a private JWK whose `alg` (or, for EC and OKP keys, `crv`) says
    /// which algorithm it is for.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        Self::jwk_inner(jwk, None)
    }

    /// A signing key from a private JWK, pinned to `alg`.
    pub fn from_jwk_with_alg(jwk: &Jwk, alg: Algorithm) -> Result<Self, KeyError> {
        Self::jwk_inner(jwk, Some(alg))
    }

    fn jwk_inner(jwk: &Jwk, alg: Option<Algorithm>) -> Result<Self, KeyError> {
        let alg = jwk_algorithm(jwk, alg, "sign")?;
        let mut key = match alg.family() {
            KeyFamily::Hmac => Self::from_hmac_secret(
                alg,
                unb64_secret(jwk.k.as_ref(), "HMAC secret `k`")?.expose(),
            )?,
            KeyFamily::Rsa => {
                let PublicParts::Rsa { n, e } = PublicParts::from_jwk(alg, jwk)? else {
                    return Err(KeyError::WrongAlgorithm(alg));
                };
                let d = unb64_secret(jwk.d.as_ref(), "RSA private exponent `d`")?;
                let crt = "RSA private JWK without all CRT members (p, q, dp, dq, qi)";
                let p = unb64_secret(jwk.p.as_ref(), crt)?;
                let q = unb64_secret(jwk.q.as_ref(), crt)?;
                let dp = unb64_secret(jwk.dp.as_ref(), crt)?;
                let dq = unb64_secret(jwk.dq.as_ref(), crt)?;
                let qi = unb64_secret(jwk.qi.as_ref(), crt)?;
                let components = KeyPairComponents {
                    public_key: PublicKeyComponents {
                        n: strip_leading_zeros(&n),
                        e: strip_leading_zeros(&e),
                    },
                    d: d.expose(),
                    p: p.expose(),
                    q: q.expose(),
                    dP: dp.expose(),
                    dQ: dq.expose(),
                    qInv: qi.expose(),
                };
                check_rsa_size(rsa_bits(&n))?;
                let kp = RsaKeyPair::from_components(&components)
                    .map_err(rejected("inconsistent RSA private key"))?;
                Self::from_asymmetric(alg, Signer::Rsa(kp))?
            }
            KeyFamily::Ec => {
                let PublicParts::Ec { x, y } = PublicParts::from_jwk(alg, jwk)? else {
                    return Err(KeyError::WrongAlgorithm(alg));
                };
                let d = unb64_secret(jwk.d.as_ref(), "EC private key `d`")?;
                if d.expose().len() != alg.size() || x.len() != alg.size() || y.len() != alg.size()
                {
                    return Err(KeyError::Invalid("EC key members of the wrong length"));
                }
                let s = alg.ecdsa_signing().ok_or(KeyError::WrongAlgorithm(alg))?;
                let kp = EcdsaKeyPair::from_private_key_and_public_key(
                    s,
                    d.expose(),
                    &PublicParts::ec_point(&x, &y),
                )
                .map_err(rejected("inconsistent EC private key"))?;
                Self::from_asymmetric(alg, Signer::Ec(kp))?
            }
            KeyFamily::Okp => {
                let x = unb64(jwk.x.as_deref(), "Ed25519 public key `x`")?;
                let d = unb64_secret(jwk.d.as_ref(), "Ed25519 private key `d`")?;
                let kp = Ed25519KeyPair::from_seed_and_public_key(d.expose(), &x)
                    .map_err(rejected("inconsistent Ed25519 private key"))?;
                Self::from_asymmetric(alg, Signer::Ed(kp))?
            }
        };
        if jwk.kid.is_some() {
            key.public.kid.clone_from(&jwk.kid);
        }
        Ok(key)
    }

    /// A signing key from PEM: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1) or
    /// `EC PRIVATE KEY` (SEC1).
    pub fn from_pem(pem: &str, alg: Algorithm) -> Result<Self, KeyError> {
        let (label, der) = crate::pem::decode(pem)?;
        match label.as_str() {
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => Self::from_der(&der, alg),
            "PUBLIC KEY" | "RSA PUBLIC KEY" => Err(KeyError::Misuse("a public key cannot sign")),
            _ => Err(KeyError::Parse("unsupported PEM label".into())),
        }
    }

    /// A signing key from DER: PKCS#8, PKCS#1 `RSAPrivateKey` or SEC1 `ECPrivateKey`.
    pub fn from_der(der: &[u8], alg: Algorithm) -> Result<Self, KeyError> {
        let inner = match alg.family() {
            KeyFamily::Hmac => {
                return Err(KeyError::Misuse(
                    "an HMAC key has no DER form; use from_hmac_secret",
                ));
            }
            KeyFamily::Rsa => Signer::Rsa(
                RsaKeyPair::from_pkcs8(der)
                    .or_else(|_| RsaKeyPair::from_der(der))
                    .map_err(rejected("not an RSA private key in PKCS#8 or PKCS#1 DER"))?,
            ),
            KeyFamily::Ec => {
                let s = alg.ecdsa_signing().ok_or(KeyError::WrongAlgorithm(alg))?;
                Signer::Ec(
                    EcdsaKeyPair::from_pkcs8(s, der)
                        .or_else(|_| EcdsaKeyPair::from_private_key_der(s, der))
                        .map_err(rejected("not a private key on this algorithm's curve"))?,
                )
            }
            KeyFamily::Okp => Signer::Ed(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                    .map_err(rejected("not an Ed25519 private key in PKCS#8 DER"))?,
            ),
        };
        Self::from_asymmetric(alg, inner)
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The key id placed in the header of the tokens it signs.
    pub fn kid(&self) -> Option<&str> {
        self.public.kid()
    }

    /// This key with another key id.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.public.kid = Some(kid.into());
        self
    }

    /// This key with no key id: its tokens carry no `kid`.
    #[must_use]
    pub fn without_kid(mut self) -> Self {
        self.public.kid = None;
        self
    }

    /// The matching verifying key (the public half, or the same HMAC secret).
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// The public JWK. Refused for HMAC keys.
    pub fn public_jwk(&self) -> Result<Jwk, KeyError> {
        self.public.to_jwk()
    }

    /// The RFC 7638 thumbprint.
    pub fn thumbprint(&self) -> Result<String, KeyError> {
        self.public.thumbprint()
    }

    /// The private JWK, with `alg`, `kid` and `use: sig`. It holds secret material.
    pub fn to_jwk(&self) -> Result<Jwk, KeyError> {
        let mut jwk = match &self.public.inner {
            Verifier::Hmac { secret, .. } => Jwk {
                kty: "oct".into(),
                k: Some(SecretString::new(b64::encode(secret.expose()))),
                ..Jwk::default()
            },
            Verifier::Public { .. } => self.public.to_jwk()?,
        };
        jwk.alg = Some(self.alg.name().to_owned());
        jwk.kid = self.public.kid.clone();
        jwk.use_ = Some("sig".into());
        let secret = |b: &[u8]| Some(SecretString::new(b64::encode(b)));
        match &self.inner {
            Signer::Hmac(_) => {}
            Signer::Ec(kp) => {
                let d = kp
                    .private_key()
                    .as_be_bytes()
                    .map_err(|_| KeyError::Crypto)?;
                jwk.d = secret(d.as_ref());
            }
            Signer::Ed(kp) => {
                let seed = kp.seed().map_err(|_| KeyError::Crypto)?;
                let d = seed.as_be_bytes().map_err(|_| KeyError::Crypto)?;
                jwk.d = secret(d.as_ref());
            }
            Signer::Rsa(kp) => {
                let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(kp)
                    .map_err(|_| KeyError::Crypto)?;
                let info = pkcs8::PrivateKeyInfo::from_der(pkcs8.as_ref())
                    .map_err(|_| KeyError::Crypto)?;
                let rsa = pkcs1::RsaPrivateKey::from_der(info.private_key)
                    .map_err(|_| KeyError::Crypto)?;
                jwk.d = secret(rsa.private_exponent.as_bytes());
                jwk.p = secret(rsa.prime1.as_bytes());
                jwk.q = secret(rsa.prime2.as_bytes());
                jwk.dp = secret(rsa.exponent1.as_bytes());
                jwk.dq = secret(rsa.exponent2.as_bytes());
                jwk.qi = secret(rsa.coefficient.as_bytes());
            }
        }
        Ok(jwk)
    }

    /// The private key as PKCS#8 PEM. Refused for HMAC keys.
    pub fn to_pkcs8_pem(&self) -> Result<SecretString, KeyError> {
        let der = match &self.inner {
            Signer::Hmac(_) => return Err(KeyError::Misuse("an HMAC key has no PEM form")),
            Signer::Rsa(kp) => {
                AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(kp).map(|d| d.as_ref().to_vec())
            }
            Signer::Ec(kp) => kp.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
            Signer::Ed(kp) => kp.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
        }
        .map_err(|_| KeyError::Crypto)?;
        let der = zeroize::Zeroizing::new(der);
        crate::pem::encode("PRIVATE KEY", &der).map(SecretString::new)
    }

    /// Signs everything in `out` (the JWS signing input) and appends `.` and the base64url
    /// signature (fixed-size R || S for ECDSA).
    pub(crate) fn append_signature(&self, out: &mut String) -> Result<(), SignError> {
        fn append(out: &mut String, sig: &[u8]) {
            out.push('.');
            b64::encode_into(sig, out);
        }
        let message = out.as_bytes();
        match &self.inner {
            Signer::Hmac(key) => {
                let tag = hmac::sign(key, message);
                append(out, tag.as_ref());
            }
            Signer::Ed(kp) => {
                let sig = kp.sign(message);
                append(out, sig.as_ref());
            }
            Signer::Ec(kp) => {
                let sig = kp
                    .sign(&rand::SystemRandom::new(), message)
                    .map_err(|_| SignError::Crypto)?;
                append(out, sig.as_ref());
            }
            Signer::Rsa(kp) => {
                let enc = self.alg.rsa_signing().ok_or(SignError::Crypto)?;
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(enc, &rand::SystemRandom::new(), message, &mut sig)
                    .map_err(|_| SignError::Crypto)?;
                append(out, &sig);
            }
        }
        Ok(())
    }
}
