//! JSON Web Keys (RFC 7517) and their RFC 7638 thumbprints.

use std::fmt;

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};

use crate::secret::SecretString;
use crate::{KeyError, VerifyingKey, b64};

/// A JSON Web Key as it appears on the wire.
///
/// This is a plain data type: turning it into a usable key (and checking it) is the job of
/// [`SigningKey::from_jwk`](crate::SigningKey::from_jwk) and
/// [`VerifyingKey::from_jwk`](crate::VerifyingKey::from_jwk). Private members are
/// [`SecretString`]s: redacted in `Debug` and zeroized on drop. Members Signet does not use
/// (`x5c`, `x5t`, ...) are dropped when parsing.
///
/// # Examples
///
/// ```
/// use signet::{Jwk, VerifyingKey};
/// let jwk = Jwk::from_json(br#"{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)?;
/// assert!(!jwk.is_private());
/// let key = VerifyingKey::from_jwk(&jwk)?;
/// assert_eq!(key.alg(), signet::Algorithm::EdDSA);
/// # Ok::<(), signet::KeyError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwk {
    /// Key type: `oct`, `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// The algorithm this key is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended use: `sig` or `enc`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Permitted operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// Curve (`EC`, `OKP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// X coordinate (`EC`) or public key (`OKP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Y coordinate (`EC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Modulus (`RSA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// Public exponent (`RSA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Private exponent (`RSA`) or private scalar (`EC`, `OKP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<SecretString>,
    /// First prime factor (`RSA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<SecretString>,
    /// Second prime factor (`RSA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<SecretString>,
    /// First factor CRT exponent (`RSA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<SecretString>,
    /// Second factor CRT exponent (`RSA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dq: Option<SecretString>,
    /// First CRT coefficient (`RSA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qi: Option<SecretString>,
    /// The shared secret (`oct`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<SecretString>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("crv", &self.crv)
            .field("private", &self.is_private())
            .finish_non_exhaustive()
    }
}

impl Jwk {
    /// Parses a JWK from JSON.
    pub fn from_json(json: &[u8]) -> Result<Self, KeyError> {
        serde_json::from_slice(json).map_err(|e| KeyError::Parse(format!("JWK: {e}")))
    }

    /// This JWK as JSON.
    ///
    /// ```
    /// let key = signet::SigningKey::generate(signet::Algorithm::ES256)?;
    /// let json = key.public_jwk()?.to_json()?;
    /// assert!(json.contains(r#""kty":"EC""#));
    /// # Ok::<(), signet::KeyError>(())
    /// ```
    pub fn to_json(&self) -> Result<String, KeyError> {
        serde_json::to_string(self).map_err(|e| KeyError::Encode(e.to_string()))
    }

    /// Whether this JWK holds secret material (a private key or a shared secret).
    pub fn is_private(&self) -> bool {
        self.d.is_some() || self.k.is_some()
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url) of this key's public members.
    pub fn thumbprint(&self) -> Result<String, KeyError> {
        fn need(v: &Option<String>) -> Result<&str, KeyError> {
            v.as_deref().ok_or(KeyError::Invalid("missing member"))
        }
        let canonical = match self.kty.as_str() {
            "EC" => serde_json::json!({
                "crv": need(&self.crv)?, "kty": "EC", "x": need(&self.x)?, "y": need(&self.y)?
            }),
            "RSA" => serde_json::json!({"e": need(&self.e)?, "kty": "RSA", "n": need(&self.n)?}),
            "OKP" => {
                serde_json::json!({"crv": need(&self.crv)?, "kty": "OKP", "x": need(&self.x)?})
            }
            "oct" => {
                let k = self.k.as_ref().ok_or(KeyError::Invalid("missing member"))?;
                serde_json::json!({"k": k.expose(), "kty": "oct"})
            }
            _ => return Err(KeyError::Invalid("unknown kty")),
        };
        // serde_json's map is ordered by key, which is the order RFC 7638 asks for; a JSON
        // value's `Display` is its compact form and cannot fail.
        let bytes = zeroize::Zeroizing::new(canonical.to_string().into_bytes());
        Ok(b64::encode(
            digest::digest(&digest::SHA256, &bytes).as_ref(),
        ))
    }
}

