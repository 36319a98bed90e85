//! Strict base64url without padding (RFC 7515 §2): non-alphabet bytes, padding and
//! non-canonical trailing bits are all refused.

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const STRICT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Decodes canonical, unpadded base64url.
pub(crate) fn decode(input: &[u8]) -> Option<Vec<u8>> {
    STRICT.decode(input).ok()
}

/// Encodes as unpadded base64url.
pub(crate) fn encode(input: &[u8]) -> String {
    STRICT.encode(input)
}

/// Appends the unpadded base64url of `input` to `out`.
pub(crate) fn encode_into(input: &[u8], out: &mut String) {
    STRICT.encode_string(input, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_canonical_and_padded_base64url_is_refused() {
        assert_eq!(decode(b"Zm9v").as_deref(), Some(&b"foo"[..]));
        assert_eq!(decode(b"Zm8").as_deref(), Some(&b"fo"[..]));
        assert!(decode(b"Zm9=").is_none(), "padding");
        assert!(
            decode(b"Zm9").is_none(),
            "non-canonical trailing bits of 'fo'"
        );
        assert!(decode(b"Zm9vZ").is_none(), "impossible length");
        assert!(decode(b"Zm+v").is_none(), "standard alphabet");
        assert!(decode(b"Zm9 v").is_none(), "whitespace");
        // "Zm" decodes to 'f' only when its trailing bits are zero; "Zn" carries set bits.
        assert!(decode(b"Zn").is_none(), "non-canonical trailing bits");
    }
}
