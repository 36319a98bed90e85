//! Claims: the registered ones Signet validates, plus the caller's own serde type.
//!
//! The payload is read in one pass. Registered claims are taken out as they go by; every other
//! member is handed to the caller's type through a filtering map, so nothing is parsed twice
//! and strings borrow from the decoded payload when they have no escapes.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::ser::SerializeMap;

use crate::flatten::{Flatten, REGISTERED};
use crate::json::{CowStr, DUPLICATE, SeenNames};
use crate::{Error, Malformed};

/// The largest numeric date accepted: 9999-12-31T23:59:59Z.
const MAX_DATE: u64 = 253_402_300_799;

/// A JWT NumericDate: whole seconds since the Unix epoch.
///
/// Only JSON numbers from 0 to the year 9999 are accepted; fractions are truncated. Strings,
/// negative numbers and out-of-range values are refused.
///
/// # Examples
///
/// ```
/// use signet::NumericDate;
/// let date = NumericDate::from_secs(1_700_000_000).unwrap();
/// assert_eq!(date.as_secs(), 1_700_000_000);
/// assert!(NumericDate::from_secs(u64::MAX).is_none()); // past the year 9999
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct NumericDate(u64);

impl NumericDate {
    /// A date from seconds since the epoch, if in range.
    pub fn from_secs(secs: u64) -> Option<Self> {
        (secs <= MAX_DATE).then_some(Self(secs))
    }

    /// Seconds since the epoch.
    pub fn as_secs(self) -> u64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a NumericDate")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumericDate, E> {
                NumericDate::from_secs(v).ok_or_else(|| E::custom("date out of range"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumericDate, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("negative date"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumericDate, E> {
                if v.is_finite() && (0.0..=MAX_DATE as f64).contains(&v) {
                    // In range and finite, so the truncating conversion is exact enough.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    Ok(NumericDate(v as u64))
                } else {
                    Err(E::custom("date out of range"))
                }
            }
        }
        d.deserialize_u64(V)
    }
}

/// The `aud` claim: one audience or several.
///
/// # Examples
///
/// ```
/// use signet::Audience;
/// let aud = Audience::Many(vec!["orders-api".into(), "billing-api".into()]);
/// assert!(aud.contains("billing-api"));
/// assert_eq!(aud.iter().count(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience<'a> {
    /// A single string.
    One(Cow<'a, str>),
    /// An array of strings.
    Many(Vec<Cow<'a, str>>),
}

impl Audience<'_> {
    /// Whether `aud` names `name`.
    pub fn contains(&self, name: &str) -> bool {
        match self {
            Self::One(a) => a == name,
            Self::Many(list) => list.iter().any(|a| a == name),
        }
    }

    /// The audiences as a slice-like iterator.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many) = match self {
            Self::One(a) => (Some(a.as_ref()), &[][..]),
            Self::Many(list) => (None, list.as_slice()),
        };
        one.into_iter().chain(many.iter().map(AsRef::as_ref))
    }

    /// An owned copy.
    pub fn into_owned(self) -> Audience<'static> {
        match self {
            Self::One(a) => Audience::One(Cow::Owned(a.into_owned())),
            Self::Many(l) => {
                Audience::Many(l.into_iter().map(|a| Cow::Owned(a.into_owned())).collect())
            }
        }
    }
}

impl<'a> From<&'a str> for Audience<'a> {
    fn from(s: &'a str) -> Self {
        Self::One(Cow::Borrowed(s))
    }
}

impl From<String> for Audience<'static> {
    fn from(s: String) -> Self {
        Self::One(Cow::Owned(s))
    }
}

impl Serialize for Audience<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::One(a) => s.serialize_str(a),
            Self::Many(l) => l.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Audience<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Audience<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Audience::One(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Audience::One(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut list = Vec::new();
                while let Some(CowStr(a)) = seq.next_element()? {
                    list.push(a);
                }
                Ok(Audience::Many(list))
            }
        }
        d.deserialize_any(V)
    }
}

