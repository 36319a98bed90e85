//! Reading a token without verifying it.
//!
//! Nothing here checks a signature or a claim. What it returns was written by whoever made
//! the token, who may be an attacker. Use it to show a token to a person or to pick a key
//! set, never to decide anything.

use serde::Deserialize;

use crate::claims::{self, Claims};
use crate::{Error, UnverifiedToken};

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
