//! Reading a token without verifying it.
//!
//! Nothing here checks a signature or a claim. What it returns was written by whoever made
//! the token, who may be an attacker. Use it to show a token to a person or to pick a key
//! set, never to decide anything.

use serde::Deserialize;

use crate::claims::{self, Claims};
use crate::{Error, Malformed, UnverifiedToken, b64, token};

/// The claims of a token, **not verified**: neither the signature nor any claim is checked.
pub fn insecure_decode_claims<'a, C: Deserialize<'a>>(
    token: &'a UnverifiedToken<'_>,
) -> Result<Claims<'a, C>, Error> {
    claims::parse(token.payload()?, &[])
}

/// The raw payload of a token, **not verified**.
pub fn insecure_payload<'a>(token: &'a UnverifiedToken<'_>) -> Result<&'a [u8], Error> {
    token.payload()
}

/// A token taken apart without any check beyond its shape. See [`insecure_inspect`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Inspection {
    /// The header, whatever it says (even `alg: none`).
    pub header: InspectedHeader,
    /// The decoded payload bytes.
    pub payload: Vec<u8>,
    /// The length of the decoded signature in bytes.
    pub signature_len: usize,
}

/// A header as its writer wrote it, **not checked**: the members a reader looks at, typed,
/// every member's name, and the JSON text itself for display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InspectedHeader {
    /// `alg`, if it is a string (even `none`, or a name Signet does not know).
    pub alg: Option<String>,
    /// `typ`, if it is a string.
    pub typ: Option<String>,
    /// `kid`, if it is a string.
    pub kid: Option<String>,
    /// `cty`, if it is a string.
    pub cty: Option<String>,
    /// The string members of `crit`.
    pub crit: Vec<String>,
    /// The name of every member, in the order they appear.
    pub members: Vec<String>,
    /// The header's JSON text, exactly as decoded.
    pub json: String,
}

impl InspectedHeader {
    /// Whether the header has a member of this name (whatever its value).
    pub fn has(&self, name: &str) -> bool {
        self.members.iter().any(|m| m == name)
    }

    fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(bytes).map_err(|_| Malformed::Header)?;
        let text = |name: &str| map.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        Ok(Self {
            alg: text("alg"),
            typ: text("typ"),
            kid: text("kid"),
            cty: text("cty"),
            crit: map
                .get("crit")
                .and_then(|c| c.as_array())
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect(),
            members: map.keys().cloned().collect(),
            json: String::from_utf8_lossy(bytes).into_owned(),
        })
    }
}

/// Takes a compact JWS apart for display or auditing, **not verified** and without refusing
/// what verification would refuse (an `alg: none` header, an unknown algorithm, `crit`). Only
/// the shape is checked: the size limit, three segments of base64url, and a header that is a
/// JSON object.
///
/// # Examples
///
/// ```
/// // An `alg: none` token, taken apart for display; verification would refuse it.
/// let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.";
/// let inspected = signet::dangerous::insecure_inspect(token, 8192)?;
/// assert_eq!(inspected.header.alg.as_deref(), Some("none"));
/// assert_eq!(inspected.payload, br#"{"sub":"alice"}"#);
/// # Ok::<(), signet::Error>(())
/// ```
pub fn insecure_inspect(token: &str, max_size: usize) -> Result<Inspection, Error> {
    if token.len() > max_size {
        return Err(Error::TooLarge { limit: max_size });
    }
    let (header, payload, signature) = token::split(token)?;
    let decode = |s: &str| b64::decode(s.as_bytes()).ok_or(Error::Malformed(Malformed::Base64));
    let header = InspectedHeader::parse(&decode(header)?)?;
    Ok(Inspection {
        header,
        payload: decode(payload)?,
        signature_len: decode(signature)?.len(),
    })
}
