//! Compact JWS parsing and verification, in a bounded order: size, structure, header,
//! key and algorithm, signature, and only then claims.

use std::cell::{OnceCell, RefCell};
use std::mem::MaybeUninit;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::claims::{self, Claims};
use crate::validation::Validation;
use crate::{Error, Header, Malformed, VerifyingKey, b64};

/// The default limit on the size of a compact token: 16 KiB.
pub const DEFAULT_MAX_TOKEN_SIZE: usize = 16 * 1024;

/// The longest signature of any supported algorithm: RSA with an 8192-bit modulus.
const MAX_SIGNATURE: usize = 1024;

thread_local! {
    /// The last header segment parsed on this thread and its result. Tokens from one issuer
    /// nearly always share a byte-identical header, so this skips decoding and parsing it
    /// again; parsing is a pure function of the segment, so a hit returns exactly what a
    /// fresh parse would.
    static LAST_HEADER: RefCell<Option<(Box<str>, Arc<Header>)>> = const { RefCell::new(None) };
}

/// Splits a compact JWS into its three segments: exactly two dots and a non-empty header.
pub(crate) fn split(token: &str) -> Result<(&str, &str, &str), Error> {
    // memchr's vectorized search: the signature and payload segments are the long ones.
    let bytes = token.as_bytes();
    let (Some(first), Some(last)) = (memchr::memchr(b'.', bytes), memchr::memrchr(b'.', bytes))
    else {
        return Err(Malformed::Segments.into());
    };
    let payload = token
        .get(first + 1..last)
        .filter(|p| memchr::memchr(b'.', p.as_bytes()).is_none());
    match payload {
        Some(payload) if first > 0 => Ok((&token[..first], payload, &token[last + 1..])),
        _ => Err(Malformed::Segments.into()),
    }
}

fn parse_header(segment: &str) -> Result<Arc<Header>, Error> {
    let hit = LAST_HEADER.with(|last| {
        last.borrow()
            .as_ref()
            .and_then(|(seg, h)| (**seg == *segment).then(|| Arc::clone(h)))
    });
    if let Some(h) = hit {
        return Ok(h);
    }
    let json = b64::decode(segment.as_bytes()).ok_or(Malformed::Base64)?;
    let header = Arc::new(Header::parse(&json)?);
    LAST_HEADER.with(|last| *last.borrow_mut() = Some((segment.into(), Arc::clone(&header))));
    Ok(header)
}

/// A compact JWS that has been parsed but not verified.
///
/// Only its header can be read. Claims come out of [`UnverifiedToken::verify`]; to read them
/// without verifying, see [`dangerous`](crate::dangerous).
///
/// # Examples
///
/// ```
/// use signet::{Algorithm, KeySet, SigningKey, TokenBuilder, UnverifiedToken, Validation};
/// let key = SigningKey::generate(Algorithm::ES256)?;
/// let token = TokenBuilder::new().issuer("i").audience("a").subject("alice").sign(&key)?;
/// let keys = KeySet::new([key.verifying_key().clone()]);
/// let parsed = UnverifiedToken::parse(&token)?;
/// assert_eq!(parsed.header().kid(), key.kid()); // the header only, until verified
/// let rules = Validation::builder().issuer("i").audience("a").build();
/// let verified = parsed.verify(&keys, &rules)?;
/// assert_eq!(verified.claims().sub.as_deref(), Some("alice"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct UnverifiedToken<'t> {
    header: Arc<Header>,
    signing_input: &'t str,
    payload_b64: &'t str,
    signature_b64: &'t str,
    /// The whole token's length, checked again against each verification's own limit.
    len: usize,
    /// The decoded payload, made once it is needed (after the signature checks out).
    payload: OnceCell<Vec<u8>>,
}

