//! The JOSE header: the only part of a token that may be read before verification.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::json::{CowStr, DUPLICATE, SeenNames};
use crate::{Algorithm, Error, Malformed};

/// The protected header of a compact JWS.
///
/// `jku`, `x5u`, `jwk` and `x5c` are recorded only as being present: Signet never fetches or
/// uses a key named by the token itself. `kid` is only a lookup key into the caller's key set.
///
/// # Examples
///
/// ```
/// let key = signet::SigningKey::generate(signet::Algorithm::ES256)?;
/// let token = signet::TokenBuilder::new().sign(&key)?;
/// let header = signet::UnverifiedToken::parse(&token)?.header().clone();
/// assert_eq!(header.alg(), signet::Algorithm::ES256);
/// assert_eq!(header.kid(), key.kid());
/// assert_eq!(header.typ(), Some("JWT"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    alg: Algorithm,
    typ: Option<String>,
    cty: Option<String>,
    kid: Option<String>,
    key_references: Vec<&'static str>,
}

impl Header {
    /// The algorithm the token claims to use. Verification refuses it unless it is exactly
    /// the key's.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The `typ` header.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// The `cty` header.
    pub fn cty(&self) -> Option<&str> {
        self.cty.as_deref()
    }

    /// The `kid` header.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Which of the key-carrying headers `jku`, `jwk`, `x5u`, `x5c` the token has. They are
    /// never used; this is for auditing.
    pub fn key_references(&self) -> &[&'static str] {
        &self.key_references
    }

    /// Parses a decoded header, rejecting duplicates, unknown algorithms and critical
    /// extensions.
    pub(crate) fn parse(json: &[u8]) -> Result<Self, Error> {
        let text = std::str::from_utf8(json).map_err(|_| Malformed::Utf8)?;
        let mut de = serde_json::Deserializer::from_str(text);
        let raw = RawHeader::deserialize(&mut de)
            .and_then(|h| de.end().map(|()| h))
            .map_err(|e| {
                if e.to_string().starts_with(DUPLICATE) {
                    Error::Malformed(Malformed::DuplicateMember)
                } else {
                    Error::Malformed(Malformed::Header)
                }
            })?;
        if raw.crit {
            return Err(Error::UnsupportedCritical);
        }
        let alg = match raw.alg {
            Some(Some(alg)) => alg,
            Some(None) => return Err(Error::UnsupportedAlgorithm),
            None => return Err(Malformed::Header.into()),
        };
        Ok(Self {
            alg,
            typ: raw.typ,
            cty: raw.cty,
            kid: raw.kid,
            key_references: raw.key_references,
        })
    }

    /// The header JSON Signet writes when signing.
    pub(crate) fn to_json(alg: Algorithm, typ: Option<&str>, kid: Option<&str>) -> String {
        // Written member by member, each string quoted and escaped by serde_json's `Display`
        // of a JSON string, which cannot fail (serializing a struct returns a `Result`).
        let mut json = format!("{{\"alg\":\"{}\"", alg.name());
        for (name, value) in [("typ", typ), ("kid", kid)] {
            if let Some(value) = value {
                json.push_str(&format!(",\"{name}\":{}", serde_json::Value::from(value)));
            }
        }
        json.push('}');
        json
    }
}

#[derive(Default)]
struct RawHeader {
    /// `Some(None)`: an `alg` Signet does not support (such as `none`).
    alg: Option<Option<Algorithm>>,
    typ: Option<String>,
    cty: Option<String>,
    kid: Option<String>,
    crit: bool,
    key_references: Vec<&'static str>,
}

impl<'de> Deserialize<'de> for RawHeader {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(HeaderVisitor)
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = RawHeader;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawHeader, A::Error> {
        let mut h = RawHeader::default();
        let mut seen = SeenNames::new();
        while let Some(CowStr(name)) = map.next_key()? {
            seen.insert(&name)?;
            match &*name {
                "alg" => {
                    let CowStr(v) = map.next_value()?;
                    h.alg = Some(Algorithm::from_name(&v));
                }
                "typ" => h.typ = Some(map.next_value::<CowStr<'de>>()?.0.into_owned()),
                "cty" => h.cty = Some(map.next_value::<CowStr<'de>>()?.0.into_owned()),
                "kid" => h.kid = Some(map.next_value::<CowStr<'de>>()?.0.into_owned()),
                "crit" => {
                    // RFC 7515 §4.1.11: a non-empty list of names. Signet understands no
                    // extension, so any well-formed `crit` makes the token unusable.
                    let list: Vec<CowStr<'de>> = map.next_value()?;
                    if list.is_empty() {
                        return Err(de::Error::custom("empty crit"));
                    }
                    h.crit = true;
                }
                "b64" => {
                    // RFC 7797 unencoded payloads are not supported; `b64: true` is the
                    // default and harmless, anything else changes what is signed.
                    if !map.next_value::<bool>()? {
                        h.crit = true;
                    }
                }
                other => {
                    if let Some(r) = ["jku", "jwk", "x5u", "x5c"]
                        .into_iter()
                        .find(|r| *r == other)
                    {
                        h.key_references.push(r);
                    }
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(h)
    }
}