/// A JWK Set (RFC 7517 §5). Reading one never fails on a single entry: entries that are not
/// JWKs are left out and listed in [`JwkSet::skipped`], so that one key Signet cannot read does
/// not make the whole set unreadable. Written out, it is the `keys` array of [`JwkSet::keys`].
///
/// # Examples
///
/// ```
/// let set = signet::JwkSet::from_json(br#"{"keys":[42,{"kty":"oct","k":"c2VjcmV0","alg":"HS256"}]}"#)?;
/// // The entry that is not a JWK is listed, not fatal.
/// assert_eq!(set.keys.len(), 1);
/// assert_eq!(set.skipped.len(), 1);
/// # Ok::<(), signet::KeyError>(())
/// ```
#[derive(Debug, Clone, Default, Serialize)]
pub struct JwkSet {
    /// The entries that are JWKs, in order.
    pub keys: Vec<Jwk>,
    /// The entries that are not, with their position and why.
    #[serde(skip)]
    pub skipped: Vec<SkippedKey>,
    /// The position in the document of each of `keys`.
    #[serde(skip)]
    positions: Vec<usize>,
}

impl<'de> Deserialize<'de> for JwkSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            keys: Vec<serde_json::Value>,
        }
        let wire = Wire::deserialize(d)?;
        let mut set = Self::default();
        for (index, entry) in wire.keys.into_iter().enumerate() {
            let kid = entry.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
            match serde_json::from_value::<Jwk>(entry) {
                Ok(jwk) => {
                    set.keys.push(jwk);
                    set.positions.push(index);
                }
                Err(e) => set.skipped.push(SkippedKey {
                    index,
                    kid,
                    reason: KeyError::Parse(format!("JWK: {e}")),
                }),
            }
        }
        Ok(set)
    }
}

/// A JWKS entry that was left out of a [`KeySet`](crate::KeySet), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// Position in the `keys` array.
    pub index: usize,
    /// The entry's `kid`, if it had one.
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: KeyError,
}

impl JwkSet {
    /// Parses a JWKS document.
    pub fn from_json(json: &[u8]) -> Result<Self, KeyError> {
        serde_json::from_slice(json).map_err(|e| KeyError::Parse(format!("JWKS: {e}")))
    }

    /// A JWKS of the given public keys.
    pub fn from_keys<'a>(keys: impl IntoIterator<Item = &'a VerifyingKey>) -> Self {
        let keys: Vec<Jwk> = keys.into_iter().filter_map(|k| k.to_jwk().ok()).collect();
        Self {
            positions: (0..keys.len()).collect(),
            keys,
            skipped: Vec::new(),
        }
    }

    /// Each key with its position in the document. A key pushed onto [`JwkSet::keys`] after
    /// reading counts on after the document's last entry.
    pub fn entries(&self) -> impl Iterator<Item = (usize, &Jwk)> {
        let read = self.positions.len();
        let end = read + self.skipped.len();
        self.keys.iter().enumerate().map(move |(i, key)| {
            let position = self.positions.get(i).copied().unwrap_or(end + i - read);
            (position, key)
        })
    }

    /// This set as JSON: `{"keys": [...]}`.
    pub fn to_json(&self) -> Result<String, KeyError> {
        serde_json::to_string(self).map_err(|e| KeyError::Encode(e.to_string()))
    }
}

#[cfg(test)]
mod jwk_set_tests {
    use super::*;

    #[test]
    fn a_set_with_a_broken_entry_keeps_the_others_and_says_which_was_left_out() {
        let json = br#"{"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "a"},
            {"kid": "broken", "kty": 7},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "b"}
        ]}"#;
        let set = JwkSet::from_json(json).unwrap();
        let kids: Vec<_> = set.keys.iter().map(|k| k.kid.as_deref()).collect();
        assert_eq!(kids, [Some("a"), Some("b")]);
        assert_eq!(set.entries().map(|(i, _)| i).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(set.skipped.len(), 1);
        assert_eq!(
            (set.skipped[0].index, set.skipped[0].kid.as_deref()),
            (1, Some("broken"))
        );
        assert!(matches!(set.skipped[0].reason, KeyError::Parse(_)));
        // Written out, only the keys.
        assert!(!set.to_json().unwrap().contains("broken"));
    }

    #[test]
    fn a_key_pushed_onto_a_read_set_is_kept_and_counts_after_the_document() {
        let mut set = JwkSet::from_json(br#"{"keys": [{"kid": "broken", "kty": 7}]}"#).unwrap();
        let extra = crate::SigningKey::generate(crate::Algorithm::ES256)
            .unwrap()
            .public_jwk()
            .unwrap();
        set.keys.push(extra);
        assert_eq!(set.entries().map(|(i, _)| i).collect::<Vec<_>>(), [1]);
        assert_eq!(crate::KeySet::from_jwks(&set).keys().len(), 1);
        let mut empty = JwkSet::default();
        empty.keys.push(set.keys[0].clone());
        assert_eq!(crate::KeySet::from_jwks(&empty).keys().len(), 1);
    }
}