/// Where verification finds the key for a token: one [`VerifyingKey`] or a
/// [`KeySet`](crate::KeySet).
///
/// # Examples
///
/// Your own source: keys by tenant, chosen by the token's `kid`.
///
/// ```
/// use std::collections::HashMap;
/// use signet::{Error, Header, KeySource, VerifyingKey};
/// struct Tenants(HashMap<String, VerifyingKey>);
/// impl KeySource for Tenants {
///     fn key_for(&self, header: &Header) -> Result<&VerifyingKey, Error> {
///         header.kid().and_then(|kid| self.0.get(kid)).ok_or(Error::UnknownKey)
///     }
/// }
/// let key = signet::SigningKey::generate(signet::Algorithm::ES256)?;
/// let tenants = Tenants(HashMap::from([(key.kid().unwrap().to_owned(), key.verifying_key().clone())]));
/// let token = signet::TokenBuilder::new().issuer("i").audience("a").sign(&key)?;
/// let rules = signet::Validation::builder().issuer("i").audience("a").build();
/// assert!(tenants.verify(&token, &rules).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait KeySource {
    /// The key that must verify a token with this header. The key's algorithm must be the
    /// header's.
    fn key_for(&self, header: &Header) -> Result<&VerifyingKey, Error>;

    /// Parses and verifies a compact JWT against this source, returning its registered claims.
    /// One path for every source: a key, a key set, or one of your own.
    fn verify(&self, token: &str, validation: &Validation) -> Result<Claims<'static>, Error>
    where
        Self: Sized,
    {
        verify_owned(token, self, validation)
    }

    /// Like [`KeySource::verify`], with the token's other members as the caller's type `C`.
    fn verify_as<C: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<Claims<'static, C>, Error>
    where
        Self: Sized,
    {
        verify_owned(token, self, validation)
    }
}

impl KeySource for VerifyingKey {
    /// A single key ignores `kid` and checks only that the algorithm is its own.
    fn key_for(&self, header: &Header) -> Result<&VerifyingKey, Error> {
        if header.alg() == self.alg() {
            Ok(self)
        } else {
            Err(Error::AlgorithmMismatch {
                expected: self.alg(),
                found: header.alg(),
            })
        }
    }
}

/// A token whose signature and claims have been verified.
#[derive(Debug, Clone)]
pub struct Verified<'a, C = ()> {
    header: &'a Header,
    claims: Claims<'a, C>,
}

impl<'a, C> Verified<'a, C> {
    /// The verified header.
    pub fn header(&self) -> &'a Header {
        self.header
    }

    /// The verified claims.
    pub fn claims(&self) -> &Claims<'a, C> {
        &self.claims
    }

    /// The verified claims, by value.
    pub fn into_claims(self) -> Claims<'a, C> {
        self.claims
    }
}

impl<'t> UnverifiedToken<'t> {
    /// Parses a compact JWS of at most [`DEFAULT_MAX_TOKEN_SIZE`] bytes.
    pub fn parse(token: &'t str) -> Result<Self, Error> {
        Self::parse_with_limit(token, DEFAULT_MAX_TOKEN_SIZE)
    }

    /// Parses a compact JWS of at most `max_size` bytes. The size is checked before anything
    /// else is read; then the three segments and the header. The signature and payload
    /// segments are decoded during verification, signature first.
    pub fn parse_with_limit(token: &'t str, max_size: usize) -> Result<Self, Error> {
        if token.len() > max_size {
            return Err(Error::TooLarge { limit: max_size });
        }
        let (header, payload, signature) = split(token)?;
        Ok(Self {
            header: parse_header(header)?,
            signing_input: &token[..header.len() + 1 + payload.len()],
            payload_b64: payload,
            signature_b64: signature,
            len: token.len(),
            payload: OnceCell::new(),
        })
    }

    /// The header, which is all that may be read before verification.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Finds the key, checks the algorithm and the signature, and returns the payload. Every
    /// verification passes here: the key's algorithm is checked against the header's again, so
    /// that a caller's own [`KeySource`] cannot skip that rule.
    fn check_signature(&self, keys: &impl KeySource) -> Result<&[u8], Error> {
        let key = keys.key_for(&self.header)?;
        if key.alg() != self.header.alg() {
            return Err(Error::AlgorithmMismatch {
                expected: key.alg(),
                found: self.header.alg(),
            });
        }
        let mut buf = [MaybeUninit::<u8>::uninit(); MAX_SIGNATURE];
        let signature =
            b64::decode_into(self.signature_b64.as_bytes(), &mut buf).ok_or(Malformed::Base64)?;
        key.verify_signature(self.signing_input.as_bytes(), signature)?;
        self.payload()
    }

