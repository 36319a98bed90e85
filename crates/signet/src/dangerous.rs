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
    /// The header as JSON, whatever it says (even `alg: none`).
    pub header: serde_json::Map<String, serde_json::Value>,
    /// The decoded payload bytes.
    pub payload: Vec<u8>,
    /// The length of the decoded signature in bytes.
    pub signature_len: usize,
}

/// Takes a compact JWS apart for display or auditing, **not verified** and without refusing
/// what verification would refuse (an `alg: none` header, an unknown algorithm, `crit`). Only
/// the shape is checked: the size limit, three segments of base64url, and a header that is a
/// JSON object.
pub fn insecure_inspect(token: &str, max_size: usize) -> Result<Inspection, Error> {
    if token.len() > max_size {
        return Err(Error::TooLarge { limit: max_size });
    }
    let (header, payload, signature) = token::split(token)?;
    let decode = |s: &str| b64::decode(s.as_bytes()).ok_or(Error::Malformed(Malformed::Base64));
    let header = serde_json::from_slice(&decode(header)?).map_err(|_| Malformed::Header)?;
    Ok(Inspection {
        header,
        payload: decode(payload)?,
        signature_len: decode(signature)?.len(),
    })
}