/// The claims of a JWT: the registered claims (RFC 7519 §4.1) and the caller's own, `C`.
///
/// Members of the payload other than the registered ones are given to `C`; use `()` when
/// there are none to read. `C` must not itself hold registered claim names.
///
/// # Examples
///
/// ```
/// use signet::Claims;
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Access { scope: String }
/// let mut claims = Claims::with_custom(Access { scope: "orders:read".into() });
/// claims.sub = Some("alice".into());
/// let key = signet::SigningKey::generate(signet::Algorithm::ES256)?;
/// let token = key.sign(&claims)?; // exactly these claims: no `exp` is added
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Claims<'a, C = ()> {
    /// Issuer.
    pub iss: Option<Cow<'a, str>>,
    /// Subject.
    pub sub: Option<Cow<'a, str>>,
    /// Audience.
    pub aud: Option<Audience<'a>>,
    /// Expiration time.
    pub exp: Option<NumericDate>,
    /// Not before.
    pub nbf: Option<NumericDate>,
    /// Issued at.
    pub iat: Option<NumericDate>,
    /// JWT id.
    pub jti: Option<Cow<'a, str>>,
    /// The caller's own claims.
    pub custom: C,
}

impl<C: Serialize> Serialize for Claims<'_, C> {
    /// One JSON object: the registered claims that are set, then the caller's own members.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(v) = &self.iss {
            map.serialize_entry("iss", v)?;
        }
        if let Some(v) = &self.sub {
            map.serialize_entry("sub", v)?;
        }
        if let Some(v) = &self.aud {
            map.serialize_entry("aud", v)?;
        }
        for (name, date) in [("exp", self.exp), ("nbf", self.nbf), ("iat", self.iat)] {
            if let Some(v) = date {
                map.serialize_entry(name, &v)?;
            }
        }
        if let Some(v) = &self.jti {
            map.serialize_entry("jti", v)?;
        }
        self.custom.serialize(Flatten(&mut map))?;
        map.end()
    }
}

impl<C: Default> Default for Claims<'_, C> {
    fn default() -> Self {
        Self::with_custom(C::default())
    }
}

impl<'a, C> Claims<'a, C> {
    /// Claims with no registered members and the given custom claims.
    pub fn with_custom(custom: C) -> Self {
        Self {
            iss: None,
            sub: None,
            aud: None,
            exp: None,
            nbf: None,
            iat: None,
            jti: None,
            custom,
        }
    }

    /// An owned copy of the registered claims, keeping the custom claims as they are.
    pub fn into_owned(self) -> Claims<'static, C> {
        let own = |c: Option<Cow<'a, str>>| c.map(|c| Cow::Owned(c.into_owned()));
        Claims {
            iss: own(self.iss),
            sub: own(self.sub),
            aud: self.aud.map(Audience::into_owned),
            exp: self.exp,
            nbf: self.nbf,
            iat: self.iat,
            jti: own(self.jti),
            custom: self.custom,
        }
    }
}

/// Reads the payload of a verified token. `required` lists member names that must be present.
pub(crate) fn parse<'a, C: Deserialize<'a>>(
    payload: &'a [u8],
    required: &[Box<str>],
) -> Result<Claims<'a, C>, Error> {
    let mut found = vec![false; required.len()];
    let text = std::str::from_utf8(payload).map_err(|_| Malformed::Utf8)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = ClaimsSeed {
        required,
        found: &mut found,
        _c: PhantomData,
    };
    // Plain matches rather than Result combinators: the claims are a few hundred bytes and
    // each combinator would copy them once more.
    let claims = match seed.deserialize(&mut de) {
        Ok(claims) => claims,
        Err(e) => return Err(claim_error(&e)),
    };
    if let Err(e) = de.end() {
        return Err(claim_error(&e));
    }
    if let Some(i) = found.iter().position(|f| !f) {
        return Err(Error::MissingClaim(required[i].clone()));
    }
    Ok(claims)
}