    /// Verifies the signature and then the registered claims. The size limit of `validation`
    /// applies here too, however the token was parsed.
    pub fn verify<'a>(
        &'a self,
        keys: &impl KeySource,
        validation: &Validation,
    ) -> Result<Verified<'a>, Error> {
        self.verify_as(keys, validation)
    }

    /// Like [`UnverifiedToken::verify`], with the other members as the caller's type `C`,
    /// borrowed from this token where they can be.
    pub fn verify_as<'a, C: Deserialize<'a>>(
        &'a self,
        keys: &impl KeySource,
        validation: &Validation,
    ) -> Result<Verified<'a, C>, Error> {
        let limit = validation.max_token_size();
        if self.len > limit {
            return Err(Error::TooLarge { limit });
        }
        let payload = self.check_signature(keys)?;
        validation.check_header(&self.header)?;
        let claims = claims::parse(payload, validation.required_claims())?;
        validation.check_claims(&claims)?;
        Ok(Verified {
            header: &self.header,
            claims,
        })
    }

    /// Verifies only the signature and returns the payload bytes, for a JWS whose payload is
    /// not a JWT. No claim is checked: do not use this for JWTs.
    pub fn verify_jws(&self, keys: &impl KeySource) -> Result<&[u8], Error> {
        self.check_signature(keys)
    }

    /// The decoded payload. Not verified by itself.
    pub(crate) fn payload(&self) -> Result<&[u8], Error> {
        if let Some(p) = self.payload.get() {
            return Ok(p);
        }
        let mut buf = PAYLOAD_BUFFERS
            .with(|pool| pool.borrow_mut().pop())
            .unwrap_or_default();
        buf.clear();
        if !b64::decode_append(self.payload_b64.as_bytes(), &mut buf) {
            return Err(Malformed::Base64.into());
        }
        Ok(self.payload.get_or_init(|| buf))
    }
}

/// How many payload buffers a thread keeps for reuse, and the largest one kept.
const POOLED_BUFFERS: usize = 8;
const MAX_POOLED_BUFFER: usize = 4096;

thread_local! {
    /// Decoded-payload buffers returned by dropped tokens, so that verifying a token does not
    /// allocate once a thread has verified a few.
    static PAYLOAD_BUFFERS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

impl Drop for UnverifiedToken<'_> {
    fn drop(&mut self) {
        if let Some(buf) = self
            .payload
            .take()
            .filter(|b| b.capacity() <= MAX_POOLED_BUFFER)
        {
            PAYLOAD_BUFFERS.with(|pool| {
                if let Ok(mut pool) = pool.try_borrow_mut()
                    && pool.len() < POOLED_BUFFERS
                {
                    pool.push(buf);
                }
            });
        }
    }
}

/// Parses and verifies `token` against `keys` and `validation`, returning owned claims.
pub(crate) fn verify_owned<C: DeserializeOwned>(
    token: &str,
    keys: &impl KeySource,
    validation: &Validation,
) -> Result<Claims<'static, C>, Error> {
    let parsed = UnverifiedToken::parse_with_limit(token, validation.max_token_size())?;
    let verified = parsed.verify_as::<C>(keys, validation)?;
    Ok(verified.into_claims().into_owned())
}

impl VerifyingKey {
    /// Parses and verifies a compact JWT with this key, returning its registered claims (the
    /// same as [`KeySource::verify`], without importing the trait).
    pub fn verify(&self, token: &str, validation: &Validation) -> Result<Claims<'static>, Error> {
        KeySource::verify(self, token, validation)
    }

    /// Like [`VerifyingKey::verify`], with the other members as the caller's type `C`.
    pub fn verify_as<C: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<Claims<'static, C>, Error> {
        KeySource::verify_as(self, token, validation)
    }
}
