//! A set of verifying keys, looked up by `kid` and algorithm.

use crate::jwk::{JwkSet, SkippedKey};
use crate::token::KeySource;
use crate::validation::Validation;
use crate::{Claims, Error, Header, KeyError, VerifyingKey};

/// Verifying keys chosen by the token's `kid`, never by anything else the token says.
///
/// A token with a `kid` is verified by the key with that `kid` (and it must be for the token's
/// algorithm). A token without a `kid` is accepted only when exactly one key fits its
/// algorithm.
///
/// # Examples
///
/// ```
/// use signet::{Algorithm, JwkSet, KeySet, SigningKey};
/// let old = SigningKey::generate(Algorithm::ES256)?;
/// let new = SigningKey::generate(Algorithm::ES256)?;
/// // What an issuer publishes during a rotation, read back by a verifier.
/// let jwks = JwkSet::from_keys([old.verifying_key(), new.verifying_key()]).to_json()?;
/// let keys = KeySet::from_jwks_json(jwks.as_bytes())?;
/// assert_eq!(keys.keys().len(), 2);
/// assert!(keys.skipped().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<VerifyingKey>,
    skipped: Vec<SkippedKey>,
}

impl KeySet {
    /// A set of the given keys.
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        Self {
            keys: keys.into_iter().collect(),
            skipped: Vec::new(),
        }
    }

    /// Reads a JWKS document. Entries Signet cannot use (unknown `kty` or `alg`, encryption
    /// keys, malformed or weak keys) are left out and listed by [`KeySet::skipped`]; they do
    /// not make the set fail. Entries that share a `kid` are all left out. A set that mixes shared secrets with public keys keeps only the
    /// public keys: an HMAC secret has no place in a published key set.
    pub fn from_jwks_json(json: &[u8]) -> Result<Self, KeyError> {
        Ok(Self::from_jwks(&JwkSet::from_json(json)?))
    }

    /// Builds a set from a parsed JWKS; see [`KeySet::from_jwks_json`].
    pub fn from_jwks(jwks: &JwkSet) -> Self {
        let mut set = Self::default();
        set.skipped.extend(jwks.skipped.iter().cloned());
        let mut secrets = Vec::new();
        let kids: Vec<Option<&str>> = jwks.keys.iter().map(|j| j.kid.as_deref()).collect();
        for (index, jwk) in jwks.entries() {
            let kid = jwk.kid.clone();
            if kid.is_some() && kids.iter().filter(|k| **k == kid.as_deref()).count() > 1 {
                // Two entries with one kid: a token naming it could mean either.
                let reason = KeyError::Misuse("kid used by more than one key in the set");
                set.skipped.push(SkippedKey { index, kid, reason });
                continue;
            }
            let key = if jwk.kty != "oct" && jwk.is_private() {
                Err(KeyError::Misuse("private key in a public key set"))
            } else {
                VerifyingKey::from_jwk(jwk)
            };
            match key {
                Ok(k) if k.alg().family() == crate::KeyFamily::Hmac => secrets.push((index, k)),
                Ok(k) => set.keys.push(k),
                Err(reason) => set.skipped.push(SkippedKey { index, kid, reason }),
            }
        }
        if set.keys.is_empty() {
            set.keys.extend(secrets.into_iter().map(|(_, k)| k));
        } else {
            for (index, k) in secrets {
                let reason = KeyError::Misuse("shared secret in a set of public keys");
                set.skipped.push(SkippedKey {
                    index,
                    kid: k.kid().map(str::to_owned),
                    reason,
                });
            }
        }
        set.skipped.sort_by_key(|s| s.index);
        set
    }

    /// Adds a key.
    pub fn push(&mut self, key: VerifyingKey) {
        self.keys.push(key);
    }

    /// The keys in the set.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// The JWKS entries that were left out, and why.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// Parses and verifies a compact JWT against this set, returning its registered claims
    /// (the same as [`KeySource::verify`], without importing the trait).
    pub fn verify(&self, token: &str, validation: &Validation) -> Result<Claims<'static>, Error> {
        KeySource::verify(self, token, validation)
    }

    /// Like [`KeySet::verify`], with the other members as the caller's type `C`.
    pub fn verify_as<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<Claims<'static, C>, Error> {
        KeySource::verify_as(self, token, validation)
    }
}

impl KeySource for KeySet {
    fn key_for(&self, header: &Header) -> Result<&VerifyingKey, Error> {
        let alg = header.alg();
        let mut found: Option<&VerifyingKey> = None;
        let mut other_alg = None;
        for key in &self.keys {
            if header.kid().is_some() && key.kid() != header.kid() {
                continue;
            }
            if key.alg() != alg {
                other_alg = Some(key.alg());
                continue;
            }
            if found.is_some() {
                return Err(Error::AmbiguousKey);
            }
            found = Some(key);
        }
        match (found, other_alg) {
            (Some(k), _) => Ok(k),
            (None, Some(expected)) if header.kid().is_some() => Err(Error::AlgorithmMismatch {
                expected,
                found: alg,
            }),
            _ => Err(Error::UnknownKey),
        }
    }
}