#[cold]
fn claim_error(e: &serde_json::Error) -> Error {
    let msg = e.to_string();
    if msg.starts_with(DUPLICATE) {
        return Malformed::DuplicateMember.into();
    }
    for name in REGISTERED {
        if msg.starts_with(name) && msg[name.len()..].starts_with(':') {
            return Error::InvalidClaim(name);
        }
    }
    Malformed::Claims.into()
}

struct ClaimsSeed<'r, C> {
    required: &'r [Box<str>],
    found: &'r mut [bool],
    _c: PhantomData<C>,
}

impl<'de, C: Deserialize<'de>> DeserializeSeed<'de> for ClaimsSeed<'_, C> {
    type Value = Claims<'de, C>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, C: Deserialize<'de>> Visitor<'de> for ClaimsSeed<'_, C> {
    type Value = Claims<'de, C>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut rest = Rest {
            map,
            reg: Claims::with_custom(()),
            seen: SeenNames::new(),
            required: self.required,
            found: self.found,
        };
        let custom = C::deserialize(RestDeserializer(&mut rest))?;
        // The caller's type may stop early; the rest must still be checked.
        while rest.next_key_seed(PhantomData::<IgnoredAny>)?.is_some() {
            rest.next_value::<IgnoredAny>()?;
        }
        let r = rest.reg;
        Ok(Claims {
            iss: r.iss,
            sub: r.sub,
            aud: r.aud,
            exp: r.exp,
            nbf: r.nbf,
            iat: r.iat,
            jti: r.jti,
            custom,
        })
    }
}

/// The payload's members, less the registered claims, as a map for the caller's type.
struct Rest<'de, 'r, A> {
    map: A,
    reg: Claims<'de, ()>,
    seen: SeenNames<'de>,
    required: &'r [Box<str>],
    found: &'r mut [bool],
}

/// Fills a registered claim's slot, refusing a second value and naming the claim in errors.
fn set_once<T, E: de::Error>(
    slot: &mut Option<T>,
    value: Result<T, E>,
    name: &'static str,
) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::custom(DUPLICATE));
    }
    *slot = Some(value.map_err(|e| E::custom(format_args!("{name}: {e}")))?);
    Ok(())
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Rest<'de, '_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(CowStr(name)) = self.map.next_key()? else {
                return Ok(None);
            };
            if let Some(i) = self.required.iter().position(|r| **r == *name) {
                self.found[i] = true;
            }
            let reg = &mut self.reg;
            // A registered claim seen twice is caught by its slot being full; every other name
            // goes through the record of names.
            match &*name {
                "iss" => set_once(
                    &mut reg.iss,
                    self.map.next_value::<CowStr<'de>>().map(|c| c.0),
                    "iss",
                )?,
                "sub" => set_once(
                    &mut reg.sub,
                    self.map.next_value::<CowStr<'de>>().map(|c| c.0),
                    "sub",
                )?,
                "jti" => set_once(
                    &mut reg.jti,
                    self.map.next_value::<CowStr<'de>>().map(|c| c.0),
                    "jti",
                )?,
                "aud" => set_once(&mut reg.aud, self.map.next_value(), "aud")?,
                "exp" => set_once(&mut reg.exp, self.map.next_value(), "exp")?,
                "nbf" => set_once(&mut reg.nbf, self.map.next_value(), "nbf")?,
                "iat" => set_once(&mut reg.iat, self.map.next_value(), "iat")?,
                _ => {
                    self.seen.insert(&name)?;
                    return match name {
                        Cow::Borrowed(s) => seed.deserialize(BorrowedStrDeserializer::new(s)),
                        Cow::Owned(s) => seed.deserialize(StringDeserializer::new(s)),
                    }
                    .map(Some);
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// Presents [`Rest`] to the caller's type as a map (or, for `()`, as nothing).
struct RestDeserializer<'x, 'de, 'r, A>(&'x mut Rest<'de, 'r, A>);

impl<'de, A: MapAccess<'de>> Deserializer<'de> for RestDeserializer<'_, 'de, '_, A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.0)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf newtype_struct seq tuple tuple_struct map struct enum identifier
    }
}
